package keystore

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// BouncyCastle's "PKCS12" keystore, which the Java connector uses (FACTS §9), writes BER: indefinite lengths and
// OCTET STRINGs split into constructed chunks. encoding/asn1 reads only DER, so every structure is first passed
// through berToDER, which rewrites lengths as definite and joins constructed strings into primitive ones. Values
// are unchanged, so a MAC over the content octets still verifies.

const maxBERDepth = 32

type berNode struct {
	class       int
	tag         int
	constructed bool
	content     []byte // DER content (children already converted)
}

var errBER = errors.New("malformed BER")

// berToDER converts one BER element to DER-style definite-length encoding.
func berToDER(in []byte) ([]byte, error) {
	n, rest, err := parseBER(in, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data", errBER)
	}
	return n.encode(), nil
}

// unmarshalDER converts in from BER and unmarshals it into v, refusing trailing data.
func unmarshalDER(in []byte, v any) error {
	der, err := berToDER(in)
	if err != nil {
		return err
	}
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: trailing data", errBER)
	}
	return nil
}

func parseBER(in []byte, depth int) (berNode, []byte, error) {
	var n berNode
	if depth > maxBERDepth {
		return n, nil, fmt.Errorf("%w: nested too deeply", errBER)
	}
	if len(in) < 2 {
		return n, nil, fmt.Errorf("%w: truncated", errBER)
	}
	b := in[0]
	n.class = int(b >> 6)
	n.constructed = b&0x20 != 0
	n.tag = int(b & 0x1f)
	p := 1
	if n.tag == 0x1f {
		n.tag = 0
		for {
			if p >= len(in) || p > 5 {
				return n, nil, fmt.Errorf("%w: bad tag", errBER)
			}
			c := in[p]
			p++
			n.tag = n.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if p >= len(in) {
		return n, nil, fmt.Errorf("%w: truncated", errBER)
	}
	lb := in[p]
	p++
	indefinite := false
	length := 0
	switch {
	case lb == 0x80:
		indefinite = true
		if !n.constructed {
			return n, nil, fmt.Errorf("%w: indefinite length on a primitive", errBER)
		}
	case lb < 0x80:
		length = int(lb)
	default:
		k := int(lb & 0x7f)
		if k > 4 || p+k > len(in) {
			return n, nil, fmt.Errorf("%w: bad length", errBER)
		}
		for i := 0; i < k; i++ {
			length = length<<8 | int(in[p+i])
		}
		p += k
	}
	if !indefinite && (length < 0 || length > len(in)-p) {
		return n, nil, fmt.Errorf("%w: length exceeds data", errBER)
	}
	if !n.constructed {
		n.content = in[p : p+length]
		return n, in[p+length:], nil
	}
	var body []byte
	if indefinite {
		body = in[p:]
	} else {
		body = in[p : p+length]
	}
	var children []berNode
	for {
		if indefinite {
			if len(body) >= 2 && body[0] == 0 && body[1] == 0 {
				body = body[2:]
				break
			}
			if len(body) == 0 {
				return n, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
		} else if len(body) == 0 {
			break
		}
		child, rest, err := parseBER(body, depth+1)
		if err != nil {
			return n, nil, err
		}
		children = append(children, child)
		body = rest
	}
	var rest []byte
	if indefinite {
		rest = body
	} else {
		rest = in[p+length:]
	}
	if n.class == asn1.ClassUniversal && isStringTag(n.tag) {
		// A constructed string: join the segments into one primitive string.
		n.constructed = false
		for i, c := range children {
			if c.constructed || c.tag != n.tag {
				return n, nil, fmt.Errorf("%w: bad string segment", errBER)
			}
			seg := c.content
			if n.tag == asn1.TagBitString {
				if len(seg) == 0 || (i < len(children)-1 && seg[0] != 0) {
					return n, nil, fmt.Errorf("%w: bad BIT STRING segment", errBER)
				}
				if i == 0 {
					n.content = append(n.content, 0)
				}
				n.content[0] = seg[0]
				seg = seg[1:]
			}
			n.content = append(n.content, seg...)
		}
		return n, rest, nil
	}
	for _, c := range children {
		n.content = append(n.content, c.encode()...)
	}
	return n, rest, nil
}

func isStringTag(tag int) bool {
	switch tag {
	case asn1.TagBitString, asn1.TagOctetString, asn1.TagUTF8String, asn1.TagNumericString, asn1.TagPrintableString,
		asn1.TagT61String, asn1.TagIA5String, asn1.TagGeneralString, asn1.TagBMPString, 21, 25, 26, 28:
		return true
	}
	return false
}

func (n berNode) encode() []byte {
	var id []byte
	first := byte(n.class << 6)
	if n.constructed {
		first |= 0x20
	}
	if n.tag < 0x1f {
		id = []byte{first | byte(n.tag)}
	} else {
		id = []byte{first | 0x1f}
		var t []byte
		for v := n.tag; ; v >>= 7 {
			t = append([]byte{byte(v & 0x7f)}, t...)
			if v < 0x80 {
				break
			}
		}
		for i := 0; i < len(t)-1; i++ {
			t[i] |= 0x80
		}
		id = append(id, t...)
	}
	l := len(n.content)
	var lenBytes []byte
	if l < 0x80 {
		lenBytes = []byte{byte(l)}
	} else {
		var v []byte
		for x := l; x > 0; x >>= 8 {
			v = append([]byte{byte(x)}, v...)
		}
		lenBytes = append([]byte{0x80 | byte(len(v))}, v...)
	}
	out := make([]byte, 0, len(id)+len(lenBytes)+l)
	out = append(out, id...)
	out = append(out, lenBytes...)
	return append(out, n.content...)
}
