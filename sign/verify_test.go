package sign_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/sign"
)

func TestVerifyResult(t *testing.T) {
	p := loadPKI(t)
	signed, err := sign.Enveloped(p.Keys["p384"], requestFiles(t)["GenerateCertificate"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.verifier().Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignatureMethod != sign.AlgECDSASHA384 || got.ReferenceID != "_9d0e7a51-3b2c-4f8e-a6d4-1e2f3a4b5c6d" {
		t.Errorf("method %s, id %s", got.SignatureMethod, got.ReferenceID)
	}
	if len(got.Chain) != 3 || !got.Chain[2].Equal(p.Root) || !got.Chain[1].Equal(p.CA) {
		t.Errorf("chain of %d certificates", len(got.Chain))
	}
	if got.Element.Tag != "GenerateCertificateRequest" || got.Element.FindElement("//Signature") != nil {
		t.Errorf("Element <%s> should be the request without its Signature", got.Element.Tag)
	}
	if csr := got.Element.FindElement("./EHealthCSR/CSR"); csr == nil || len(csr.Text()) < 100 {
		t.Error("CSR missing from the verified element")
	}
}

// TestVerifyCommentTrick: exclusive c14n without comments does not sign comments, so a comment inserted in
// a text node leaves the signature valid. The defence is to read only Verified.Element, whose text is the
// signed text, whole.
func TestVerifyCommentTrick(t *testing.T) {
	p := loadPKI(t)
	signed, err := sign.Enveloped(p.Keys["rsa"], requestFiles(t)["GetActorQualities"])
	if err != nil {
		t.Fatal(err)
	}
	tricked := strings.Replace(string(signed), "71715100070", "7171<!-- -->5100070", 1)
	got, err := p.verifier().Verify([]byte(tricked))
	if err != nil {
		t.Fatal(err)
	}
	if ssin := got.Element.FindElement("./SSIN").Text(); ssin != "71715100070" {
		t.Errorf("SSIN read from the verified element: %q", ssin)
	}
	// What a naive reader of the input would see:
	d := etree.NewDocument()
	_ = d.ReadFromString(tricked)
	if naive := d.Root().FindElement("./SSIN").Text(); naive == "71715100070" {
		t.Logf("etree joins the text too (%q)", naive)
	}
}

func TestVerifyReasons(t *testing.T) {
	p := loadPKI(t)
	payload := requestFiles(t)["GetActorQualities"]
	sig := func(k string) []byte {
		b, err := sign.Enveloped(p.Keys[k], payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rsaSigned := sig("rsa")
	cases := []struct {
		name string
		v    *sign.Verifier
		doc  []byte
		want sign.Reason
	}{
		{"weak RSA key", p.verifier(), sig("rsa1024"), sign.WrongAlgorithm},
		{"weak RSA key allowed", &sign.Verifier{Roots: p.Roots, Now: testClock, MinRSABits: 1024}, sig("rsa1024"), 0},
		{"no roots", &sign.Verifier{Now: testClock}, rsaSigned, sign.UntrustedChain},
		{"before validity", &sign.Verifier{Roots: p.Roots, Now: func() time.Time { return time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) }}, rsaSigned, sign.Expired},
		{"expired", p.verifier(), sig("expired"), sign.Expired},
		{"expired, checked in 2020", &sign.Verifier{Roots: p.Roots, Now: func() time.Time { return time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC) }}, sig("expired"), 0},
		{"too big", &sign.Verifier{Roots: p.Roots, Now: testClock, MaxBytes: 100}, rsaSigned, sign.Malformed},
		{"empty", p.verifier(), nil, sign.Malformed},
		{"DOCTYPE", p.verifier(), []byte(`<!DOCTYPE x>` + string(rsaSigned)), sign.Malformed},
		{"ECDSA value in DER", p.verifier(), derECDSA(t, sig("p256")), sign.BadSignature},
	}
	for _, c := range cases {
		_, err := c.v.Verify(c.doc)
		if c.want == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var ve *sign.VerifyError
		if !errors.As(err, &ve) || ve.Reason != c.want || !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

// derECDSA rewrites the raw r||s SignatureValue of an ECDSA-signed document as ASN.1 DER, the encoding
// XML-DSig does not allow (and that goxmldsig v1.6.1 writes).
func derECDSA(t *testing.T, signed []byte) []byte {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	sv := d.Root().FindElement("./Signature/SignatureValue")
	raw := mustB64(t, sv.Text())
	der, err := rawToDERForTest(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(signed), sv.Text(), b64(der), 1)
	return []byte(s)
}

// TestVerifyElementInEnvelope: a signed request inside a SOAP Body, with a namespace prefix the request
// uses declared on the Envelope, verifies in place; Verify on the whole envelope does not (its root is not
// the signed element).
func TestVerifyElementInEnvelope(t *testing.T) {
	p := loadPKI(t)
	signed, err := sign.Enveloped(p.Keys["rsa"], requestFiles(t)["Revoke"])
	if err != nil {
		t.Fatal(err)
	}
	// Move the request's xmlns:c declaration up to the Envelope: exclusive c14n renders it where it is used,
	// so the signature still holds.
	const decl = ` xmlns:c="urn:be:fgov:ehealth:certra:core:v2"`
	body := strings.Replace(string(signed), decl, "", 1)
	env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"` + decl + `><soapenv:Header/><soapenv:Body>` +
		body + `</soapenv:Body></soapenv:Envelope>`
	d := etree.NewDocument()
	if err := d.ReadFromString(env); err != nil {
		t.Fatal(err)
	}
	req := d.FindElement("//RevokeRequest")
	v := p.verifier()
	got, err := v.VerifyElement(req)
	if err != nil {
		t.Fatalf("VerifyElement: %v", err)
	}
	if got.Element.Tag != "RevokeRequest" {
		t.Errorf("Element <%s>", got.Element.Tag)
	}
	if _, err := v.Verify([]byte(env)); !errors.Is(err, sign.Malformed) {
		t.Errorf("Verify(envelope): %v", err)
	}
	// A second element with the request's Id elsewhere in the envelope is a wrapping attempt.
	wrapped := strings.Replace(env, `<soapenv:Header/>`, `<soapenv:Header><x Id="`+got.ReferenceID+`"/></soapenv:Header>`, 1)
	d = etree.NewDocument()
	if err := d.ReadFromString(wrapped); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyElement(d.FindElement("//RevokeRequest")); !errors.Is(err, sign.Wrapped) {
		t.Errorf("duplicate Id in the envelope: %v", err)
	}
	// The tree given to VerifyElement is not modified.
	if d.FindElement("//RevokeRequest/Signature") == nil {
		t.Error("VerifyElement changed its input")
	}
}

func TestVerifyIntermediatesPool(t *testing.T) {
	p := loadPKI(t)
	signed, err := sign.Enveloped(p.Keys["rsa"], requestFiles(t)["GetActorQualities"])
	if err != nil {
		t.Fatal(err)
	}
	// Only the leaf in X509Data: the CA has to come from Intermediates.
	onlyLeaf := strings.Replace(string(signed), "<ds:X509Certificate>"+b64(p.CA.Raw)+"</ds:X509Certificate>", "", 1)
	v := p.verifier()
	if _, err := v.Verify([]byte(onlyLeaf)); !errors.Is(err, sign.UntrustedChain) {
		t.Errorf("%v, want UntrustedChain", err)
	}
	v.Intermediates = x509.NewCertPool()
	v.Intermediates.AddCert(p.CA)
	if _, err := v.Verify([]byte(onlyLeaf)); err != nil {
		t.Error(err)
	}
}

func TestReasonStrings(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range []sign.Reason{sign.Malformed, sign.MissingSignature, sign.Wrapped, sign.WrongAlgorithm,
		sign.BadDigest, sign.BadSignature, sign.UntrustedChain, sign.Expired} {
		s := r.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "Reason(") {
			t.Errorf("Reason %d: %q", int(r), s)
		}
		seen[s] = true
	}
	err := &sign.VerifyError{Reason: sign.BadDigest, Err: errors.New("detail")}
	if !errors.Is(err, sign.BadDigest) || errors.Is(err, sign.BadSignature) || !strings.Contains(err.Error(), "detail") {
		t.Errorf("VerifyError: %v", err)
	}
}

// TestVerifyDigestAndSignatureReasons: one byte changed in the signed content gives BadDigest (the digest
// is computed and compared by the Verifier, not recognised in another library's error text); a change in
// SignedInfo (the DigestValue itself) or in the SignatureValue gives BadSignature.
func TestVerifyDigestAndSignatureReasons(t *testing.T) {
	p := loadPKI(t)
	v := p.verifier()
	for _, kn := range []string{"rsa", "p256", "p384"} {
		signed, err := sign.Enveloped(p.Keys[kn], requestFiles(t)["GenerateCertificate"])
		if err != nil {
			t.Fatal(err)
		}
		s := string(signed)
		sigAt := strings.Index(s, "<ds:Signature")
		dv := strings.Index(s, "<ds:DigestValue>") + len("<ds:DigestValue>")
		sv := strings.Index(s, "<ds:SignatureValue>") + len("<ds:SignatureValue>")
		flip := func(i int) string {
			b := []byte(s)
			switch c := b[i]; {
			case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
				b[i]++
			default:
				b[i] = 'A'
			}
			return string(b)
		}
		cases := []struct {
			name string
			doc  string
			want sign.Reason
		}{
			{"a byte of text", flip(strings.Index(s, "+32 2 555 01 23") + 4), sign.BadDigest},
			{"a byte of an attribute value", flip(strings.Index(s, `IssueInstant="`) + len(`IssueInstant="`) + 3), sign.BadDigest},
			{"a byte of an element name", strings.ReplaceAll(s, "c:PhonePrivate>", "c:PhonoPrivate>"), sign.BadDigest},
			{"a space before the Signature", s[:sigAt] + " " + s[sigAt:], sign.BadDigest},
			{"a byte of the DigestValue", flip(dv + 5), sign.BadSignature},
			{"a byte of the SignatureValue", flip(sv + 10), sign.BadSignature},
		}
		for _, c := range cases {
			if c.doc == s {
				t.Fatalf("%s/%s: nothing changed", kn, c.name)
			}
			_, err := v.Verify([]byte(c.doc))
			var ve *sign.VerifyError
			if !errors.As(err, &ve) || ve.Reason != c.want {
				t.Errorf("%s/%s: %v, want %s", kn, c.name, err, c.want)
			}
		}
	}
}
