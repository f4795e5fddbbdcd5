package certreq

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Attribute type OIDs used in eHealth names.
var (
	OIDCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDSerialNumber       = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDCountry            = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDOrganization       = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
)

var (
	oidSurname       = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidLocality      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidProvince      = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidStreet        = asn1.ObjectIdentifier{2, 5, 4, 9}
	oidTitle         = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidGivenName     = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidInitials      = asn1.ObjectIdentifier{2, 5, 4, 43}
	oidGeneration    = asn1.ObjectIdentifier{2, 5, 4, 44}
	oidDNQualifier   = asn1.ObjectIdentifier{2, 5, 4, 46}
	oidEmailAddress  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidDomainComp    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUserID        = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidIPAddressAttr = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 42, 2, 11, 2, 1}
)

// parseKeywords are the attribute keywords that javax.security.auth.x500.X500Principal accepts in a string name
// (case-insensitive), plus the common aliases SN, S, E and TITLE.
var parseKeywords = map[string]asn1.ObjectIdentifier{
	"CN": OIDCommonName, "C": OIDCountry, "L": oidLocality, "ST": oidProvince, "S": oidProvince,
	"O": OIDOrganization, "OU": OIDOrganizationalUnit, "T": oidTitle, "TITLE": oidTitle, "IP": oidIPAddressAttr,
	"STREET": oidStreet, "DC": oidDomainComp, "DNQUALIFIER": oidDNQualifier, "DNQ": oidDNQualifier,
	"SURNAME": oidSurname, "SN": oidSurname, "GIVENNAME": oidGivenName, "INITIALS": oidInitials,
	"GENERATION": oidGeneration, "EMAIL": oidEmailAddress, "EMAILADDRESS": oidEmailAddress, "E": oidEmailAddress,
	"UID": oidUserID, "SERIALNUMBER": OIDSerialNumber,
}

// formatKeywords are the keywords X500Principal.getName(RFC2253) prints; every other type is printed as a dotted
// OID with a #hex value.
var formatKeywords = []struct {
	oid asn1.ObjectIdentifier
	kw  string
}{
	{OIDCommonName, "CN"}, {OIDCountry, "C"}, {oidLocality, "L"}, {oidProvince, "ST"}, {OIDOrganization, "O"},
	{OIDOrganizationalUnit, "OU"}, {oidStreet, "STREET"}, {oidDomainComp, "DC"}, {oidUserID, "UID"},
}

func formatKeyword(oid asn1.ObjectIdentifier) (string, bool) {
	for _, k := range formatKeywords {
		if k.oid.Equal(oid) {
			return k.kw, true
		}
	}
	return "", false
}

// ParseError reports a distinguished name string that could not be parsed.
type ParseError struct {
	DN     string // the input
	Offset int    // byte offset of the problem
	Msg    string
}

// Error implements the error interface.
func (e *ParseError) Error() string {
	return fmt.Sprintf("certreq: invalid distinguished name at offset %d: %s", e.Offset, e.Msg)
}

// ParseDN parses an RFC 2253 / RFC 4514 distinguished name as javax.security.auth.x500.X500Principal reads it, and
// returns its RDNs in DER order: the string lists the most specific RDN first (CN=...,...,C=BE), the result
// starts with the last one (C first, CN last).
//
// The parser accepts what the connector and the eHealth server send: `\=` escapes and unescaped `=` inside
// values, `\,` and the other backslash escapes, `\XX` hex escapes (UTF-8 bytes), quoted values, `;` as a
// separator, spaces around separators and `=`, multi-valued RDNs (`+`), keywords in any case, `OID.1.2.3` and
// dotted OIDs, and `#hex` BER values. Values are returned as Go strings, except `#hex` values, which are kept as
// asn1.RawValue with their encoding, as X500Principal keeps them. Unescaped leading and trailing spaces of a
// value are dropped.
//
// One known difference with X500Principal: a value written with `\XX` hex escapes is a plain string here, so
// MarshalDN may encode it as PrintableString where the JDK always chooses UTF8String.
func ParseDN(dn string) (pkix.RDNSequence, error) {
	p := &dnParser{s: dn}
	rdns, err := p.parse()
	if err != nil {
		return nil, err
	}
	slices.Reverse(rdns)
	return rdns, nil
}

type dnParser struct {
	s   string
	pos int
}

func (p *dnParser) fail(msg string) error {
	return &ParseError{DN: p.s, Offset: p.pos, Msg: msg}
}

func (p *dnParser) skipSpaces() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *dnParser) parse() (pkix.RDNSequence, error) {
	var seq pkix.RDNSequence
	p.skipSpaces()
	if p.pos == len(p.s) {
		return pkix.RDNSequence{}, nil
	}
	for {
		var rdn pkix.RelativeDistinguishedNameSET
		for {
			atv, err := p.parseATV()
			if err != nil {
				return nil, err
			}
			rdn = append(rdn, atv)
			p.skipSpaces()
			if p.pos < len(p.s) && p.s[p.pos] == '+' {
				p.pos++
				continue
			}
			break
		}
		seq = append(seq, rdn)
		if p.pos == len(p.s) {
			return seq, nil
		}
		if c := p.s[p.pos]; c != ',' && c != ';' {
			return nil, p.fail(fmt.Sprintf("unexpected %q after a value", c))
		}
		p.pos++
	}
}

func (p *dnParser) parseATV() (pkix.AttributeTypeAndValue, error) {
	p.skipSpaces()
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '=' || c == ' ' || c == ',' || c == '+' || c == ';' {
			break
		}
		p.pos++
	}
	name := p.s[start:p.pos]
	if name == "" {
		return pkix.AttributeTypeAndValue{}, p.fail("missing attribute type")
	}
	oid, err := attributeType(name)
	if err != nil {
		p.pos = start
		return pkix.AttributeTypeAndValue{}, p.fail(err.Error())
	}
	p.skipSpaces()
	if p.pos >= len(p.s) || p.s[p.pos] != '=' {
		return pkix.AttributeTypeAndValue{}, p.fail("missing '=' after attribute type " + strconv.Quote(name))
	}
	p.pos++
	p.skipSpaces()
	var v any
	switch {
	case p.pos < len(p.s) && p.s[p.pos] == '#':
		v, err = p.parseHexValue()
	case p.pos < len(p.s) && p.s[p.pos] == '"':
		v, err = p.parseQuotedValue()
	default:
		v, err = p.parseStringValue()
	}
	if err != nil {
		return pkix.AttributeTypeAndValue{}, err
	}
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}, nil
}

func attributeType(name string) (asn1.ObjectIdentifier, error) {
	if oid, ok := parseKeywords[strings.ToUpper(name)]; ok {
		return oid, nil
	}
	dotted := name
	if len(name) > 4 && strings.EqualFold(name[:4], "OID.") {
		dotted = name[4:]
	}
	if dotted == "" || dotted[0] < '0' || dotted[0] > '9' {
		return nil, fmt.Errorf("unknown attribute type %q", name)
	}
	parts := strings.Split(dotted, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("invalid OID %q", name)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		if part == "" || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("invalid OID %q", name)
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid OID %q", name)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("invalid OID %q", name)
	}
	return oid, nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *dnParser) parseHexValue() (any, error) {
	p.pos++ // '#'
	start := p.pos
	for p.pos < len(p.s) && isHex(p.s[p.pos]) {
		p.pos++
	}
	h := p.s[start:p.pos]
	if h == "" || len(h)%2 != 0 {
		return nil, p.fail("invalid #hex value")
	}
	p.skipSpaces()
	if p.pos < len(p.s) && !strings.ContainsRune(",;+", rune(p.s[p.pos])) {
		return nil, p.fail("garbage after #hex value")
	}
	der, _ := hex.DecodeString(h)
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(rest) != 0 {
		p.pos = start
		return nil, p.fail("#hex value is not one BER element")
	}
	return raw, nil
}

func (p *dnParser) parseQuotedValue() (any, error) {
	p.pos++ // opening quote
	var b []byte
	for {
		if p.pos >= len(p.s) {
			return nil, p.fail("unterminated quoted value")
		}
		c := p.s[p.pos]
		if c == '"' {
			p.pos++
			break
		}
		if c == '\\' {
			e, err := p.parseEscape()
			if err != nil {
				return nil, err
			}
			b = append(b, e)
			continue
		}
		b = append(b, c)
		p.pos++
	}
	p.skipSpaces()
	if p.pos < len(p.s) && !strings.ContainsRune(",;+", rune(p.s[p.pos])) {
		return nil, p.fail("garbage after quoted value")
	}
	if !utf8.Valid(b) {
		return nil, p.fail("value is not valid UTF-8")
	}
	return string(b), nil
}

// parseEscape reads a backslash escape at p.pos and returns the byte it stands for.
func (p *dnParser) parseEscape() (byte, error) {
	p.pos++ // backslash
	if p.pos >= len(p.s) {
		return 0, p.fail("dangling backslash")
	}
	c := p.s[p.pos]
	if isHex(c) && p.pos+1 < len(p.s) && isHex(p.s[p.pos+1]) {
		v, _ := strconv.ParseUint(p.s[p.pos:p.pos+2], 16, 8)
		p.pos += 2
		return byte(v), nil
	}
	// RFC 2253 allows escaping the special characters; like LdapName we accept an escape before any character.
	p.pos++
	return c, nil
}

func (p *dnParser) parseStringValue() (any, error) {
	var b []byte
	significant := 0 // length of b up to the last character that is not an unescaped trailing space
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ',' || c == ';' || c == '+' {
			break
		}
		if c == '\\' {
			e, err := p.parseEscape()
			if err != nil {
				return nil, err
			}
			b = append(b, e)
			significant = len(b)
			continue
		}
		if c == '"' {
			return nil, p.fail("unescaped '\"' inside a value")
		}
		b = append(b, c)
		p.pos++
		if c != ' ' {
			significant = len(b)
		}
	}
	b = b[:significant]
	if !utf8.Valid(b) {
		return nil, p.fail("value is not valid UTF-8")
	}
	return string(b), nil
}

// EscapeValue escapes an attribute value as X500Principal.getName(RFC2253) does: a backslash before each of
// , = + < > # ; " \ and before leading and trailing spaces; NUL becomes \00.
func EscapeValue(v string) string {
	var b strings.Builder
	lead := 0
	for lead < len(v) && (v[lead] == ' ' || v[lead] == '\r') {
		lead++
	}
	trail := len(v) - 1
	for trail >= 0 && (v[trail] == ' ' || v[trail] == '\r') {
		trail--
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`,=+<>#;"\`, c) >= 0, i < lead, i > trail:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FormatDN formats an RDN sequence (DER order) as RFC 2253 text the way
// javax.security.auth.x500.X500Principal.getName("RFC2253") does: last RDN first, no spaces, the keywords CN, C,
// L, ST, O, OU, STREET, DC and UID, every other type as a dotted OID with a #hex DER value, and values escaped by
// EscapeValue. Values must be strings or asn1.RawValue (printed as #hex).
func FormatDN(seq pkix.RDNSequence) (string, error) {
	raw, err := toRawSeq(seq, EncodingX500Principal)
	if err != nil {
		return "", err
	}
	return formatRaw(raw), nil
}

// FormatRawDN formats a DER-encoded Name (for example x509.Certificate.RawSubject) like FormatDN, keeping the
// encoded values for #hex output exactly as they are. This is the alias the connector gives the trusted
// certificate entries of its keystore.
func FormatRawDN(der []byte) (string, error) {
	raw, err := parseRawName(der)
	if err != nil {
		return "", err
	}
	return formatRaw(raw), nil
}

func formatRaw(seq []rawRDN) string {
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			kw, ok := formatKeyword(atv.Type)
			if !ok {
				kw = atv.Type.String()
			}
			b.WriteString(kw)
			b.WriteByte('=')
			s, isString := decodeDirectoryString(atv.Value)
			if !ok || !isString || !javaText(atv.Value) {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
				continue
			}
			b.WriteString(EscapeValue(s))
		}
	}
	return b.String()
}

// javaText reports whether X500Principal prints a value of this type as text (otherwise as #hex).
func javaText(v asn1.RawValue) bool {
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, 27 /* GeneralString */, asn1.TagBMPString, asn1.TagUTF8String:
		return v.Class == asn1.ClassUniversal
	}
	return false
}

// rawATV is an AttributeTypeAndValue whose value keeps its encoding.
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDN is a RelativeDistinguishedName (a SET OF; the SET suffix tells encoding/asn1 so).
type rawRDN = rawATVSET

type rawATVSET []rawATV

func parseRawName(der []byte) ([]rawRDN, error) {
	var seq []rawATVSET
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, fmt.Errorf("certreq: invalid encoded name: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("certreq: invalid encoded name: trailing data")
	}
	for _, rdn := range seq {
		if len(rdn) == 0 {
			return nil, fmt.Errorf("certreq: invalid encoded name: empty RDN")
		}
	}
	return seq, nil
}

// ParseRawDN decodes a DER-encoded Name (x509.Certificate.RawSubject, RawIssuer, CSR RawSubject) into an RDN
// sequence in DER order with string values (PrintableString, UTF8String, IA5String, T61String, BMPString,
// UniversalString, NumericString, VisibleString); other values stay asn1.RawValue.
func ParseRawDN(der []byte) (pkix.RDNSequence, error) {
	raw, err := parseRawName(der)
	if err != nil {
		return nil, err
	}
	seq := make(pkix.RDNSequence, len(raw))
	for i, rdn := range raw {
		set := make(pkix.RelativeDistinguishedNameSET, len(rdn))
		for j, atv := range rdn {
			var v any = atv.Value
			if s, ok := decodeDirectoryString(atv.Value); ok {
				v = s
			}
			set[j] = pkix.AttributeTypeAndValue{Type: atv.Type, Value: v}
		}
		seq[i] = set
	}
	return seq, nil
}

// decodeDirectoryString returns the text of a character-string value.
func decodeDirectoryString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", false
	}
	b := v.Bytes
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString, 26 /* VisibleString */ :
		if !utf8.Valid(b) {
			return "", false
		}
		return string(b), true
	case asn1.TagT61String: // read as ISO 8859-1, like the JDK
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), true
	case asn1.TagBMPString:
		if len(b)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return decodeUTF16(u)
	case 28: // UniversalString
		if len(b)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(b)/4)
		for i := range r {
			c := rune(b[4*i])<<24 | rune(b[4*i+1])<<16 | rune(b[4*i+2])<<8 | rune(b[4*i+3])
			if !utf8.ValidRune(c) {
				return "", false
			}
			r[i] = c
		}
		return string(r), true
	}
	return "", false
}

func decodeUTF16(u []uint16) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		switch {
		case c >= 0xD800 && c < 0xDC00:
			if i+1 >= len(u) || u[i+1] < 0xDC00 || u[i+1] >= 0xE000 {
				return "", false
			}
			c = 0x10000 + (c-0xD800)<<10 + (rune(u[i+1]) - 0xDC00)
			i++
		case c >= 0xDC00 && c < 0xE000:
			return "", false
		}
		b.WriteRune(c)
	}
	return b.String(), true
}

// Encoding chooses the ASN.1 string types MarshalDN gives attribute values.
type Encoding int

const (
	// EncodingX500Principal encodes as javax.security.auth.x500.X500Principal does for a string name (the
	// connector's CSR subject, FACTS §7): C, SERIALNUMBER and DNQUALIFIER as PrintableString, EMAILADDRESS and
	// DC as IA5String, every other value as PrintableString when all its characters allow it, else UTF8String.
	EncodingX500Principal Encoding = iota
	// EncodingUTF8 encodes C (and SERIALNUMBER, DNQUALIFIER) as PrintableString, EMAILADDRESS and DC as
	// IA5String and every other value as UTF8String, as the eHealth CA writes the subjects it issues.
	EncodingUTF8
)

// MarshalDN encodes an RDN sequence (DER order) as a DER Name with the string types enc chooses. Values must be
// strings or asn1.RawValue (copied as they are). The AttributeTypeAndValues of a multi-valued RDN are sorted as
// DER requires.
func MarshalDN(seq pkix.RDNSequence, enc Encoding) ([]byte, error) {
	raw, err := toRawSeq(seq, enc)
	if err != nil {
		return nil, err
	}
	return marshalRaw(raw)
}

func marshalRaw(raw []rawRDN) ([]byte, error) {
	var rdns []asn1.RawValue
	for _, rdn := range raw {
		var atvs [][]byte
		for _, atv := range rdn {
			b, err := asn1.Marshal(atv)
			if err != nil {
				return nil, fmt.Errorf("certreq: encode name: %w", err)
			}
			atvs = append(atvs, b)
		}
		slices.SortFunc(atvs, bytes.Compare)
		rdns = append(rdns, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(atvs, nil)})
	}
	if rdns == nil {
		rdns = []asn1.RawValue{}
	}
	b, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("certreq: encode name: %w", err)
	}
	return b, nil
}

func toRawSeq(seq pkix.RDNSequence, enc Encoding) ([]rawRDN, error) {
	out := make([]rawRDN, 0, len(seq))
	for _, rdn := range seq {
		if len(rdn) == 0 {
			return nil, fmt.Errorf("certreq: encode name: empty RDN")
		}
		set := make(rawRDN, 0, len(rdn))
		for _, atv := range rdn {
			v, err := encodeValue(atv.Type, atv.Value, enc)
			if err != nil {
				return nil, err
			}
			set = append(set, rawATV{Type: atv.Type, Value: v})
		}
		out = append(out, set)
	}
	return out, nil
}

func encodeValue(typ asn1.ObjectIdentifier, v any, enc Encoding) (asn1.RawValue, error) {
	switch v := v.(type) {
	case asn1.RawValue:
		if len(v.FullBytes) == 0 {
			b, err := asn1.Marshal(v)
			if err != nil {
				return asn1.RawValue{}, fmt.Errorf("certreq: encode %v value: %w", typ, err)
			}
			v.FullBytes = b
		}
		return v, nil
	case string:
		if !utf8.ValidString(v) {
			return asn1.RawValue{}, fmt.Errorf("certreq: %v value is not valid UTF-8", typ)
		}
		tag := asn1.TagUTF8String
		switch {
		case typ.Equal(oidEmailAddress) || typ.Equal(oidDomainComp):
			if isIA5(v) {
				tag = asn1.TagIA5String
			}
		case typ.Equal(OIDCountry) || typ.Equal(OIDSerialNumber) || typ.Equal(oidDNQualifier):
			if isPrintable(v) {
				tag = asn1.TagPrintableString
			}
		case enc == EncodingX500Principal && isPrintable(v):
			tag = asn1.TagPrintableString
		}
		rv := asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(v)}
		b, err := asn1.Marshal(rv)
		if err != nil {
			return asn1.RawValue{}, fmt.Errorf("certreq: encode %v value: %w", typ, err)
		}
		rv.FullBytes = b
		return rv, nil
	default:
		return asn1.RawValue{}, fmt.Errorf("certreq: %v value has unsupported type %T", typ, v)
	}
}

// isPrintable reports whether s fits an ASN.1 PrintableString (X.680: letters, digits, space and '()+,-./:=?).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// valueText returns the text of a value for comparison, and whether it is text.
func valueText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case asn1.RawValue:
		if len(v.FullBytes) == 0 {
			b, err := asn1.Marshal(v)
			if err != nil {
				return "", false
			}
			v.FullBytes = b
		}
		return decodeDirectoryString(v)
	}
	return "", false
}

func valueBytes(v any) []byte {
	if rv, ok := v.(asn1.RawValue); ok {
		if len(rv.FullBytes) > 0 {
			return rv.FullBytes
		}
		b, _ := asn1.Marshal(rv)
		return b
	}
	b, _ := asn1.Marshal(v)
	return b
}

func atvEqual(a, b pkix.AttributeTypeAndValue, canon func(string) string) bool {
	if !a.Type.Equal(b.Type) {
		return false
	}
	sa, oka := valueText(a.Value)
	sb, okb := valueText(b.Value)
	if oka && okb {
		return canon(sa) == canon(sb)
	}
	if oka != okb {
		return false
	}
	return bytes.Equal(valueBytes(a.Value), valueBytes(b.Value))
}

func rdnEqual(a, b pkix.RelativeDistinguishedNameSET, canon func(string) string) bool {
	return sameElements(a, b, func(x, y pkix.AttributeTypeAndValue) bool { return atvEqual(x, y, canon) })
}

// sameElements reports whether every element of a matches a distinct element of b under eq, in any order.
func sameElements[T any](a, b []T, eq func(x, y T) bool) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && eq(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func identity(s string) string { return s }

// canonicalValue folds case and collapses white space, like the LDAP caseIgnoreMatch rule that
// X500Principal.equals and LdapName.equals apply.
func canonicalValue(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// EqualDN reports whether a and b are the same name: the same RDNs in the same order, the same attribute types
// and the same value text. The ASN.1 string type of a value (PrintableString or UTF8String) does not matter, nor
// does the order of the values inside one multi-valued RDN. This is the check the eHealth server makes between a
// CSR subject and the contract DN.
func EqualDN(a, b pkix.RDNSequence) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !rdnEqual(a[i], b[i], identity) {
			return false
		}
	}
	return true
}

// EquivalentDN reports whether a and b name the same entity regardless of RDN order, ASN.1 string types, letter
// case and repeated or surrounding white space in values. Use it to compare eHealth certificate subjects, which
// are encoded in either order (C first in current certificates, CN first in the 2008 test PKI).
func EquivalentDN(a, b pkix.RDNSequence) bool {
	return sameElements(a, b, func(x, y pkix.RelativeDistinguishedNameSET) bool { return rdnEqual(x, y, canonicalValue) })
}

// EquivalentRawDN is EquivalentDN on two DER-encoded names (x509.Certificate.RawSubject, RawIssuer). Names that
// do not parse are not equivalent.
func EquivalentRawDN(a, b []byte) bool {
	x, err := ParseRawDN(a)
	if err != nil {
		return false
	}
	y, err := ParseRawDN(b)
	if err != nil {
		return false
	}
	return EquivalentDN(x, y)
}
