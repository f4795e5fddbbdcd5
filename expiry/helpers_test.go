package expiry_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/keystore"
)

const testPassword = "test keystore password"

// t0 is when the test certificates start; they end three years later.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// pki is a small test PKI: a CA, and authentication certificates with their encryption certificates.
type pki struct {
	t      testing.TB
	caKey  crypto.Signer
	ca     *x509.Certificate
	serial int64
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t testing.TB) *pki {
	k := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test eHealth CA", Country: []string{"BE"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &pki{t: t, caKey: k, ca: ca, serial: 100}
}

// ehealthSubject is an eHealth organisation DN (FACTS §7).
func ehealthSubject(cbe string) pkix.Name {
	return pkix.Name{
		Country: []string{"BE"}, Organization: []string{"Federal Government"},
		OrganizationalUnit: []string{"eHealth-platform Belgium", "TEST CLINIC", "CBE=" + cbe},
		CommonName:         "CBE=" + cbe,
	}
}

// entry is a key with its certificate.
type entry struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// auth issues an authentication certificate valid from notBefore for three years.
func (p *pki) auth(subject pkix.Name, notBefore time.Time) entry {
	p.serial++
	k := newKey(p.t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: subject,
		NotBefore: notBefore, NotAfter: notBefore.AddDate(3, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, k.Public(), p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return entry{k, c}
}

// enc builds the encryption certificate of FACTS §8 for auth: same subject and issuer, same validity,
// keyEncipherment|dataEncipherment, signed with the authentication key.
func (p *pki) enc(auth entry) entry {
	k := newKey(p.t)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial, RawSubject: auth.cert.RawSubject, RawIssuer: auth.cert.RawSubject,
		NotBefore: auth.cert.NotBefore, NotAfter: auth.cert.NotAfter,
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	parent := &x509.Certificate{RawSubject: auth.cert.RawSubject, Subject: auth.cert.Subject, PublicKey: auth.cert.PublicKey}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), auth.key)
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		p.t.Fatal(err)
	}
	return entry{k, c}
}

// etkFor builds an ETK for an encryption certificate, signed by a throw-away ETK-RA key under the CA.
func (p *pki) etkFor(auth, enc entry) []byte {
	p.serial++
	k := newKey(p.t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: "ETK-RA", Country: []string{"BE"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(9, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, k.Public(), p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	signer, _ := x509.ParseCertificate(der)
	raw, err := etk.Build(enc.cert.Raw, []*x509.Certificate{auth.cert, p.ca}, k, signer)
	if err != nil {
		p.t.Fatal(err)
	}
	return raw
}

// keystoreFile encodes ks with testPassword into a file and returns its path.
func keystoreFile(t testing.TB, ks *keystore.Keystore) string {
	t.Helper()
	data, err := keystore.Encode(rand.Reader, ks, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "CBE=0123456749 20240301-100000.p12")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// connectorKeystore is a keystore as the connector writes it: the authentication key with its chain and one
// encryption key under its decimal serial.
func connectorKeystore(t testing.TB, p *pki, auth, enc entry) *keystore.Keystore {
	t.Helper()
	ks := &keystore.Keystore{}
	if err := ks.SetAuthentication(auth.key, []*x509.Certificate{auth.cert, p.ca}); err != nil {
		t.Fatal(err)
	}
	if err := ks.AddEncryptionKey(enc.key, enc.cert); err != nil {
		t.Fatal(err)
	}
	if err := ks.AddTrustedChain([]*x509.Certificate{auth.cert, p.ca}); err != nil {
		t.Fatal(err)
	}
	return ks
}
