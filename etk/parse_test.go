package etk

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/smallstep/pkcs7"
)

func TestParseEncodings(t *testing.T) {
	der := readVector(t, "testkit/bob-2014-sha256.etk")
	b64 := base64.StdEncoding.EncodeToString(der)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString(b64[i:min(i+64, len(b64))])
		wrapped.WriteString("\r\n")
	}
	inputs := map[string][]byte{
		"binary BER":                 der,
		"base64":                     []byte(b64),
		"base64 with line breaks":    []byte(wrapped.String()),
		"base64 with spaces":         []byte("  " + spaced(b64, 10) + "\n\t"),
		"base64 without padding":     []byte(strings.TrimRight(b64, "=")),
		"PEM":                        pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der}),
		"base64 with a space inside": []byte(b64[:100] + " \n " + b64[100:]),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(e.Raw, der) {
				t.Error("Raw is not the binary ETK")
			}
			if e.EncryptionCertificate.Subject.CommonName != "Bob" {
				t.Errorf("encryption certificate CN %q", e.EncryptionCertificate.Subject.CommonName)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good := readVector(t, "testkit/bob-2014-sha256.etk")
	degenerate, err := pkcs7.DegenerateCertificate(getPKI(t).root.Raw)
	if err != nil {
		t.Fatal(err)
	}
	notCert, err := pkcs7.NewSignedData([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := notCert.AddSigner(getPKI(t).ra, getPKI(t).raKey, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	notCertDER, err := notCert.Finish()
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"empty":                    nil,
		"whitespace":               []byte(" \n"),
		"garbage":                  []byte("this is not an ETK at all"),
		"hack prefix (test kit)":   readVector(t, "negative/incorrectly_encoded.etk"),
		"truncated":                good[:len(good)/2],
		"single byte":              {0x30},
		"indefinite garbage":       {0x30, 0x80, 0x30, 0x80, 0x00},
		"certificate, not CMS":     getPKI(t).root.Raw,
		"no content (degenerate)":  degenerate,
		"content is not a cert":    notCertDER,
		"base64 of garbage":        []byte(base64.StdEncoding.EncodeToString([]byte("garbage"))),
		"bad PEM":                  []byte("-----BEGIN PKCS7-----\n!!!\n"),
		"too large":                append([]byte{0x30}, make([]byte, MaxSize)...),
		"trailing data after BER":  append(bytes.Clone(good), 0x01, 0x02),
		"deep nesting":             bytes.Repeat([]byte{0x30, 0x80}, 20000),
		"long base64 of zeros":     []byte(strings.Repeat("A", MaxSize*2)),
		"envelope of another type": {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			e, err := Parse(in)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v (ETK %t); want *FormatError", err, e != nil)
			}
			if !strings.Contains(err.Error(), "not an encoded CMS data structure") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestDNEqual(t *testing.T) {
	pairs := holderDNPairs("CBE", "0123456789", "SOME NAME")
	a := rawDN(t, true, pairs...)
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"identical", rawDN(t, true, pairs...), true},
		{"reversed order", rawDN(t, true, reversed(pairs)...), true},
		{"PrintableString instead of UTF8String", rawDN(t, false, pairs...), true},
		{"other case", rawDN(t, true, holderDNPairs("CBE", "0123456789", "some name")...), true},
		{"other value", rawDN(t, true, holderDNPairs("CBE", "0123456780", "SOME NAME")...), false},
		{"one RDN less", rawDN(t, true, pairs[1:]...), false},
		{"one RDN more", rawDN(t, true, append(pairs[:len(pairs):len(pairs)], [2]string{"OU", "X"})...), false},
		{"garbage", []byte{0x30, 0x03, 0x01}, false},
	}
	for _, tc := range tests {
		if got := dnEqual(a, tc.b); got != tc.want {
			t.Errorf("%s: dnEqual = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIdentityOf(t *testing.T) {
	tests := []struct {
		name    string
		pairs   [][2]string
		want    Identity
		wantErr bool
	}{
		{"organization", holderDNPairs("CBE", "0809394427", "EHEALTH-PLATFORM"), Identity{Type: "CBE", Value: "0809394427"}, false},
		{"person", holderDNPairs("SSIN", "85073003328", "DOE JOHN"), Identity{Type: "SSIN", Value: "85073003328"}, false},
		{"type with dash and underscore", holderDNPairs("NIHII-HOSPITAL", "71000436", "HOSP"), Identity{Type: "NIHII-HOSPITAL", Value: "71000436"}, false},
		{"application id (FACTS §7 K1)", [][2]string{{"C", "BE"}, {"O", "Federal Government"}, {"OU", "IAMACC"}, {"OU", "CBE=0809394427"},
			{"OU", "EHEALTH-PLATFORM"}, {"OU", "eHealth-platform Belgium"}, {"CN", "CBE=0809394427, IAMACC"}},
			Identity{Type: "CBE", Value: "0809394427", ApplicationID: "IAMACC"}, false},
		{"reversed order", reversed(holderDNPairs("CBE", "0809394427", "X")), Identity{Type: "CBE", Value: "0809394427"}, false},
		{"eID", [][2]string{{"C", "BE"}, {"CN", "John Doe (Authentication)"}, {"SERIALNUMBER", "85073003328"}}, Identity{Type: "SSIN", Value: "85073003328"}, false},
		{"no identifier", [][2]string{{"C", "BE"}, {"OU", "eHealth-platform Belgium"}, {"CN", "Alice"}}, Identity{}, true},
		{"non-digit id", [][2]string{{"C", "BE"}, {"OU", "CBE=ABC"}, {"CN", "CBE=ABC"}}, Identity{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := authTemplate(t)
			tmpl.RawSubject = rawDN(t, true, tc.pairs...)
			cert := issue(t, tmpl, getPKI(t).ca, &rsaKey(t, 4).PublicKey, getPKI(t).caKey)
			got, err := IdentityOf(cert)
			if tc.wantErr {
				var ie *IdentityError
				if !errors.As(err, &ie) {
					t.Fatalf("IdentityOf = %+v, %v; want *IdentityError", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("IdentityOf = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestIdentityMatches(t *testing.T) {
	id := Identity{Type: "CBE", Value: "0820563481"}
	for _, tc := range []struct {
		other Identity
		want  bool
	}{
		{Identity{Type: "CBE", Value: "820563481"}, true}, // stored without its leading zero (FACTS §13)
		{Identity{Type: "cbe", Value: "0820563481"}, true},
		{Identity{Type: "CBE", Value: "0820563482"}, false},
		{Identity{Type: "NIHII", Value: "0820563481"}, false},
		{Identity{Type: "CBE", Value: "0820563481", ApplicationID: "APP"}, false},
	} {
		if got := id.Matches(tc.other); got != tc.want {
			t.Errorf("%v.Matches(%v) = %v, want %v", id, tc.other, got, tc.want)
		}
	}
	if got := (Identity{Type: "SSIN", Value: "0"}).Matches(Identity{Type: "SSIN", Value: "000"}); !got {
		t.Error("zero values differ")
	}
}

// NIHII11 is the name of an 11-digit NIHII (what individual certificates carry as OU=NIHII=<11 digits>), and
// nothing else: not an 8-digit NIHII, not another NIHII type, not an SSIN.
func TestIdentityMatchesNIHII11(t *testing.T) {
	for _, tc := range []struct {
		a, b Identity
		want bool
	}{
		{Identity{Type: "NIHII", Value: "12345678901"}, Identity{Type: "NIHII11", Value: "12345678901"}, true},
		{Identity{Type: "NIHII", Value: "00000000101"}, Identity{Type: "NIHII11", Value: "101"}, true},
		{Identity{Type: "nihii", Value: " 00000000101 "}, Identity{Type: "Nihii11", Value: "00000000101"}, true},
		{Identity{Type: "NIHII11", Value: "00000000101"}, Identity{Type: "NIHII11", Value: "101"}, true},
		{Identity{Type: "NIHII", Value: "00000000101"}, Identity{Type: "NIHII11", Value: "00000000202"}, false},
		{Identity{Type: "NIHII", Value: "12345678901", ApplicationID: "APP"}, Identity{Type: "NIHII11", Value: "12345678901"}, false},
		// The NIHII side must have 11 digits: an 8-digit NIHII (or a short value) is another identifier.
		{Identity{Type: "NIHII", Value: "12345678"}, Identity{Type: "NIHII11", Value: "12345678"}, false},
		{Identity{Type: "NIHII", Value: "101"}, Identity{Type: "NIHII11", Value: "00000000101"}, false},
		{Identity{Type: "NIHII", Value: "123456789012"}, Identity{Type: "NIHII11", Value: "123456789012"}, false},
		// No other leniency.
		{Identity{Type: "NIHII-HOSPITAL", Value: "12345678901"}, Identity{Type: "NIHII11", Value: "12345678901"}, false},
		{Identity{Type: "SSIN", Value: "12345678901"}, Identity{Type: "NIHII11", Value: "12345678901"}, false},
		{Identity{Type: "SSIN", Value: "12345678901"}, Identity{Type: "NIHII", Value: "12345678901"}, false},
		{Identity{Type: "NIHII11X", Value: "12345678901"}, Identity{Type: "NIHII", Value: "12345678901"}, false},
	} {
		if got := tc.a.Matches(tc.b); got != tc.want {
			t.Errorf("%v.Matches(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := tc.b.Matches(tc.a); got != tc.want {
			t.Errorf("%v.Matches(%v) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

// spaced inserts a space every n characters.
func spaced(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		b.WriteString(s[i:min(i+n, len(s))])
		b.WriteByte(' ')
	}
	return b.String()
}
