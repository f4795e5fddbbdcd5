package etkdepot

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ehcert/ehcert/etk"
)

// testPKI is a root CA, an intermediate CA and two holders (RSA 2048 and ECDSA P-384, like the old and new
// eHealth PKIs), all valid from 2020 to 2040.
type testPKI struct {
	root, inter       *x509.Certificate
	rootKey, interKey crypto.Signer
	rsaLeaf, ecLeaf   *x509.Certificate
	rsaKey            *rsa.PrivateKey
	ecKey             *ecdsa.PrivateKey
	roots             *x509.CertPool
	expiredLeaf       *x509.Certificate // RSA, issued by inter, valid 2020-2021
	expiredLeafKey    *rsa.PrivateKey

	// Encryption certificates as eHealth builds them (FACTS §8): subject = issuer = the holder's
	// authentication subject, signed by the authentication key, keyEncipherment + dataEncipherment only.
	rsaEnc, ecEnc, expiredEnc *x509.Certificate // of rsaLeaf, ecLeaf, expiredLeaf
	rsaEncKey, expiredEncKey  *rsa.PrivateKey
	ecEncKey                  *ecdsa.PrivateKey // P-384, like the encryption keys of the new acceptance PKI
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

// refTime is a moment at which every certificate of the test PKI except expiredLeaf is valid.
var refTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki = newTestPKI() })
	return pki
}

func newTestPKI() *testPKI {
	p := &testPKI{}
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	p.rootKey = mustEC(elliptic.P256())
	p.root = mustCert(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "Test eHealth Root CA", Organization: []string{"Federal Government"}, Country: []string{"BE"}},
		NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, p.rootKey.Public(), p.rootKey)
	p.interKey = mustEC(elliptic.P256())
	p.inter = mustCert(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "Test eHealth issuing CA", Organization: []string{"Federal Government"}, Country: []string{"BE"}},
		NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, p.root, p.interKey.Public(), p.rootKey)
	var err error
	p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.rsaLeaf = mustCert(leafTemplate("CBE=0406798006", from, to), p.inter, &p.rsaKey.PublicKey, p.interKey)
	p.ecKey = mustEC(elliptic.P384()).(*ecdsa.PrivateKey)
	p.ecLeaf = mustCert(leafTemplate("CBE=0406798006, UHMEP", from, to), p.inter, &p.ecKey.PublicKey, p.interKey)
	p.expiredLeafKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p.expiredLeaf = mustCert(leafTemplate("CBE=0406798006", from, from.AddDate(1, 0, 0)), p.inter, &p.expiredLeafKey.PublicKey, p.interKey)
	p.rsaEncKey = mustRSA()
	p.rsaEnc = mustEncCert(p.rsaKey, p.rsaLeaf, &p.rsaEncKey.PublicKey)
	p.ecEncKey = mustEC(elliptic.P384()).(*ecdsa.PrivateKey)
	p.ecEnc = mustEncCert(p.ecKey, p.ecLeaf, &p.ecEncKey.PublicKey)
	p.expiredEncKey = mustRSA()
	p.expiredEnc = mustEncCert(p.expiredLeafKey, p.expiredLeaf, &p.expiredEncKey.PublicKey)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root)
	return p
}

// mustEncCert makes an encryption certificate for encPub and the holder of auth the way the connector does
// (etk.NewEncryptionCertificate).
func mustEncCert(authKey crypto.Signer, auth *x509.Certificate, encPub crypto.PublicKey) *x509.Certificate {
	der, err := etk.NewEncryptionCertificate(rand.Reader, authKey, auth, encPub, big.NewInt(serial.Add(1)))
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

var serial atomic.Int64

func leafTemplate(cn string, from, to time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"eHealth-platform Belgium"},
			Organization: []string{"Federal Government"}, Country: []string{"BE"}},
		NotBefore: from, NotAfter: to, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
	}
}

func mustEC(c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

// jwkJSON renders a public key with its chain as a JWK object (a map, so that tests can tamper with members).
func jwkJSON(t testing.TB, kid, use string, pub crypto.PublicKey, chain ...*x509.Certificate) map[string]any {
	t.Helper()
	sum := sha256.Sum256(chain[0].Raw)
	k := jose.JSONWebKey{Key: pub, KeyID: kid, Use: use, Certificates: chain, CertificateThumbprintSHA256: sum[:]}
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jwksJSON(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// etkItem renders one etkInfo object of GET /etks.
func etkItem(typ, value, appID string, etk []byte) map[string]any {
	key := map[string]any{strings.ToLower(typ): value}
	if appID != "" {
		key["applicationIdentifier"] = appID
	}
	return map[string]any{"key": key, "value": base64.StdEncoding.EncodeToString(etk)}
}

// depot is a loopback stand-in for the ETK depot: handler answers, every request is counted and recorded.
type depot struct {
	*httptest.Server
	mu       sync.Mutex
	handler  http.HandlerFunc
	requests []*http.Request
	count    atomic.Int64
}

func newDepot(t testing.TB, h http.HandlerFunc) *depot {
	t.Helper()
	d := &depot{handler: h}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.count.Add(1)
		d.mu.Lock()
		d.requests = append(d.requests, r.Clone(context.Background()))
		h := d.handler
		d.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *depot) setHandler(h http.HandlerFunc) {
	d.mu.Lock()
	d.handler = h
	d.mu.Unlock()
}

func (d *depot) lastRequest(t testing.TB) *http.Request {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.requests) == 0 {
		t.Fatal("no request reached the depot")
	}
	return d.requests[len(d.requests)-1]
}

// serveJSON answers every request with status and body.
func serveJSON(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}

// clock is a settable clock for Client.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// validateAll is a ValidateETK that accepts any ETK starting with the byte 0x30 (a DER SEQUENCE) and records
// what it was asked.
type recorder struct {
	mu    sync.Mutex
	wants []Identity
}

func (r *recorder) validate(raw []byte, want Identity) error {
	r.mu.Lock()
	r.wants = append(r.wants, want)
	r.mu.Unlock()
	if len(raw) == 0 || raw[0] != 0x30 {
		return errNotCMS
	}
	return nil
}

var errNotCMS = &DecodeError{Op: "test validator", Reason: "not a CMS structure"}

// fakeETK returns bytes that the recorder's validator accepts.
func fakeETK(tag string) []byte { return append([]byte{0x30, 0x80}, tag...) }

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
