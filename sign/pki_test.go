package sign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/sign/internal/ecdsasig"
	"github.com/ehcert/ehcert/sign/internal/excc14n"
)

// -update regenerates testdata/pki, testdata/wrapping and the fuzz seeds (go test ./sign -run TestGenerate -update).
var update = flag.Bool("update", false, "regenerate sign/testdata")

// testNow is the time at which the committed test certificates are checked (they are valid 2020–2120, except
// expired.pem, valid in 2020 only).
var testNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func testClock() time.Time { return testNow }

// testPKI is the committed test PKI (TEST KEYS ONLY): root (RSA) → Test Citizen CA (P-384) → leaves.
type testPKI struct {
	Root, CA *x509.Certificate
	// Leaves: rsa (RSA-2048), rsa2 (another RSA-2048), p256, p384, expired (the rsa key, expired cert),
	// rsa1024 (weak), evil (RSA-2048 under an untrusted root with the same name as Root).
	Keys  map[string]sign.Key
	Roots *x509.CertPool
	Dir   string
}

var pkiNames = []string{"rsa", "rsa2", "p256", "p384", "expired", "rsa1024", "evil"}

func loadPKI(t testing.TB) *testPKI {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "pki"))
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{Keys: map[string]sign.Key{}, Dir: dir}
	p.Root = readCert(t, filepath.Join(dir, "root.pem"))
	p.CA = readCert(t, filepath.Join(dir, "ca.pem"))
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(p.Root)
	for _, n := range pkiNames {
		keyPEM, err := os.ReadFile(filepath.Join(dir, n+".key"))
		if err != nil {
			t.Fatal(err)
		}
		chainPEM, err := os.ReadFile(filepath.Join(dir, n+".chain.pem"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := sign.LoadPEM(keyPEM, chainPEM)
		if err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
		p.Keys[n] = k
	}
	return p
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *testPKI) verifier() *sign.Verifier {
	return &sign.Verifier{Roots: p.Roots, Now: testClock}
}

// generatePKI writes testdata/pki. Run only with -update.
func generatePKI(t *testing.T) {
	dir := filepath.Join("testdata", "pki")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	notBefore := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2120, 1, 1, 0, 0, 0, 0, time.UTC)
	serial := int64(1000)
	mk := func(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		if tmpl.NotBefore.IsZero() {
			tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
		}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rsaKey := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecKey := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"ehcert tests"}, Country: []string{"BE"}},
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
	}
	leafTmpl := func(cn, serialNumber string) *x509.Certificate {
		return &x509.Certificate{
			Subject:  pkix.Name{CommonName: cn, SerialNumber: serialNumber, Country: []string{"BE"}},
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
	}
	rootKey := rsaKey(2048)
	root := mk(ca("ehcert Test Root CA"), rootKey.Public(), nil, rootKey)
	caKey := ecKey(elliptic.P384())
	caTmpl := ca("ehcert Test Citizen CA")
	caTmpl.MaxPathLenZero = true
	caCert := mk(caTmpl, caKey.Public(), root, rootKey)

	evilRootKey := ecKey(elliptic.P256())
	evilRoot := mk(ca("ehcert Test Root CA"), evilRootKey.Public(), nil, evilRootKey)

	writePEM := func(name string, blocks ...*pem.Block) {
		var out []byte
		for _, b := range blocks {
			out = append(out, pem.EncodeToMemory(b)...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	certBlock := func(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }
	keyBlock := func(k crypto.Signer) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	writePEM("root.pem", certBlock(root))
	writePEM("ca.pem", certBlock(caCert))
	writePEM("evil-root.pem", certBlock(evilRoot))

	aliceRSA := rsaKey(2048)
	leaves := []struct {
		name       string
		key        crypto.Signer
		tmpl       *x509.Certificate
		parent     *x509.Certificate
		parentKey  crypto.Signer
		chainExtra []*x509.Certificate
	}{
		{"rsa", aliceRSA, leafTmpl("Alice Test (Authentication)", "71715100070"), caCert, caKey, []*x509.Certificate{caCert, root}},
		{"rsa2", rsaKey(2048), leafTmpl("Carol Test (Signature)", "83020300123"), caCert, caKey, []*x509.Certificate{caCert}},
		{"p256", ecKey(elliptic.P256()), leafTmpl("Alice Test (Signature)", "71715100070"), caCert, caKey, []*x509.Certificate{caCert}},
		{"p384", ecKey(elliptic.P384()), leafTmpl("Bob Test (Signature)", "69061200233"), caCert, caKey, []*x509.Certificate{caCert}},
		{"expired", aliceRSA, func() *x509.Certificate {
			c := leafTmpl("Alice Test (Authentication, expired)", "71715100070")
			c.NotBefore, c.NotAfter = notBefore, notBefore.AddDate(1, 0, 0)
			return c
		}(), caCert, caKey, []*x509.Certificate{caCert}},
		{"rsa1024", rsaKey(1024), leafTmpl("Weak Test", "71715100070"), caCert, caKey, []*x509.Certificate{caCert}},
		{"evil", rsaKey(2048), leafTmpl("Alice Test (Authentication)", "71715100070"), evilRoot, evilRootKey, []*x509.Certificate{evilRoot}},
	}
	for _, l := range leaves {
		c := mk(l.tmpl, l.key.Public(), l.parent, l.parentKey)
		writePEM(l.name+".key", keyBlock(l.key))
		blocks := []*pem.Block{certBlock(c)}
		for _, x := range l.chainExtra {
			blocks = append(blocks, certBlock(x))
		}
		writePEM(l.name+".chain.pem", blocks...)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte(
		"TEST KEYS ONLY - generated by `go test ./sign -run TestGenerateTestdata -update` (pki_test.go).\n"+
			"root.pem (RSA-2048) -> ca.pem (P-384) -> rsa, rsa2, p256, p384, expired (rsa key, valid 2020 only), rsa1024.\n"+
			"evil-root.pem (P-256, same name as root.pem, untrusted) -> evil.\n"+
			"<name>.key is PKCS#8; <name>.chain.pem is the leaf then its issuers (rsa.chain.pem also holds the root).\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pemChain returns the PEM of the named key's chain as Chain() gives it (leaf, then CA; no root).
func pemChain(t testing.TB, p *testPKI, name string) []byte {
	t.Helper()
	var out []byte
	for _, c := range p.Keys[name].Chain() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

type inspectedForTest struct {
	id, qname   string
	end         int
	selfClosing bool
}

// inspectForTest finds the root Id and the offset of the root's end tag.
func inspectForTest(doc []byte) (inspectedForTest, error) {
	_, r, err := excc14n.AppendRoot(nil, doc)
	if err != nil {
		return inspectedForTest{}, err
	}
	return inspectedForTest{id: r.RootID, qname: r.RootQName, end: r.End, selfClosing: r.SelfClosing}, nil
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rawToDERForTest(raw []byte) ([]byte, error) { return ecdsasig.RawToDER(raw) }
