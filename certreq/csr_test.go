package certreq

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/internal/testenv"
)

var (
	keyOnce sync.Once
	key2048 *rsa.PrivateKey
)

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		key2048, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return key2048
}

const contractDN = `CN=NIHII-HOSPITAL=71000436\, MY_APP,OU=eHealth-platform Belgium,OU=HOPITAL SAINT-LUC,OU=NIHII-HOSPITAL=71000436,OU=MY_APP,O=Federal Government,C=BE`

func TestNewCSR(t *testing.T) {
	key := testKey(t)
	der, err := NewCSR(rand.Reader, key, contractDN)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := CheckCSR(der, EscapeContractDN(contractDN))
	if err != nil {
		t.Fatal(err)
	}
	if csr.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature algorithm %v", csr.SignatureAlgorithm)
	}
	if len(csr.Extensions) != 0 || len(csr.Attributes) != 0 { //nolint:staticcheck // checking that none are present
		t.Errorf("CSR carries attributes or extensions")
	}
	// The attributes field is present and empty: [0] { }.
	var req struct {
		Info struct {
			Version    int
			Subject    asn1.RawValue
			SPKI       asn1.RawValue
			Attributes asn1.RawValue `asn1:"tag:0"`
		}
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Info.Attributes.Bytes) != 0 {
		t.Errorf("attributes = %x", req.Info.Attributes.Bytes)
	}
	// Subject: DER order C ... CN, C PrintableString, the app id (with '_') UTF8String.
	raw, err := parseRawName(csr.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	types := []asn1.ObjectIdentifier{OIDCountry, OIDOrganization, OIDOrganizationalUnit, OIDOrganizationalUnit, OIDOrganizationalUnit, OIDOrganizationalUnit, OIDCommonName}
	tags := []int{asn1.TagPrintableString, asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagPrintableString, asn1.TagPrintableString, asn1.TagUTF8String}
	if len(raw) != len(types) {
		t.Fatalf("subject has %d RDNs", len(raw))
	}
	for i := range raw {
		if !raw[i][0].Type.Equal(types[i]) || raw[i][0].Value.Tag != tags[i] {
			t.Errorf("RDN %d: %v tag %d, want %v tag %d", i, raw[i][0].Type, raw[i][0].Value.Tag, types[i], tags[i])
		}
	}
	// Go's own parser agrees.
	if csr.Subject.CommonName != "NIHII-HOSPITAL=71000436, MY_APP" || csr.Subject.Country[0] != "BE" {
		t.Errorf("subject %v", csr.Subject)
	}
}

func TestNewCSRRejectsUnsuitableKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var ke *KeyError
	if _, err := NewCSR(rand.Reader, small, contractDN); !errors.As(err, &ke) {
		t.Errorf("RSA-1024: %v", err)
	}
	if _, err := NewCSR(rand.Reader, ec, contractDN); !errors.As(err, &ke) {
		t.Errorf("ECDSA: %v", err)
	}
	var pe *ParseError
	if _, err := NewCSR(rand.Reader, testKey(t), "CN=a,,C=BE"); !errors.As(err, &pe) {
		t.Errorf("bad DN: %v", err)
	}
}

func csrCode(err error) string {
	var ce *CSRError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func TestCheckCSRNegative(t *testing.T) {
	key := testKey(t)
	good, err := NewCSR(rand.Reader, key, contractDN)
	if err != nil {
		t.Fatal(err)
	}

	badSig := bytes.Clone(good)
	badSig[len(badSig)-5] ^= 0x40

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := ParseDN(contractDN)
	rawSubject, _ := MarshalDN(subject, EncodingX500Principal)
	weak, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: rawSubject}, small)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: rawSubject}, ec)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.SHA256WithRSA}, key)
	if err != nil {
		t.Fatal(err)
	}
	otherDN := strings.Replace(contractDN, "71000436", "71000437", 2)
	nonEHealth, err := NewCSR(rand.Reader, key, "CN=John,O=Acme,C=BE")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		der      []byte
		expected string
		code     string
	}{
		{"garbage", []byte("not a CSR"), contractDN, CodeCSRNotValid},
		{"truncated", good[:len(good)-10], contractDN, CodeCSRNotValid},
		{"bad signature", badSig, contractDN, CodeCSRSignatureNotValid},
		{"RSA-1024", weak, contractDN, CodeCSRPublicKeyInvalid},
		{"ECDSA", ecCSR, contractDN, CodeCSRPublicKeyInvalid},
		{"no subject", empty, contractDN, CodeCSRNoSubject},
		{"wrong DN", good, otherDN, CodeCSRDNInvalid},
		{"RDN order reversed", good, "C=BE,O=Federal Government,OU=MY_APP,OU=NIHII-HOSPITAL=71000436,OU=HOPITAL SAINT-LUC,OU=eHealth-platform Belgium,CN=NIHII-HOSPITAL=71000436\\, MY_APP", CodeCSRDNInvalid},
		{"not an eHealth DN", nonEHealth, "", CodeCSRDNInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckCSR(tc.der, tc.expected)
			if got := csrCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.code) {
				t.Errorf("error text %q lacks the code", err)
			}
		})
	}

	// A well-formed eHealth DN passes without an expected DN (the foreigner case).
	foreigner, _ := ForeignerSubject("98765432109", "Müller", "Jürgen").DN()
	fcsr, err := NewCSR(rand.Reader, key, foreigner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckCSR(fcsr, ""); err != nil {
		t.Errorf("foreigner CSR: %v", err)
	}
	// A caller's unparsable expected DN is a ParseError, not a CSR refusal.
	var pe *ParseError
	if _, err := CheckCSR(good, "CN=,,"); !errors.As(err, &pe) {
		t.Errorf("bad expected DN: %v", err)
	}
}

func TestOpenSSLVerifiesCSR(t *testing.T) {
	openssl := testenv.Require(t, "openssl")
	der, err := NewCSR(rand.Reader, testKey(t), contractDN)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "req.der")
	if err := os.WriteFile(p, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-verify", "-noout", "-inform", "DER", "-in", p, "-subject", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req -verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "verify OK") && !strings.Contains(string(out), "Certificate request self-signature verify OK") {
		t.Errorf("openssl output: %s", out)
	}
	if !strings.Contains(string(out), `subject=CN=NIHII-HOSPITAL=71000436\, MY_APP,OU=eHealth-platform Belgium,OU=HOPITAL SAINT-LUC,OU=NIHII-HOSPITAL=71000436,OU=MY_APP,O=Federal Government,C=BE`) {
		t.Errorf("openssl subject: %s", out)
	}
}

// skiSHA1 computes the key id the way a reader of RFC 5280 §4.2.1.2 (1) would, independently of the code under test.
func skiSHA1(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	s := sha1.Sum(spki.Key.Bytes)
	return s[:]
}

func TestPublicKeyIdentifier(t *testing.T) {
	key := testKey(t)
	pki, err := PublicKeyIdentifier(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if len(pki) != 20 {
		t.Fatalf("length %d", len(pki))
	}

	// A certificate Go generates with an explicit method-1 SKI (Go 1.25+ would otherwise use truncated SHA-256).
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ski"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, SubjectKeyId: pki,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if !bytes.Equal(skiSHA1(t, cert), pki) {
		t.Errorf("PublicKeyIdentifier %x differs from SHA-1 of the certificate's key bits %x", pki, skiSHA1(t, cert))
	}
	fromSPKI, err := PublicKeyIdentifierFromSPKI(cert.RawSubjectPublicKeyInfo)
	if err != nil || !bytes.Equal(fromSPKI, pki) {
		t.Errorf("PublicKeyIdentifierFromSPKI = %x, %v", fromSPKI, err)
	}

	// The CSR's key gives the same identifier (what GenerateCertificate returns).
	csrDER, _ := NewCSR(rand.Reader, key, contractDN)
	csr, _ := x509.ParseCertificateRequest(csrDER)
	fromCSR, _ := PublicKeyIdentifier(csr.PublicKey)
	if !bytes.Equal(fromCSR, pki) {
		t.Errorf("CSR key id %x != %x", fromCSR, pki)
	}

	// ECDSA keys (newer acceptance PKI) work too.
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if id, err := PublicKeyIdentifier(ec.Public()); err != nil || len(id) != 20 {
		t.Errorf("ECDSA: %x %v", id, err)
	}
	if _, err := PublicKeyIdentifier(struct{}{}); err == nil {
		t.Error("unsupported key accepted")
	}
	if _, err := PublicKeyIdentifierFromSPKI([]byte{0x30, 0x01}); err == nil {
		t.Error("garbage SPKI accepted")
	}
}

// The K1-style check on real certificates: each CA and holder certificate of the reference vectors that carries a
// SubjectKeyIdentifier has SKI = PublicKeyIdentifier (the eHealth PKI uses method 1).
func TestPublicKeyIdentifierOnRealCertificates(t *testing.T) {
	dir := testenv.Shared(t, "reference/etk-vectors/certs")
	var checked int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pem") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if len(cert.SubjectKeyId) == 0 {
				continue
			}
			got, err := PublicKeyIdentifier(cert.PublicKey)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if !bytes.Equal(got, cert.SubjectKeyId) {
				t.Errorf("%s: PublicKeyIdentifier %x, SKI %x", filepath.Base(p), got, cert.SubjectKeyId)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range etkCertificates(t, "testkit/alice-2014-sha256.etk") {
		if len(c.SubjectKeyId) == 0 {
			continue
		}
		if got, _ := PublicKeyIdentifier(c.PublicKey); !bytes.Equal(got, c.SubjectKeyId) {
			t.Errorf("%s: PublicKeyIdentifier %x, SKI %x", c.Subject, got, c.SubjectKeyId)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d certificates checked", checked)
	}
}

func TestOpenSSLSKIMatches(t *testing.T) {
	openssl := testenv.Require(t, "openssl")
	dir := t.TempDir()
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, testKey(t))})
	if err := os.WriteFile(filepath.Join(dir, "k.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-new", "-x509", "-key", filepath.Join(dir, "k.pem"), "-subj", "/CN=ski",
		"-days", "1", "-outform", "DER", "-out", filepath.Join(dir, "c.der")).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	der, _ := os.ReadFile(filepath.Join(dir, "c.der"))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := PublicKeyIdentifier(testKey(t).Public())
	if !bytes.Equal(got, cert.SubjectKeyId) {
		t.Errorf("PublicKeyIdentifier %x, openssl SKI %x", got, cert.SubjectKeyId)
	}
}

func mustPKCS8(t *testing.T, k any) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Go computes a method-1 (SHA-1) SubjectKeyIdentifier for a CA certificate when GODEBUG x509sha256skid=0; it
// equals PublicKeyIdentifier. (Since Go 1.25 the default is the truncated SHA-256 of RFC 7093, which eHealth does
// not use, so callers issuing test certificates must set SubjectKeyId themselves.)
func TestPublicKeyIdentifierEqualsGoSHA1SKI(t *testing.T) {
	t.Setenv("GODEBUG", "x509sha256skid=0")
	key := testKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "go ski"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	got, _ := PublicKeyIdentifier(key.Public())
	if !bytes.Equal(cert.SubjectKeyId, got) {
		t.Errorf("Go SKI %x, PublicKeyIdentifier %x", cert.SubjectKeyId, got)
	}
}
