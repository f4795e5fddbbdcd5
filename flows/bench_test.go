package flows_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/flows"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/xsd"
)

// benchKDFIterations is the pending-key PBKDF2 cost in both benchmarks (the same at-rest work on both sides).
const benchKDFIterations = 1000

// BenchmarkCreateFlow runs whole create processes (organisation, a new application id each time) against an
// in-process ehealthtest platform (in memory, its Handler served over TLS on loopback by an httptest server
// that times it), with keys generated in advance and no polling delay, once with a DirStore (durable writes,
// fsynced: the price of crash safety) and once with a MemStore. Each reports, per process:
//
//   - x-crypto: its time divided by that of the same client cryptography without HTTP
//     (BenchmarkCreateFlowCryptoOnly's work, measured after it in the same run; crypto-ms/op);
//   - server-ms/op: the time spent inside the platform's handler. The platform runs in this process, so its own
//     work is part of the flow's time: verifying four XML signatures and their chains, issuing the
//     certificate, the challenge, the ETK's CMS signature, and its XML parsing and marshalling;
//   - x-crypto-client: (time − server time) / crypto time, the client's cost alone;
//   - files/op and writes/op: the files written, and the writes made durable one after the other (a Put, or a
//     group of a PutFiles; a DirStore syncs the directory once for each, and the files of one PutFiles all at
//     once).
func BenchmarkCreateFlow(b *testing.B) {
	b.Run("store=dir", func(b *testing.B) {
		benchCreate(b, func(b *testing.B) flows.Store { return flows.DirStore(b.TempDir()) })
	})
	b.Run("store=mem", func(b *testing.B) {
		benchCreate(b, func(*testing.B) flows.Store { return &flows.MemStore{} })
	})
}

func benchCreate(b *testing.B, newStore func(*testing.B) flows.Store) {
	// A platform in memory (not durable: its own state is not written to disk after each call), its handler
	// timed.
	srv := ehealthtest.NewServer(b, ehealthtest.WithLogf(func(string, ...any) {}))
	var inServer atomic.Int64
	handler := srv.Handler()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		handler.ServeHTTP(w, r)
		inServer.Add(int64(time.Since(start)))
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	b.Cleanup(ts.Close)
	e := newEnvWith(b, srv)
	e.deps.Environment = ehealth.CustomEnvironment(ts.URL)
	e.deps.SOAP = &soap.Client{HTTPClient: ts.Client()}
	e.deps.KDFIterations = benchKDFIterations
	keys := make(chan *rsa.PrivateKey, 2)
	e.deps.GenerateKey = func(io.Reader) (*rsa.PrivateKey, error) { return <-keys, nil }
	var files, writes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for range 2 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				b.Fatal(err)
			}
			keys <- k
		}
		store := &countingStore{Store: newStore(b)}
		b.StartTimer()
		if _, err := flows.Create(context.Background(), store, orgRequest(fmt.Sprintf("BENCH%d", i)), e.deps); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		files += store.files
		writes += store.writes
		b.StartTimer()
	}
	b.StopTimer()
	// The baseline, measured here in the same process: the crypto of as many processes.
	perFlow := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	perServer := float64(inServer.Load()) / float64(b.N)
	f := newCryptoFixture(b)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f.run(b)
	}
	perCrypto := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(perCrypto/1e6, "crypto-ms/op")
	b.ReportMetric(perServer/1e6, "server-ms/op")
	b.ReportMetric(perFlow/perCrypto, "x-crypto")
	b.ReportMetric((perFlow-perServer)/perCrypto, "x-crypto-client")
	b.ReportMetric(float64(files)/float64(b.N), "files/op")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

// countingStore counts the writes of a process; it keeps the store's batching and locking.
type countingStore struct {
	flows.Store
	files, writes int64
}

func (s *countingStore) Put(ctx context.Context, name string, data []byte) error {
	s.files++
	s.writes++
	return s.Store.Put(ctx, name, data)
}

func (s *countingStore) PutFiles(ctx context.Context, groups ...[]flows.File) error {
	for _, g := range groups {
		if len(g) > 0 {
			s.files += int64(len(g))
			s.writes++
		}
	}
	return s.Store.(flows.BatchStore).PutFiles(ctx, groups...)
}

func (s *countingStore) Lock(ctx context.Context) (func(), error) {
	if l, ok := s.Store.(flows.Locker); ok {
		return l.Lock(ctx)
	}
	return func() {}, nil
}

// BenchmarkCreateFlowCryptoOnly does the client-side cryptography of one create process, without HTTP, XML
// transport or server: the XML signatures (eID Authentication, eID Signature, twice the new authentication
// key), the CSR, the at-rest encryption of the two pending keys, the challenge decryption, the encryption
// certificate, parsing the ETK, and encoding the keystore twice and reading it back once.
func BenchmarkCreateFlowCryptoOnly(b *testing.B) {
	f := newCryptoFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.run(b)
	}
}

type cryptoFixture struct {
	eidAuth, eidSig           sign.Key
	authKey, encKey, caKey    *rsa.PrivateKey
	authCert, caCert          *x509.Certificate
	dn                        string
	qualities, genCert, start []byte
	complete                  []byte
	challenge                 []byte
	etkDER                    []byte
}

func newCryptoFixture(b *testing.B) *cryptoFixture {
	e := newEnv(b)
	f := &cryptoFixture{eidAuth: e.eid.Authentication, eidSig: e.eid.Signature}
	var err error
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	f.authKey, err = pooledKey(nil)
	must(err)
	f.encKey, _ = pooledKey(nil)
	f.caKey, _ = pooledKey(nil)
	f.dn = `CN=CBE\=0123456749\, BENCH,OU=eHealth-platform Belgium,OU=EHEALTHTEST CLINIC,OU=CBE\=0123456749,OU=BENCH,O=Federal Government,C=BE`
	// An authentication certificate as the platform would issue it (server side: not timed).
	ca := &x509.Certificate{SerialNumber: bigOne(), Subject: pkixName("bench CA"), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour * 24 * 365), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &f.caKey.PublicKey, f.caKey)
	must(err)
	f.caCert, _ = x509.ParseCertificate(der)
	csr, err := certreq.NewCSR(rand.Reader, f.authKey, f.dn)
	must(err)
	req, _ := x509.ParseCertificateRequest(csr)
	der, err = x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: bigOne(), RawSubject: req.RawSubject,
		NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		f.caCert, &f.authKey.PublicKey, f.caKey)
	must(err)
	f.authCert, _ = x509.ParseCertificate(der)
	// The requests as the clients marshal them.
	marshal := func(v any) []byte {
		b, err := xml.Marshal(v)
		must(err)
		return b
	}
	now := xsd.NewDateTime(time.Now())
	f.qualities = marshal(&gencertra.GetActorQualitiesRequest{Id: "_q", IssueInstant: now, SSIN: &gencertra.IdType{Type: "SSIN", Value: ehealthtest.DefaultCitizenSSIN}})
	f.genCert = marshal(&gencertra.GenerateCertificateRequest{Id: "_g", IssueInstant: now, EHealthCSR: &gencertra.EHealthCertificateSigningRequestType{
		ContactData: &gencertra.ContactDataType{EmailPrivate: "a@b.c", PhonePrivate: "1"}, CSR: csr,
		Contract: &gencertra.ContractType{DN: f.dn, Text: &gencertra.TextType{Value: []gencertra.LocalizedString{{Lang: "en", Value: "<html>contract text of a realistic length ... </html>"}}}}}})
	spki, _ := x509.MarshalPKIXPublicKey(&f.encKey.PublicKey)
	f.start = marshal(&genetkra.StartETKRegistrationRequest{Id: "_s", IssueInstant: now, PublicEncryptionKey: spki})
	f.challenge, _, err = etk.NewChallenge(rand.Reader, &f.encKey.PublicKey)
	must(err)
	serial, err := etk.SolveChallenge(f.encKey, f.challenge)
	must(err)
	enc, err := etk.NewEncryptionCertificate(rand.Reader, f.authKey, f.authCert, &f.encKey.PublicKey, serial)
	must(err)
	f.complete = marshal(&genetkra.CompleteETKRegistrationRequest{Id: "_c", IssueInstant: now, ToBeRegistered: enc})
	f.etkDER, err = etk.Build(enc, []*x509.Certificate{f.authCert, f.caCert}, f.caKey, f.caCert)
	must(err)
	return f
}

func (f *cryptoFixture) run(b *testing.B) {
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err := sign.Enveloped(f.eidAuth, f.qualities)
	must(err)
	csr, err := certreq.NewCSR(rand.Reader, f.authKey, f.dn)
	must(err)
	_ = csr
	must(flows.SealKeys(testPassword, benchKDFIterations, f.authKey, f.encKey))
	_, err = sign.Enveloped(f.eidSig, f.genCert)
	must(err)
	authSigner, err := sign.NewKey(f.authKey, []*x509.Certificate{f.authCert, f.caCert})
	must(err)
	ks := &keystore.Keystore{}
	must(ks.SetAuthentication(f.authKey, []*x509.Certificate{f.authCert, f.caCert}))
	must(ks.AddTrustedChain([]*x509.Certificate{f.authCert, f.caCert}))
	_, err = keystore.Encode(rand.Reader, ks, []byte(testPassword))
	must(err)
	_, err = sign.Enveloped(authSigner, f.start)
	must(err)
	serial, err := etk.SolveChallenge(f.encKey, f.challenge)
	must(err)
	encDER, err := etk.NewEncryptionCertificate(rand.Reader, f.authKey, f.authCert, &f.encKey.PublicKey, serial)
	must(err)
	_, err = sign.Enveloped(authSigner, f.complete)
	must(err)
	_, err = etk.Parse(f.etkDER)
	must(err)
	encCert, err := x509.ParseCertificate(encDER)
	must(err)
	must(ks.AddEncryptionKey(f.encKey, encCert))
	out, err := keystore.Encode(rand.Reader, ks, []byte(testPassword))
	must(err)
	_, err = keystore.Decode(out, []byte(testPassword))
	must(err)
}

func bigOne() *big.Int { return big.NewInt(1) }

func pkixName(cn string) pkix.Name { return pkix.Name{CommonName: cn} }
