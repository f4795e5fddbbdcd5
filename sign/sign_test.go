package sign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/sign"
)

func TestEnvelopedOnlyAddsSignature(t *testing.T) {
	p := loadPKI(t)
	for name, payload := range requestFiles(t) {
		for _, kn := range interopKeys {
			orig := append([]byte(nil), payload...)
			signed, err := sign.Enveloped(p.Keys[kn], payload)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, kn, err)
			}
			if string(orig) != string(payload) {
				t.Fatalf("%s: the payload slice was modified", name)
			}
			assertOnlySignatureAdded(t, payload, signed)
		}
	}
}

// TestEnvelopedStructure checks the shape of the Signature against the cookbook (§4.3.2) and FACTS §5.
func TestEnvelopedStructure(t *testing.T) {
	p := loadPKI(t)
	payload := requestFiles(t)["GenerateCertificate"]
	for kn, want := range map[string]struct {
		method string
		sigLen int
	}{"rsa": {sign.AlgRSASHA256, 256}, "p256": {sign.AlgECDSASHA256, 64}, "p384": {sign.AlgECDSASHA384, 96}} {
		signed, err := sign.Enveloped(p.Keys[kn], payload)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(signed); err != nil {
			t.Fatal(err)
		}
		root := doc.Root()
		kids := root.ChildElements()
		sig := kids[len(kids)-1]
		if sig.Tag != "Signature" || sig.NamespaceURI() != "http://www.w3.org/2000/09/xmldsig#" {
			t.Fatalf("%s: last child is <%s>", kn, sig.FullTag())
		}
		alg := func(path string) string {
			el := sig.FindElement(path)
			if el == nil {
				t.Fatalf("%s: no %s", kn, path)
			}
			return el.SelectAttrValue("Algorithm", "")
		}
		if got := alg("./SignedInfo/CanonicalizationMethod"); got != sign.AlgExcC14N {
			t.Errorf("%s: c14n %s", kn, got)
		}
		if sig.FindElement("./SignedInfo/CanonicalizationMethod/*") != nil {
			t.Errorf("%s: CanonicalizationMethod has a prefix list", kn)
		}
		if got := alg("./SignedInfo/SignatureMethod"); got != want.method {
			t.Errorf("%s: method %s, want %s", kn, got, want.method)
		}
		refs := sig.FindElements("./SignedInfo/Reference")
		if len(refs) != 1 || refs[0].SelectAttrValue("URI", "") != "#"+root.SelectAttrValue("Id", "?") {
			t.Errorf("%s: references %d, URI %q", kn, len(refs), refs[0].SelectAttrValue("URI", ""))
		}
		var transforms []string
		for _, tr := range sig.FindElements("./SignedInfo/Reference/Transforms/Transform") {
			transforms = append(transforms, tr.SelectAttrValue("Algorithm", ""))
		}
		if strings.Join(transforms, " ") != sign.AlgEnveloped+" "+sign.AlgExcC14N {
			t.Errorf("%s: transforms %q", kn, transforms)
		}
		if got := alg("./SignedInfo/Reference/DigestMethod"); got != sign.AlgSHA256 {
			t.Errorf("%s: digest %s", kn, got)
		}
		sv, err := base64.StdEncoding.DecodeString(sig.FindElement("./SignatureValue").Text())
		if err != nil || len(sv) != want.sigLen {
			t.Errorf("%s: SignatureValue of %d bytes, want %d (ECDSA: raw r||s, not DER)", kn, len(sv), want.sigLen)
		}
		var certs []string
		for _, c := range sig.FindElements("./KeyInfo/X509Data/X509Certificate") {
			certs = append(certs, c.Text())
		}
		if len(sig.FindElements("./KeyInfo/*")) != 1 || len(certs) != 2 ||
			certs[0] != b64(p.Keys[kn].Chain()[0].Raw) || certs[1] != b64(p.CA.Raw) {
			t.Errorf("%s: X509Data should hold the leaf then the CA, root excluded; got %d certificates", kn, len(certs))
		}
	}
}

// TestRootExcludedFromChain: rsa.chain.pem holds leaf, CA and root; the root never reaches KeyInfo.
func TestRootExcludedFromChain(t *testing.T) {
	p := loadPKI(t)
	chain := p.Keys["rsa"].Chain()
	if len(chain) != 2 || !chain[1].Equal(p.CA) {
		t.Fatalf("Chain() has %d certificates", len(chain))
	}
	signed, err := sign.Enveloped(p.Keys["rsa"], requestFiles(t)["GetActorQualities"])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(signed), b64(p.Root.Raw)) {
		t.Error("the root CA is in the signature")
	}
}

func TestEnvelopedPayloadErrors(t *testing.T) {
	p := loadPKI(t)
	key := p.Keys["rsa"]
	signed, err := sign.Enveloped(key, requestFiles(t)["GetActorQualities"])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, payload string
		want          error
	}{
		{"no Id", `<R xmlns="urn:r"><a/></R>`, sign.ErrNoID},
		{"empty Id", `<R Id=""/>`, sign.ErrNoID},
		{"prefixed Id only", `<R xmlns:w="urn:w" w:Id="_a"/>`, sign.ErrNoID},
		{"Id with a quote", `<R Id="_a&quot;b"/>`, sign.ErrBadID},
		{"Id starting with a digit", `<R Id="1a"/>`, sign.ErrBadID},
		{"already signed", string(signed), sign.ErrAlreadySigned},
		{"not XML", `not xml`, nil},
		{"unclosed", `<R Id="_a">`, nil},
		{"DOCTYPE", `<!DOCTYPE R><R Id="_a"/>`, nil},
		{"duplicate attribute", `<R Id="_a" Id="_b"/>`, nil},
		{"Latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><R Id="_a"/>`, nil},
		{"empty", ``, nil},
	} {
		_, err := sign.Enveloped(key, []byte(c.payload))
		var pe *sign.PayloadError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a *PayloadError", c.name, err)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestNonASCIINames: names outside ASCII are canonicalized by the same canonicalizer (there is no other),
// and the signature verifies.
func TestNonASCIINames(t *testing.T) {
	p := loadPKI(t)
	v := p.verifier()
	for _, doc := range []string{
		`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_s1" IssueInstant="2026-01-01T00:00:00Z"><Zoë>x</Zoë></GetActorQualitiesRequest>`,
		"\xEF\xBB\xBF" + `<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_s2" IssueInstant="2026-01-01T00:00:00Z"><SSIN Type="SSIN" naïve="1">1</SSIN></GetActorQualitiesRequest>`,
	} {
		signed, err := sign.Enveloped(p.Keys["rsa"], []byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		assertOnlySignatureAdded(t, []byte(doc), signed)
		if _, err := v.Verify(signed); err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

// TestEnvelopedRefusesWhatItCannotCanonicalize: the signer has one canonicalizer, the spec-conformant one.
// Input it refuses is a *PayloadError, never signed through a second implementation whose canonical form
// could differ from the platform's (goxmldsig accepted all of these through etree).
func TestEnvelopedRefusesWhatItCannotCanonicalize(t *testing.T) {
	p := loadPKI(t)
	const open = `<R xmlns="urn:r" Id="_a">`
	deep := open + strings.Repeat("<a>", 256) + strings.Repeat("</a>", 256) + `</R>`
	var many strings.Builder
	for i := range 257 {
		fmt.Fprintf(&many, ` a%d="1"`, i)
	}
	for name, doc := range map[string]string{
		"257 nested elements":        deep,
		"257 attributes":             `<R xmlns="urn:r" Id="_a"><x` + many.String() + `/></R>`,
		"]]> in text":                open + `a]]>b</R>`,
		"prefix undeclared":          open + `<x xmlns:p=""/></R>`,
		"relative namespace URI":     `<R xmlns="r" Id="_a"/>`,
		"namespace URI with a space": `<R xmlns="urn:a b" Id="_a"/>`,
		"undeclared prefix":          open + `<p:x/></R>`,
		"text after the root":        open + `</R>x`,
		"xml prefix on an element":   open + `<xml:x/></R>`,
	} {
		_, err := sign.Enveloped(p.Keys["rsa"], []byte(doc))
		var pe *sign.PayloadError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a *PayloadError", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "at byte") {
			t.Errorf("%s: %q does not say where", name, err)
		}
	}
}

func TestNewKeyChecks(t *testing.T) {
	p := loadPKI(t)
	rsaLeaf := p.Keys["rsa"].Chain()[0]
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := sign.NewKey(ecKey, []*x509.Certificate{rsaLeaf}); !errorsAs[*sign.KeyMismatchError](err) {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := sign.NewKey(ecKey, nil); !errors.Is(err, sign.ErrNoCertificate) {
		t.Errorf("no chain: %v", err)
	}
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if _, err := sign.NewKey(p521, []*x509.Certificate{rsaLeaf}); !errorsAs[*sign.UnsupportedKeyError](err) {
		t.Errorf("P-521: %v", err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := sign.NewKey(ed, []*x509.Certificate{rsaLeaf}); !errorsAs[*sign.UnsupportedKeyError](err) {
		t.Errorf("Ed25519: %v", err)
	}
	if _, err := sign.NewKey(nil, []*x509.Certificate{rsaLeaf}); err == nil {
		t.Error("nil signer accepted")
	}
	// A caller's own crypto.Signer (here: an opaque wrapper, as a KMS would be) signs and verifies; its
	// signatures are checked once after signing.
	k, err := sign.NewKey(opaque{p.Keys["p384"]}, p.Keys["p384"].Chain())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := sign.Enveloped(k, requestFiles(t)["GetActorQualities"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.verifier().Verify(signed); err != nil {
		t.Error(err)
	}
	// A signer whose signatures do not verify is caught before the request leaves.
	bad, err := sign.NewKey(wrongSigner{opaque{p.Keys["rsa"]}, p.Keys["rsa2"]}, p.Keys["rsa"].Chain())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Enveloped(bad, requestFiles(t)["GetActorQualities"]); err == nil {
		t.Error("a signature by the wrong key went unnoticed")
	}
}

func errorsAs[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// opaque hides the concrete key type, as an HSM or KMS signer would.
type opaque struct{ s crypto.Signer }

func (o opaque) Public() crypto.PublicKey { return o.s.Public() }
func (o opaque) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

// wrongSigner claims one public key and signs with another.
type wrongSigner struct {
	opaque
	other crypto.Signer
}

func (w wrongSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return w.other.Sign(r, d, opts)
}

func TestLoadPEMFormats(t *testing.T) {
	p := loadPKI(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(p.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parse := func(name string) crypto.Signer {
		blk, _ := pem.Decode(read(name))
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k.(crypto.Signer)
	}
	rsaKey := parse("rsa.key").(*rsa.PrivateKey)
	ecKey := parse("p384.key").(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	// The chain file lists root, CA and leaf in the wrong order: LoadPEM orders them.
	shuffled := append(append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CA.Raw})...), pemChain(t, p, "rsa")[:0]...)
	rsaLeafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Keys["rsa"].Chain()[0].Raw})
	p384LeafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Keys["p384"].Chain()[0].Raw})
	for _, c := range []struct {
		name          string
		keyPEM, chain []byte
		leaf          *x509.Certificate
	}{
		{"PKCS#8", read("rsa.key"), append(append([]byte(nil), shuffled...), rsaLeafPEM...), p.Keys["rsa"].Chain()[0]},
		{"PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
			append(append([]byte(nil), rsaLeafPEM...), shuffled...), p.Keys["rsa"].Chain()[0]},
		{"SEC1 with EC PARAMETERS", append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 5, 43, 129, 4, 0, 34}}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), append(append([]byte(nil), shuffled...), p384LeafPEM...), p.Keys["p384"].Chain()[0]},
		{"combined file", append(read("p384.key"), append(append([]byte(nil), shuffled...), p384LeafPEM...)...), nil, p.Keys["p384"].Chain()[0]},
	} {
		k, err := sign.LoadPEM(c.keyPEM, c.chain)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		chain := k.Chain()
		if len(chain) != 2 || !chain[0].Equal(c.leaf) || !chain[1].Equal(p.CA) {
			t.Errorf("%s: chain of %d, want leaf then CA", c.name, len(chain))
		}
	}

	encrypted := []*pem.Block{
		{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}},
		{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}},
	}
	for _, b := range encrypted {
		if _, err := sign.LoadPEM(pem.EncodeToMemory(b), read("rsa.chain.pem")); !errors.Is(err, sign.ErrEncryptedPEM) {
			t.Errorf("%s: %v, want ErrEncryptedPEM", b.Type, err)
		}
	}
	if _, err := sign.LoadPEM(read("rsa.key"), read("p384.chain.pem")); !errors.Is(err, sign.ErrNoCertificate) {
		t.Errorf("no matching certificate: %v", err)
	}
	if _, err := sign.LoadPEM(nil, read("rsa.chain.pem")); err == nil {
		t.Error("no key accepted")
	}
	if _, err := sign.LoadPEM(append(read("rsa.key"), read("p384.key")...), read("rsa.chain.pem")); err == nil {
		t.Error("two keys accepted")
	}
}

func TestKeyStringHidesSecrets(t *testing.T) {
	p := loadPKI(t)
	s := fmt.Sprint(p.Keys["rsa"])
	if !strings.Contains(s, "Alice Test") || strings.Contains(s, "PRIVATE") || len(s) > 200 {
		t.Errorf("String() = %q", s)
	}
}

func TestEnvelopedContextCancelled(t *testing.T) {
	p := loadPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sign.EnvelopedContext(ctx, p.Keys["rsa"], requestFiles(t)["GetActorQualities"]); !errors.Is(err, context.Canceled) {
		t.Errorf("%v, want context.Canceled", err)
	}
}
