package xsd

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Base64Binary is binary data that marshals as xs:base64Binary (standard alphabet, padded, on one line). When
// unmarshalling, white space inside the value (line breaks of wrapped base64) is ignored. A []byte can be
// assigned to it directly.
type Base64Binary []byte

// MarshalText encodes b in standard base64.
func (b Base64Binary) MarshalText() ([]byte, error) {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out, nil
}

// UnmarshalText decodes standard base64, ignoring white space. Errors are *SyntaxError.
func (b *Base64Binary) UnmarshalText(text []byte) error {
	text = stripXMLSpace(text)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(out, text)
	if err != nil {
		return syntaxError("xs:base64Binary", string(text), err.Error())
	}
	*b = out[:n]
	return nil
}

// HexBinary is binary data that marshals as xs:hexBinary, in uppercase hexadecimal (for example a
// PublicKeyIdentifier "3D5F12AC..."). Unmarshalling accepts either case and ignores surrounding white space.
type HexBinary []byte

// MarshalText encodes b as uppercase hexadecimal.
func (b HexBinary) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(b))), nil
}

// UnmarshalText decodes hexadecimal of either case. Errors are *SyntaxError.
func (b *HexBinary) UnmarshalText(text []byte) error {
	s := trimXMLSpace(string(text))
	out, err := hex.DecodeString(s)
	if err != nil {
		return syntaxError("xs:hexBinary", s, err.Error())
	}
	*b = out
	return nil
}

// String returns the uppercase hexadecimal form.
func (b HexBinary) String() string { return strings.ToUpper(hex.EncodeToString(b)) }
