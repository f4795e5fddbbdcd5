package etk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"
)

// The test PKI is generated once per test binary: RSA key generation is slow.
var (
	// fixtureTime is the validation time of the fixtures: inside every default validity period.
	fixtureTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	caFrom    = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caUntil   = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	authFrom  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	authUntil = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

var (
	rsaKeysOnce sync.Once
	rsaKeys     []*rsa.PrivateKey
)

// rsaKey returns the i-th pre-generated RSA-2048 key (0 <= i < 8).
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	rsaKeysOnce.Do(func() {
		var wg sync.WaitGroup
		rsaKeys = make([]*rsa.PrivateKey, 8)
		for i := range rsaKeys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err == nil {
					rsaKeys[i] = k
				}
			}()
		}
		wg.Wait()
	})
	if rsaKeys[i] == nil {
		t.Fatal("RSA key generation failed")
	}
	return rsaKeys[i]
}

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serialCounter struct {
	sync.Mutex
	n int64
}

func nextSerial() *big.Int {
	serialCounter.Lock()
	defer serialCounter.Unlock()
	serialCounter.n++
	return big.NewInt(1000 + serialCounter.n)
}

// issue signs tmpl with parentKey under parent (nil parent: self-signed) and returns the parsed certificate.
func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = nextSerial()
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatalf("issuing %v: %v", tmpl.Subject, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caTemplate is a CA certificate template valid from caFrom to caUntil.
func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ehcert test"}, Country: []string{"BE"}},
		NotBefore:             caFrom,
		NotAfter:              caUntil,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// rawDN encodes a DN from (type, value) pairs in the given order, every value as a UTF8String (utf8) or as a
// PrintableString.
func rawDN(t testing.TB, utf8 bool, pairs ...[2]string) []byte {
	t.Helper()
	oids := map[string]asn1.ObjectIdentifier{"C": {2, 5, 4, 6}, "O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "CN": {2, 5, 4, 3}, "SERIALNUMBER": {2, 5, 4, 5}}
	var seq pkix.RDNSequence
	for _, p := range pairs {
		tag := asn1.TagPrintableString
		if utf8 && p[0] != "C" {
			tag = asn1.TagUTF8String
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oids[p[0]], Value: asn1.RawValue{Tag: tag, Bytes: []byte(p[1])}}})
	}
	der, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// holderDN is an eHealth DN in the connector's DER order (FACTS §7): C, O, OU=TYPE=id, OU=NAME,
// OU=eHealth-platform Belgium, CN.
func holderDNPairs(typ, id, name string) [][2]string {
	return [][2]string{{"C", "BE"}, {"O", "Federal Government"}, {"OU", typ + "=" + id}, {"OU", name},
		{"OU", "eHealth-platform Belgium"}, {"CN", typ + "=" + id}}
}

func reversed(p [][2]string) [][2]string {
	out := make([][2]string, len(p))
	for i := range p {
		out[len(p)-1-i] = p[i]
	}
	return out
}

// testPKI holds a holder PKI (root, issuing CA) and an ETK-RA PKI (root, signer).
type testPKI struct {
	rootKey, caKey *rsa.PrivateKey
	root, ca       *x509.Certificate

	raRootKey, raKey *rsa.PrivateKey
	raRoot, ra       *x509.Certificate

	// An ECDSA P-384 holder PKI, like the UAT ZetesConfidens CA 002.
	ecRootKey, ecCAKey *ecdsa.PrivateKey
	ecRoot, ecCA       *x509.Certificate
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{rootKey: rsaKey(t, 0), caKey: rsaKey(t, 1), raRootKey: rsaKey(t, 2), raKey: rsaKey(t, 3)}
		p.root = issue(t, caTemplate("Test Holder Root"), nil, &p.rootKey.PublicKey, p.rootKey)
		p.ca = issue(t, caTemplate("Test Holder CA"), p.root, &p.caKey.PublicKey, p.rootKey)
		p.raRoot = issue(t, caTemplate("Test ETK-RA Root"), nil, &p.raRootKey.PublicKey, p.raRootKey)
		p.ra = issue(t, raTemplate(caFrom, caUntil), p.raRoot, &p.raKey.PublicKey, p.raRootKey)
		p.ecRootKey, p.ecCAKey = ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384())
		p.ecRoot = issue(t, caTemplate("Test ECDSA Root"), nil, &p.ecRootKey.PublicKey, p.ecRootKey)
		p.ecCA = issue(t, caTemplate("Test ECDSA CA"), p.ecRoot, &p.ecCAKey.PublicKey, p.ecRootKey)
		pki = p
	})
	if pki == nil {
		t.Fatal("test PKI generation failed")
	}
	return pki
}

func raTemplate(from, until time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:   pkix.Name{CommonName: "ETK-RA", OrganizationalUnit: []string{"eHealth-platform Belgium"}, Organization: []string{"Federal Government"}, Country: []string{"BE"}},
		NotBefore: from,
		NotAfter:  until,
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
}

// authTemplate is an eHealth authentication certificate template for CBE=0123456789 / TESTHOLDER.
func authTemplate(t testing.TB) *x509.Certificate {
	return &x509.Certificate{
		RawSubject:            rawDN(t, true, holderDNPairs("CBE", "0123456789", "TESTHOLDER")...),
		NotBefore:             authFrom,
		NotAfter:              authUntil,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
}
