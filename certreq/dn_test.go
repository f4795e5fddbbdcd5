package certreq

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

// The DN strings and encodings below were checked with OpenJDK 17 javax.security.auth.x500.X500Principal: its
// getName(RFC2253) returns the same string and getEncoded() the same bytes.
var goldenSubjects = []struct {
	name    string
	subject Subject
	dn      string
	der     string
}{
	{
		name:    "person",
		subject: NaturalPersonSubject("12345678901", "Jean-François", "Dupré"),
		dn:      `CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JEAN-FRANCOIS DUPRE,OU=SSIN\=12345678901,O=Federal Government,C=BE`,
		der:     "3081a1310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e7431193017060355040b13105353494e3d3132333435363738393031311c301a060355040b13134a45414e2d4652414e434f49532044555052453121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d31193017060355040313105353494e3d3132333435363738393031",
	},
	{
		name:    "organisation",
		subject: OrganizationSubject("CBE", "0809394427", "eHealth-platform", ""),
		dn:      `CN=CBE\=0809394427,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,O=Federal Government,C=BE`,
		der:     "30819a310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e7431173015060355040b130e4342453d3038303933393434323731193017060355040b1310454845414c54482d504c4154464f524d3121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d311730150603550403130e4342453d30383039333934343237",
	},
	{
		name:    "organisation with application id (the K1 certificate's subject)",
		subject: OrganizationSubject("CBE", "0809394427", "eHealth-platform", "iamacc"),
		dn:      `CN=CBE\=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,OU=IAMACC,O=Federal Government,C=BE`,
		der:     "3081b3310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e74310f300d060355040b130649414d41434331173015060355040b130e4342453d3038303933393434323731193017060355040b1310454845414c54482d504c4154464f524d3121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d311f301d060355040313164342453d303830393339343432372c2049414d414343",
	},
	{
		name:    "accents, comma in the name, application id with underscore (UTF8String)",
		subject: OrganizationSubject("NIHII-HOSPITAL", "71000436", "Hôpital Saint-Luc, Bruxelles", "my_app"),
		dn:      `CN=NIHII-HOSPITAL\=71000436\, MY_APP,OU=eHealth-platform Belgium,OU=HOPITAL SAINT-LUC\, BRUXELLES,OU=NIHII-HOSPITAL\=71000436,OU=MY_APP,O=Federal Government,C=BE`,
		der:     "3081d1310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e74310f300d060355040b0c064d595f4150503120301e060355040b13174e494849492d484f53504954414c3d373130303034333631253023060355040b131c484f504954414c205341494e542d4c55432c2042525558454c4c45533121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d3128302606035504030c1f4e494849492d484f53504954414c3d37313030303433362c204d595f415050",
	},
	{
		name:    "foreigner: last name first",
		subject: ForeignerSubject("98765432109", "Müller", "Jürgen"),
		dn:      `CN=SSIN\=98765432109,OU=eHealth-platform Belgium,OU=MULLER JURGEN,OU=SSIN\=98765432109,O=Federal Government,C=BE`,
		der:     "30819b310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e7431193017060355040b13105353494e3d393837363534333231303931163014060355040b130d4d554c4c4552204a555247454e3121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d31193017060355040313105353494e3d3938373635343332313039",
	},
	{
		name:    "NAME equal to the application id collapses (LinkedHashSet)",
		subject: OrganizationSubject("CBE", "0123456789", "IAMACC", "IAMACC"),
		dn:      `CN=CBE\=0123456789\, IAMACC,OU=eHealth-platform Belgium,OU=IAMACC,OU=CBE\=0123456789,O=Federal Government,C=BE`,
		der:     "308198310b3009060355040613024245311b3019060355040a13124665646572616c20476f7665726e6d656e7431173015060355040b130e4342453d30313233343536373839310f300d060355040b130649414d4143433121301f060355040b1318654865616c74682d706c6174666f726d2042656c6769756d311f301d060355040313164342453d303132333435363738392c2049414d414343",
	},
}

func TestSubjectDNGolden(t *testing.T) {
	for _, tc := range goldenSubjects {
		t.Run(tc.name, func(t *testing.T) {
			dn, err := tc.subject.DN()
			if err != nil {
				t.Fatal(err)
			}
			if dn != tc.dn {
				t.Fatalf("DN\n got %s\nwant %s", dn, tc.dn)
			}
			seq, err := ParseDN(dn)
			if err != nil {
				t.Fatal(err)
			}
			der, err := MarshalDN(seq, EncodingX500Principal)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(der); got != tc.der {
				t.Fatalf("DER\n got %s\nwant %s", got, tc.der)
			}
			// Formatting the encoding again gives the same string, as X500Principal.getName(RFC2253) does.
			f, err := FormatRawDN(der)
			if err != nil || f != tc.dn {
				t.Fatalf("FormatRawDN = %q, %v", f, err)
			}
			// The subject can be read back from the name.
			back, err := SubjectOfDN(seq)
			if err != nil {
				t.Fatal(err)
			}
			if back.Type != tc.subject.Type || back.Value != tc.subject.Value ||
				back.ApplicationID != NormalizeName(tc.subject.ApplicationID) || back.Name != NormalizeName(tc.subject.Name) {
				t.Errorf("SubjectOfDN = %+v", back)
			}
		})
	}
}

func TestDERTypesAndOrder(t *testing.T) {
	s := OrganizationSubject("NIHII-HOSPITAL", "71000436", "Hôpital", "my_app")
	seq, err := s.RDNs()
	if err != nil {
		t.Fatal(err)
	}
	der, err := MarshalDN(seq, EncodingX500Principal)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := parseRawName(der)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		oid asn1.ObjectIdentifier
		tag int
		val string
	}{
		{OIDCountry, asn1.TagPrintableString, "BE"},
		{OIDOrganization, asn1.TagPrintableString, "Federal Government"},
		{OIDOrganizationalUnit, asn1.TagUTF8String, "MY_APP"},
		{OIDOrganizationalUnit, asn1.TagPrintableString, "NIHII-HOSPITAL=71000436"},
		{OIDOrganizationalUnit, asn1.TagPrintableString, "HOPITAL"},
		{OIDOrganizationalUnit, asn1.TagPrintableString, "eHealth-platform Belgium"},
		{OIDCommonName, asn1.TagUTF8String, "NIHII-HOSPITAL=71000436, MY_APP"},
	}
	if len(raw) != len(want) {
		t.Fatalf("%d RDNs, want %d", len(raw), len(want))
	}
	for i, w := range want {
		a := raw[i][0]
		if !a.Type.Equal(w.oid) || a.Value.Tag != w.tag || string(a.Value.Bytes) != w.val {
			t.Errorf("RDN %d = %v tag %d %q, want %v tag %d %q", i, a.Type, a.Value.Tag, a.Value.Bytes, w.oid, w.tag, w.val)
		}
	}

	// EncodingUTF8 is what the eHealth CA writes (K1): every value but C as UTF8String.
	der, err = MarshalDN(seq, EncodingUTF8)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = parseRawName(der)
	for i, rdn := range raw {
		wantTag := asn1.TagUTF8String
		if rdn[0].Type.Equal(OIDCountry) {
			wantTag = asn1.TagPrintableString
		}
		if rdn[0].Value.Tag != wantTag {
			t.Errorf("EncodingUTF8: RDN %d has tag %d", i, rdn[0].Value.Tag)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	// Expected values computed with OpenJDK 17: Normalizer.normalize(s.toUpperCase(), NFD) without
	// \p{InCombiningDiacriticalMarks}.
	cases := map[string]string{
		"Élodie Müller-Strauß": "ELODIE MULLER-STRAUSS",
		"Øystein Łódź":         "\u00D8YSTEIN \u0141ODZ",
		"ﬁnance ŉ":             "FINANCE \u02BCN",
		"Ĳsselmeer dĳk":        "\u0132SSELMEER D\u0132K",
		"İstanbul":             "ISTANBUL",
		"Ångström  Ærø":        "ANGSTROM  \u00C6R\u00D8",
		"Ζωή":                  "\u0396\u03A9\u0397",
		"e\u0301tude":          "ETUDE",
		"O'Neil d'Hôpital":     "O'NEIL D'HOPITAL",
		"":                     "",
	}
	for in, want := range cases {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateApplicationID(t *testing.T) {
	for _, ok := range []string{"", "IAMACC", "my_app", "app-1", "épice", strings.Repeat("A", 30)} {
		if err := ValidateApplicationID(ok); err != nil {
			t.Errorf("ValidateApplicationID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"my app", "a.b", "Ø", strings.Repeat("A", 31), "x,y", "a=b"} {
		if err := ValidateApplicationID(bad); !errors.Is(err, ErrInvalidApplicationID) {
			t.Errorf("ValidateApplicationID(%q) = %v, want ErrInvalidApplicationID", bad, err)
		}
	}
}

func TestSubjectDNErrors(t *testing.T) {
	cases := []struct {
		s    Subject
		want error
	}{
		{OrganizationSubject("cbe", "123", "X", ""), ErrInvalidIdentifier},
		{OrganizationSubject("CBE", "12a", "X", ""), ErrInvalidIdentifier},
		{OrganizationSubject("CBE", "", "X", ""), ErrInvalidIdentifier},
		{OrganizationSubject("CBE=1", "1", "X", ""), ErrInvalidIdentifier},
		{OrganizationSubject("CBE", "123", "  ", ""), ErrEmptyName},
		{OrganizationSubject("CBE", "123", "X", "bad app"), ErrInvalidApplicationID},
	}
	for _, tc := range cases {
		if _, err := tc.s.DN(); !errors.Is(err, tc.want) {
			t.Errorf("%+v: err = %v, want %v", tc.s, err, tc.want)
		}
	}
}

func TestNameSpecialCharactersRoundTrip(t *testing.T) {
	s := OrganizationSubject("CBE", "0123456789", `  A+B; "C" <D> #E \F = G,  `, "")
	dn, err := s.DN()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseDN(dn)
	if err != nil {
		t.Fatalf("ParseDN(%s): %v", dn, err)
	}
	got, err := SubjectOfDN(back)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(NormalizeName(s.Name)); got.Name != want {
		t.Errorf("name %q, want %q (dn %s)", got.Name, want, dn)
	}
}

func TestParseDNEscapedAndUnescapedEqual(t *testing.T) {
	escaped := `CN=CBE\=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,OU=IAMACC,O=Federal Government,C=BE`
	unescaped := `CN=CBE=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE=0809394427,OU=IAMACC,O=Federal Government,C=BE`
	spaced := `CN = CBE=0809394427\, IAMACC , OU=eHealth-platform Belgium; OU=EHEALTH-PLATFORM,ou=CBE=0809394427,OU="IAMACC",O=Federal Government,c=BE`
	a, err := ParseDN(escaped)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{unescaped, spaced} {
		b, err := ParseDN(other)
		if err != nil {
			t.Fatal(err)
		}
		if !EqualDN(a, b) {
			t.Errorf("%s\nparses differently from\n%s", other, escaped)
		}
	}
	// DER order: C first, CN last.
	if !a[0][0].Type.Equal(OIDCountry) || !a[len(a)-1][0].Type.Equal(OIDCommonName) {
		t.Errorf("not in DER order: %v", a)
	}
	if cn := a[len(a)-1][0].Value; cn != "CBE=0809394427, IAMACC" {
		t.Errorf("CN value %q", cn)
	}
}

func TestParseDNForms(t *testing.T) {
	cases := []struct {
		in   string
		want pkix.RDNSequence
	}{
		{"", pkix.RDNSequence{}},
		{`CN=a\2cb`, pkix.RDNSequence{{{Type: OIDCommonName, Value: "a,b"}}}},
		{`CN=\C3\A9t\C3\A9`, pkix.RDNSequence{{{Type: OIDCommonName, Value: "été"}}}},
		{`CN=\ x\ `, pkix.RDNSequence{{{Type: OIDCommonName, Value: " x "}}}},
		{`CN=  x  `, pkix.RDNSequence{{{Type: OIDCommonName, Value: "x"}}}},
		{`CN=`, pkix.RDNSequence{{{Type: OIDCommonName, Value: ""}}}},
		{`CN=a==b`, pkix.RDNSequence{{{Type: OIDCommonName, Value: "a==b"}}}},
		{`CN=a+OU=b,C=BE`, pkix.RDNSequence{{{Type: OIDCountry, Value: "BE"}}, {{Type: OIDCommonName, Value: "a"}, {Type: OIDOrganizationalUnit, Value: "b"}}}},
		{`OID.2.5.4.3=x;2.5.4.6=BE`, pkix.RDNSequence{{{Type: OIDCountry, Value: "BE"}}, {{Type: OIDCommonName, Value: "x"}}}},
		{`SERIALNUMBER=740906124`, pkix.RDNSequence{{{Type: OIDSerialNumber, Value: "740906124"}}}},
	}
	for _, tc := range cases {
		got, err := ParseDN(tc.in)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", tc.in, err)
			continue
		}
		if !EqualDN(got, tc.want) || len(got) != len(tc.want) {
			t.Errorf("ParseDN(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// #hex keeps the encoding (UTF8String here).
	got, err := ParseDN(`CN=#0c03616263`)
	if err != nil {
		t.Fatal(err)
	}
	rv, ok := got[0][0].Value.(asn1.RawValue)
	if !ok || rv.Tag != asn1.TagUTF8String || string(rv.Bytes) != "abc" {
		t.Errorf("#hex value = %#v", got[0][0].Value)
	}
	if !EqualDN(got, pkix.RDNSequence{{{Type: OIDCommonName, Value: "abc"}}}) {
		t.Error("#hex value does not compare equal to its text")
	}
}

func TestParseDNErrors(t *testing.T) {
	for _, bad := range []string{
		"CN", "=x", "CN=a,", "CN=a,,O=b", `CN=a\`, `CN="a`, `CN="a"b`, "XX=1", "CN=#abc", "CN=#zz",
		"CN=#0c0361", "1=x", "1.2.=x", "CN=\xff", `CN=\ff`, `CN=a"b`, "CN=a+", "01.2=x", "3.1=x",
	} {
		_, err := ParseDN(bad)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseDN(%q) = %v, want *ParseError", bad, err)
		}
	}
}

// Checked with OpenJDK 17 X500Principal(in).getName(RFC2253).
func TestFormatLikeJava(t *testing.T) {
	cases := map[string]string{
		`CN=CBE=0809394427\, IAMACC,OU=CBE=0809394427,O=Federal Government,C=BE`: `CN=CBE\=0809394427\, IAMACC,OU=CBE\=0809394427,O=Federal Government,C=BE`,
		`CN=CBE\=1\, MY_APP,OU=A#B\;C\<D\>E\+F\"G\\H,C=BE`:                       `CN=CBE\=1\, MY_APP,OU=A\#B\;C\<D\>E\+F\"G\\H,C=BE`,
		`CN=\#x\ ,SERIALNUMBER=740906124,EMAILADDRESS=a@b.c,DC=be,C=BE`:          `CN=\#x\ ,2.5.4.5=#1309373430393036313234,1.2.840.113549.1.9.1=#16056140622e63,DC=be,C=BE`,
		`CN = x , OU=  y  ,C=BE`:                                      `CN=x,OU=y,C=BE`,
		`CN="quoted, value",C=BE`:                                     `CN=quoted\, value,C=BE`,
		`CN=x,ST=y,L=z,STREET=s,UID=u,T=t,GIVENNAME=g,SURNAME=s,C=BE`: `CN=x,ST=y,L=z,STREET=s,UID=u,2.5.4.12=#130174,2.5.4.42=#130167,2.5.4.4=#130173,C=BE`,
		`CN=ZetesConfidens Private Trust PKI - eHealth issuing CA 001,SERIALNUMBER=001,O=ZETES SA,C=BE`: `CN=ZetesConfidens Private Trust PKI - eHealth issuing CA 001,2.5.4.5=#1303303031,O=ZETES SA,C=BE`,
		`cn=lower,ou=case,c=BE`: `CN=lower,OU=case,C=BE`,
	}
	for in, want := range cases {
		seq, err := ParseDN(in)
		if err != nil {
			t.Fatalf("ParseDN(%q): %v", in, err)
		}
		got, err := FormatDN(seq)
		if err != nil || got != want {
			t.Errorf("FormatDN(ParseDN(%q))\n got %s\nwant %s (%v)", in, got, want, err)
		}
	}
}

func TestEscapeContractDN(t *testing.T) {
	cases := map[string]string{
		`CN=SSIN=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN=12345678901,O=Federal Government,C=BE`:                        `CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE`,
		`CN=CBE=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE=0809394427,OU=IAMACC,O=Federal Government,C=BE`: `CN=CBE\=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,OU=IAMACC,O=Federal Government,C=BE`,
		`CN=NIHII-HOSPITAL=71000436,OU=X,OU=NIHII-HOSPITAL=71000436,O=Federal Government,C=BE`:                                             `CN=NIHII-HOSPITAL\=71000436,OU=X,OU=NIHII-HOSPITAL\=71000436,O=Federal Government,C=BE`,
		`CN=plain,C=BE`: `CN=plain,C=BE`,
	}
	for in, want := range cases {
		got := EscapeContractDN(in)
		if got != want {
			t.Errorf("EscapeContractDN(%s)\n got %s\nwant %s", in, got, want)
		}
		if again := EscapeContractDN(got); again != got {
			t.Errorf("not idempotent: %s -> %s", got, again)
		}
		a, err1 := ParseDN(in)
		b, err2 := ParseDN(got)
		if err1 != nil || err2 != nil || !EqualDN(a, b) {
			t.Errorf("escaping changed the name: %v %v", err1, err2)
		}
	}
}

func TestEqualAndEquivalentDN(t *testing.T) {
	a, _ := ParseDN("CN=John,OU=x+OU=y,O=Org,C=BE")
	b, _ := ParseDN("CN=John,OU=y+OU=x,O=Org,C=BE")
	if !EqualDN(a, b) {
		t.Error("order inside a multi-valued RDN must not matter")
	}
	c, _ := ParseDN("C=BE,O=Org,OU=x+OU=y,CN=John")
	if EqualDN(a, c) {
		t.Error("EqualDN must depend on RDN order")
	}
	if !EquivalentDN(a, c) {
		t.Error("EquivalentDN must ignore RDN order")
	}
	d, _ := ParseDN("CN=john ,OU=X+OU=Y,O=org,C=be")
	if EqualDN(a, d) || !EquivalentDN(a, d) {
		t.Error("case: EqualDN must see it, EquivalentDN must ignore it")
	}
	e, _ := ParseDN("CN=Jane,OU=x+OU=y,O=Org,C=BE")
	if EquivalentDN(a, e) {
		t.Error("different names are equivalent")
	}
	// String types do not matter.
	p, _ := MarshalDN(a, EncodingX500Principal)
	u, _ := MarshalDN(a, EncodingUTF8)
	pp, _ := ParseRawDN(p)
	uu, _ := ParseRawDN(u)
	if slices.Equal(p, u) || !EqualDN(pp, uu) {
		t.Error("PrintableString and UTF8String encodings of one name must be equal")
	}
}

func FuzzParseDN(f *testing.F) {
	for _, tc := range goldenSubjects {
		f.Add(tc.dn)
	}
	for _, s := range []string{
		`CN=CBE=0809394427\, IAMACC,OU=CBE=0809394427,C=BE`, `CN="q, v";C=BE`, `CN=#0c03616263`, `CN=a+OU=b`,
		`OID.2.5.4.3=\C3\A9`, `CN=\ x\ `, "", `2.5.4.5=#1303303031`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		seq, err := ParseDN(dn)
		if err != nil {
			return
		}
		// Whatever parses formats and parses back to the same name, and encodes.
		s, err := FormatDN(seq)
		if err != nil {
			return // values such as invalid UTF-8 in a #hex UTF8String cannot be printed
		}
		back, err := ParseDN(s)
		if err != nil {
			t.Fatalf("ParseDN(FormatDN(ParseDN(%q)) = %q): %v", dn, s, err)
		}
		if !EqualDN(seq, back) {
			t.Fatalf("round trip changed %q: %q", dn, s)
		}
		if der, err := MarshalDN(seq, EncodingX500Principal); err == nil {
			if _, err := ParseRawDN(der); err != nil {
				t.Fatalf("MarshalDN output does not parse: %v", err)
			}
		}
	})
}
