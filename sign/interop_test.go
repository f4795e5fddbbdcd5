package sign_test

import (
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
)

var interopKeys = []string{"rsa", "p256", "p384"}

func idNode(op ehealth.Operation) string { return op.Namespace + ":" + op.Request }

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestXmlsecVerifiesOurSignatures: for every signed operation and each key type (RSA-2048, ECDSA P-256,
// ECDSA P-384), the signed sample request is accepted by xmlsec1, by our Verifier, and by the official XSDs,
// and the payload bytes outside the Signature are unchanged.
func TestXmlsecVerifiesOurSignatures(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	reqs := requestFiles(t)
	signedOps := 0
	for _, op := range ehealth.Operations() {
		if op.Key == ehealth.Unsigned {
			continue
		}
		signedOps++
		payload, ok := reqs[op.Name]
		if !ok {
			t.Errorf("no sample request testdata/requests/%s.xml", op.Request)
			continue
		}
		for _, kn := range interopKeys {
			t.Run(op.Name+"/"+kn, func(t *testing.T) {
				signed, err := sign.Enveloped(p.Keys[kn], payload)
				if err != nil {
					t.Fatal(err)
				}
				assertOnlySignatureAdded(t, payload, signed)
				if err := xmlsecVerify(t, p, writeTemp(t, op.Request+".xml", signed), idNode(op)); err != nil {
					t.Errorf("xmlsec1 rejects our signature: %v", err)
				}
				got, err := p.verifier().Verify(signed)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !got.Signer.Equal(p.Keys[kn].Chain()[0]) {
					t.Errorf("Signer %s, want %s", got.Signer.Subject, p.Keys[kn].Chain()[0].Subject)
				}
				if msg := testenv.ValidateXSD(t, signed); msg != "" {
					t.Errorf("signed request does not validate against the XSDs:\n%s", msg)
				}
			})
		}
	}
	if signedOps != 8 {
		t.Errorf("%d signed operations, want 8", signedOps)
	}
}

// assertOnlySignatureAdded checks that signed minus its ds:Signature element is payload, byte for byte
// (for a self-closing root, "<R/>" may become "<R></R>").
func assertOnlySignatureAdded(t testing.TB, payload, signed []byte) {
	t.Helper()
	s := string(signed)
	i := strings.Index(s, "<ds:Signature ")
	j := strings.LastIndex(s, "</ds:Signature>")
	if i < 0 || j < i || strings.Count(s, "<ds:Signature ") != 1 {
		t.Fatalf("expected one ds:Signature in the output")
	}
	rest := s[:i] + s[j+len("</ds:Signature>"):]
	if rest == string(payload) {
		return
	}
	// Self-closing root: <R .../> became <R ...></R>.
	if k := strings.LastIndex(string(payload), "/>"); k > 0 {
		tail := rest[k+1:]
		if rest[:k] == string(payload[:k]) && strings.HasPrefix(tail, "</") {
			end := strings.Index(tail, ">")
			if rest[k+1+end+1:] == string(payload[k+2:]) {
				return
			}
		}
	}
	t.Errorf("bytes outside the Signature changed:\n in: %q\nout: %q", payload, rest)
}

// signTemplate is an empty eHealth-profile Signature for xmlsec1 --sign to fill in.
func signTemplate(method string) string {
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="` + method + `"/><ds:Reference URI="#ID"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`
}

// xmlsecSign signs the request of op with xmlsec1 and the named test key (leaf and CA in X509Data).
func xmlsecSign(t testing.TB, p *testPKI, kn string, op ehealth.Operation, payload []byte) []byte {
	t.Helper()
	return xmlsecSignTemplate(t, p, kn, op, payload, nil)
}

// xmlsecSignTemplate is xmlsecSign with the signature template passed through edit first.
func xmlsecSignTemplate(t testing.TB, p *testPKI, kn string, op ehealth.Operation, payload []byte, edit func(string) string) []byte {
	t.Helper()
	r, err := inspectForTest(payload)
	if err != nil {
		t.Fatal(err)
	}
	method := map[string]string{"rsa": sign.AlgRSASHA256, "p256": sign.AlgECDSASHA256, "p384": sign.AlgECDSASHA384}[kn]
	tmpl := strings.Replace(signTemplate(method), `URI="#ID"`, `URI="#`+r.id+`"`, 1)
	if edit != nil {
		tmpl = edit(tmpl)
	}
	doc := string(payload[:r.end]) + tmpl + string(payload[r.end:])
	if r.selfClosing {
		doc = string(payload[:r.end]) + ">" + tmpl + "</" + r.qname + ">" + string(payload[r.end+2:])
	}
	in := writeTemp(t, "template.xml", []byte(doc))
	out := filepath.Join(t.TempDir(), "signed.xml")
	// The leaf certificate and the CA go into X509Data; the root in rsa.chain.pem is left out.
	leafAndCA := writeTemp(t, "chain.pem", pemChain(t, p, kn))
	cmd := exec.Command("xmlsec1", "--sign", "--privkey-pem", filepath.Join(p.Dir, kn+".key")+","+leafAndCA,
		"--id-attr:Id", idNode(op), "--output", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, b)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestVerifierAcceptsXmlsecSignatures: documents signed by xmlsec1 (RSA, and ECDSA with XML-DSig's raw r||s
// signature values) verify with our Verifier, which reports the right signer. xmlsec1 puts only the signer
// certificate in X509Data, so the CA comes from Verifier.Intermediates.
func TestVerifierAcceptsXmlsecSignatures(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	reqs := requestFiles(t)
	for _, op := range []ehealth.Operation{ehealth.GetActorQualities, ehealth.GenerateCertificate, ehealth.StartETKRegistration,
		ehealth.GetCertificateInfoForAuthenticationCertificate} {
		for _, kn := range interopKeys {
			t.Run(op.Name+"/"+kn, func(t *testing.T) {
				signed := xmlsecSign(t, p, kn, op, reqs[op.Name])
				v := p.verifier()
				if _, err := v.Verify(signed); !errors.Is(err, sign.UntrustedChain) {
					t.Errorf("without the CA: %v, want UntrustedChain", err)
				}
				v.Intermediates = x509.NewCertPool()
				v.Intermediates.AddCert(p.CA)
				got, err := v.Verify(signed)
				if err != nil {
					t.Fatalf("Verify rejects xmlsec1's signature: %v\n%s", err, signed)
				}
				if !got.Signer.Equal(p.Keys[kn].Chain()[0]) {
					t.Errorf("Signer %s, want %s", got.Signer.Subject, p.Keys[kn].Chain()[0].Subject)
				}
				if got.Element.Tag != op.Request || got.ReferenceID == "" {
					t.Errorf("Element <%s>, ReferenceID %q", got.Element.Tag, got.ReferenceID)
				}
			})
		}
	}
}

// TestTamperingRejectedByBoth: tampered content, a swapped certificate and a moved Signature (turned into
// the document root, with the request moved into its ds:Object) are rejected by xmlsec1 and by our
// Verifier. Other moves are valid generic XML-DSig: see TestProfileStricterThanXmlsec.
func TestTamperingRejectedByBoth(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	op := ehealth.GenerateCertificate
	payload := requestFiles(t)[op.Name]
	for _, kn := range interopKeys {
		signed, err := sign.Enveloped(p.Keys[kn], payload)
		if err != nil {
			t.Fatal(err)
		}
		s := string(signed)
		otherKey := map[string]string{"rsa": "rsa2", "p256": "p384", "p384": "p256"}[kn]
		sigStart := strings.Index(s, "<ds:Signature ")
		sigEnd := strings.Index(s, "</ds:Signature>") + len("</ds:Signature>")
		sig := s[sigStart:sigEnd]
		unsigned := s[:sigStart] + s[sigEnd:]
		cases := []struct {
			name string
			doc  string
			want sign.Reason
		}{
			{"tampered content", strings.Replace(s, "+32 2 555 01 23", "+32 2 555 01 24", 1), sign.BadDigest},
			{"tampered contract text", strings.Replace(s, "accepte les conditions", "refuse les conditions", 1), sign.BadDigest},
			{"swapped certificate", strings.Replace(s, b64(p.Keys[kn].Chain()[0].Raw), b64(p.Keys[otherKey].Chain()[0].Raw), 1), 0},
			{"moved signature", strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+unsigned+"</ds:Object></ds:Signature>", 1), sign.Malformed},
		}
		for _, c := range cases {
			t.Run(kn+"/"+c.name, func(t *testing.T) {
				if xmlsecVerify(t, p, writeTemp(t, "doc.xml", []byte(c.doc)), idNode(op)) == nil {
					t.Errorf("xmlsec1 accepts it")
				}
				_, err := p.verifier().Verify([]byte(c.doc))
				if err == nil {
					t.Fatalf("Verify accepts it")
				}
				if c.want != 0 && !errors.Is(err, c.want) {
					t.Errorf("reason: %v, want %s", err, c.want)
				}
				t.Logf("Verify: %v", err)
			})
		}
	}
}

// TestProfileStricterThanXmlsec: a Signature moved elsewhere inside the signed element, or out of it next to
// the request under a new root, still verifies as generic XML-DSig (the enveloped-signature transform
// removes it wherever it is; outside the element it is a detached signature), so xmlsec1 accepts it. The
// eHealth profile wants it as the last child of the signed root, and Verify refuses every such move.
func TestProfileStricterThanXmlsec(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	op := ehealth.GetActorQualities
	signed, err := sign.Enveloped(p.Keys["rsa"], requestFiles(t)[op.Name])
	if err != nil {
		t.Fatal(err)
	}
	d := splitSigned(t, signed)
	for _, c := range []struct {
		name, doc string
		want      sign.Reason
	}{
		{"first child", d.open + d.sig + d.content + d.close, sign.Wrapped},
		{"inside a child", d.open + strings.Replace(d.content, "</SSIN>", d.sig+"</SSIN>", 1) + d.close, sign.Wrapped},
		{"sibling after the request", `<Wrapper xmlns="urn:a">` + d.open + d.content + d.close + d.sig + `</Wrapper>`, sign.Malformed},
		{"sibling before the request", `<Wrapper xmlns="urn:a">` + d.sig + d.open + d.content + d.close + `</Wrapper>`, sign.Malformed},
	} {
		xmlsec := "accepts"
		if xmlsecVerify(t, p, writeTemp(t, "moved.xml", []byte(c.doc)), idNode(op)) != nil {
			xmlsec = "rejects"
		}
		_, err := p.verifier().Verify([]byte(c.doc))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Verify: %v, want %s", c.name, err, c.want)
		}
		t.Logf("Signature moved to %s: xmlsec1 %s; Verify: %v", c.name, xmlsec, err)
	}
}

// TestExpiredAndUntrustedRejectedByBoth: a signature by an expired certificate or by a key under an
// untrusted root (with the same name as the trusted one).
func TestExpiredAndUntrustedRejectedByBoth(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	op := ehealth.GetActorQualities
	for kn, want := range map[string]sign.Reason{"expired": sign.Expired, "evil": sign.UntrustedChain} {
		signed, err := sign.Enveloped(p.Keys[kn], requestFiles(t)[op.Name])
		if err != nil {
			t.Fatal(err)
		}
		if xmlsecVerify(t, p, writeTemp(t, "doc.xml", signed), idNode(op)) == nil {
			t.Errorf("%s: xmlsec1 accepts it", kn)
		}
		if _, err := p.verifier().Verify(signed); !errors.Is(err, want) {
			t.Errorf("%s: Verify: %v, want %s", kn, err, want)
		}
	}
}

// cornerCases are requests that exercise the places where implementations of exclusive c14n differ. The
// first three are where goxmldsig v1.6.1 departs from the specification (and from xmlsec1 and Santuario):
// prefixed attributes from two namespaces, literal white space in attribute values, a redundant xmlns="".
// The Zoë variants carry a non-ASCII name, which once sent the signer to a goxmldsig fallback.
var cornerCases = []struct {
	name, doc string
	// mixed: literal white space and character references in attribute values, which a parsed tree
	// cannot tell apart (VerifyElement fails with BadDigest, as documented).
	mixed bool
}{
	{"prefixed attributes from two namespaces",
		`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:b="urn:b" xmlns:a="urn:c" Id="_c1" IssueInstant="2026-01-01T00:00:00Z"><SSIN Type="SSIN" a:z="1" b:y="2" xsi:type="x" xml:lang="fr">71715100070</SSIN></GetActorQualitiesRequest>`, false},
	{"literal white space in an attribute value",
		"<GetActorQualitiesRequest xmlns=\"urn:be:fgov:ehealth:certra:protocol:v2\" Id=\"_c2\" IssueInstant=\"2026-01-01T00:00:00Z\"><SSIN Type=\"a\tb\nc\r\nd\">71715100070</SSIN></GetActorQualitiesRequest>", false},
	{"literal white space and character references in attribute values",
		"<GetActorQualitiesRequest xmlns=\"urn:be:fgov:ehealth:certra:protocol:v2\" Id=\"_c7\" IssueInstant=\"2026-01-01T00:00:00Z\"><SSIN Type=\"a\tb\nc\r\nd&#9;e&#10;f\">71715100070</SSIN></GetActorQualitiesRequest>", true},
	{"character references to white space in attribute values",
		"<GetActorQualitiesRequest xmlns=\"urn:be:fgov:ehealth:certra:protocol:v2\" Id=\"_c8\" IssueInstant=\"2026-01-01T00:00:00Z\"><SSIN Type=\"d&#9;e&#10;f&#13;g\">71715100070</SSIN></GetActorQualitiesRequest>", false},
	{"redundant xmlns=\"\"",
		`<p:GetActorQualitiesRequest xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" Id="_c5" IssueInstant="2026-01-01T00:00:00Z"><p:SSIN Type="SSIN">71715100070</p:SSIN><Extra xmlns="">x<In xmlns="">y</In></Extra></p:GetActorQualitiesRequest>`, false},
	{"all three with a non-ASCII name",
		"<p:GetActorQualitiesRequest xmlns:p=\"urn:be:fgov:ehealth:certra:protocol:v2\" xmlns:b=\"urn:b\" xmlns:a=\"urn:c\" Id=\"_c6\" IssueInstant=\"2026-01-01T00:00:00Z\"><p:SSIN Type=\"SSIN\">71715100070</p:SSIN><Zoë xmlns=\"\" a:z=\"1\" b:y=\"\tx\ny\">é</Zoë></p:GetActorQualitiesRequest>", false},
	{"CDATA, character references, a processing instruction",
		`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_c3" IssueInstant="2026-01-01T00:00:00Z"><SSIN xmlns="" Type="SSIN"><![CDATA[<7171>&]]>&#x1F642;&#13;</SSIN><?keep this?></GetActorQualitiesRequest>`, false},
	{"self-closing root, CRLF",
		"<?xml version='1.0'?>\r\n<GetActorQualitiesRequest xmlns=\"urn:be:fgov:ehealth:certra:protocol:v2\" IssueInstant=\"2026-01-01T00:00:00Z\" Id=\"_c4\"/>\r\n", false},
}

// TestCanonicalizationCornerCasesInterop signs each corner case and checks that xmlsec1 accepts the
// signature, and that our Verifier does too, on the bytes (Verify) and inside a SOAP envelope parsed by
// etree (VerifyElement). With goxmldsig's canonicalizer in the Verifier the first four failed with
// BadDigest.
func TestCanonicalizationCornerCasesInterop(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	op := ehealth.GetActorQualities
	for _, c := range cornerCases {
		t.Run(c.name, func(t *testing.T) {
			for _, kn := range interopKeys {
				signed, err := sign.Enveloped(p.Keys[kn], []byte(c.doc))
				if err != nil {
					t.Fatalf("%s: %v", kn, err)
				}
				if err := xmlsecVerify(t, p, writeTemp(t, "doc.xml", signed), idNode(op)); err != nil {
					t.Errorf("%s: xmlsec1 rejects our signature: %v", kn, err)
				}
				got, err := p.verifier().Verify(signed)
				if err != nil {
					t.Fatalf("%s: Verify: %v", kn, err)
				}
				if !got.Signer.Equal(p.Keys[kn].Chain()[0]) {
					t.Errorf("%s: Signer %s", kn, got.Signer.Subject)
				}
				_, err = verifyInEnvelope(t, p.verifier(), signed)
				switch {
				case c.mixed && !errors.Is(err, sign.BadDigest):
					t.Errorf("%s: VerifyElement: %v, want the documented BadDigest", kn, err)
				case !c.mixed && err != nil:
					t.Errorf("%s: VerifyElement: %v", kn, err)
				}
			}
		})
	}
}

// TestVerifierAcceptsXmlsecCornerCases: the corner cases signed by xmlsec1 (libxml2's canonicalizer)
// verify with our Verifier.
func TestVerifierAcceptsXmlsecCornerCases(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	v := p.verifier()
	v.Intermediates = x509.NewCertPool()
	v.Intermediates.AddCert(p.CA)
	for _, c := range cornerCases {
		signed := xmlsecSign(t, p, "rsa", ehealth.GetActorQualities, []byte(c.doc))
		if _, err := v.Verify(signed); err != nil {
			t.Errorf("%s: Verify rejects xmlsec1's signature: %v\n%s", c.name, err, signed)
		}
		if _, err := verifyInEnvelope(t, v, signed); err != nil && !c.mixed {
			t.Errorf("%s: VerifyElement rejects xmlsec1's signature: %v", c.name, err)
		}
	}
}

// TestVerifierHonoursInclusivePrefixes: xmlsec1 signs with an InclusiveNamespaces PrefixList on the
// Reference's exc-c14n transform (naming prefixes the request declares but does not use, and #default);
// our Verifier computes the same digest.
func TestVerifierHonoursInclusivePrefixes(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	v := p.verifier()
	v.Intermediates = x509.NewCertPool()
	v.Intermediates.AddCert(p.CA)
	doc := []byte(`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:u="urn:unused" Id="_i1" IssueInstant="2026-01-01T00:00:00Z"><SSIN Type="SSIN" xmlns="">71715100070</SSIN></GetActorQualitiesRequest>`)
	for _, list := range []string{"xsi u", "#default u", "xsi"} {
		tmpl := `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + list + `"/></ds:Transform>`
		signed := xmlsecSignTemplate(t, p, "rsa", ehealth.GetActorQualities, doc, func(s string) string {
			return strings.Replace(s, `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`, tmpl, 1)
		})
		if !strings.Contains(string(signed), "PrefixList") {
			t.Fatal("the template lost its prefix list")
		}
		if _, err := v.Verify(signed); err != nil {
			t.Errorf("PrefixList %q: %v", list, err)
		}
		// Without the prefix list the digest differs (the list changes the canonical form).
		stripped := strings.Replace(string(signed), `PrefixList="`+list+`"`, `PrefixList=""`, 1)
		if _, err := v.Verify([]byte(stripped)); !errors.Is(err, sign.BadSignature) {
			t.Errorf("PrefixList %q removed: %v, want BadSignature (SignedInfo changed)", list, err)
		}
	}
}

// verifyInEnvelope puts a signed request in a SOAP Body, parses the envelope with etree and verifies the
// request in place.
func verifyInEnvelope(t testing.TB, v *sign.Verifier, signed []byte) (*sign.Verified, error) {
	t.Helper()
	s := string(signed)
	if strings.HasPrefix(s, "<?xml") {
		s = s[strings.Index(s, "?>")+2:]
	}
	env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:other"><soapenv:Body>` +
		s + `</soapenv:Body></soapenv:Envelope>`
	d := etree.NewDocument()
	if err := d.ReadFromString(env); err != nil {
		t.Fatal(err)
	}
	body := d.Root().FindElement("./Body")
	if body == nil || len(body.ChildElements()) != 1 {
		t.Fatal("no request in the envelope")
	}
	return v.VerifyElement(body.ChildElements()[0])
}
