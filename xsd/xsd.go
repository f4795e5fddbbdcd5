// Package xsd holds the XML Schema value types that the generated CertRA and EtkRA bindings (gen/certra,
// gen/etkra) use where encoding/xml has no faithful mapping:
//
//   - DateTime round-trips xs:dateTime: it marshals the lexical form it was parsed from (fractional seconds and
//     timezone exactly as given) or, when built from a time.Time, RFC 3339 with "Z" or a numeric offset.
//   - Base64Binary and HexBinary are []byte that marshal as xs:base64Binary and xs:hexBinary (uppercase).
//   - NillableString is an element of type xs:string declared nillable: it tells xsi:nil="true" apart from an
//     empty string.
//   - AnyElement keeps an element matched by xs:any that the bindings have no type for.
//
// Bad input never panics: parsing errors are *SyntaxError values.
package xsd

import (
	"fmt"
	"unicode/utf8"
)

// SyntaxError reports a value that is not in the lexical space of an XML Schema type.
type SyntaxError struct {
	// Type is the XML Schema type, for example "xs:dateTime".
	Type string
	// Value is the offending value, cut to at most 64 bytes.
	Value string
	// Reason says what is wrong.
	Reason string
}

// Error describes the problem, naming the type and the (possibly shortened) value.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("xsd: invalid %s %q: %s", e.Type, e.Value, e.Reason)
}

func syntaxError(typ, value, reason string) *SyntaxError {
	const max = 64
	if len(value) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		value = value[:cut] + "…"
	}
	return &SyntaxError{Type: typ, Value: value, Reason: reason}
}

// isXMLSpace reports whether c is XML white space (#x20 | #x9 | #xD | #xA).
func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// trimXMLSpace removes leading and trailing XML white space (whiteSpace="collapse" for values without inner
// spaces).
func trimXMLSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isXMLSpace(s[i]) {
		i++
	}
	for j > i && isXMLSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// stripXMLSpace removes all XML white space (base64 and hex values may be wrapped over several lines).
func stripXMLSpace(b []byte) []byte {
	n := 0
	for _, c := range b {
		if !isXMLSpace(c) {
			n++
		}
	}
	if n == len(b) {
		return b
	}
	out := make([]byte, 0, n)
	for _, c := range b {
		if !isXMLSpace(c) {
			out = append(out, c)
		}
	}
	return out
}
