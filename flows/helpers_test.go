package flows_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/soap"
)

const testPassword = "correct horse battery staple"

// keyPool hands out RSA-2048 keys generated once per test binary, so that tests do not spend their time in
// key generation. Within one server a key is never used twice (a server sees at most len(pool) keys from
// one test).
var keyPool struct {
	once sync.Once
	keys []*rsa.PrivateKey
	next atomic.Int64
}

const poolSize = 24

func pooledKey(io.Reader) (*rsa.PrivateKey, error) {
	keyPool.once.Do(func() {
		var wg sync.WaitGroup
		keyPool.keys = make([]*rsa.PrivateKey, poolSize)
		for i := range keyPool.keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				keyPool.keys[i] = k
			}()
		}
		wg.Wait()
	})
	n := keyPool.next.Add(1)
	return keyPool.keys[int(n)%poolSize], nil
}

// keySource returns a GenerateKey that hands out distinct pooled keys (at most poolSize) starting at a
// position of its own, so that parallel tests on different servers share the pool safely.
func keySource() func(io.Reader) (*rsa.PrivateKey, error) {
	pooledKey(nil) // fill the pool
	start := int(keyPool.next.Add(7))
	var n atomic.Int64
	return func(io.Reader) (*rsa.PrivateKey, error) {
		i := n.Add(1)
		if i > poolSize {
			return nil, errors.New("test key pool exhausted for this server")
		}
		return keyPool.keys[(start+int(i))%poolSize], nil
	}
}

// env is a test platform and the Deps of a user of it.
type env struct {
	t    testing.TB
	srv  *ehealthtest.Server
	eid  *ehealthtest.EID
	deps *flows.Deps
	// accepted counts the contracts shown.
	accepted atomic.Int32
	// signatures counts the signatures made with each eID key.
	authSigs, sigSigs *countingKey
	// old is a process result a test case prepared (the certificate to renew or revoke).
	old *flows.Result
}

// countingKey counts the signatures made with an eID key.
type countingKey struct {
	*ehealthtest.Key
	n atomic.Int32
}

func (k *countingKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.n.Add(1)
	return k.Key.Sign(r, digest, opts)
}

// serverTemplate is the state directory of a platform whose PKI and default citizen were generated once;
// each test starts its own server from a copy of it, which skips generating a dozen RSA keys per server.
var serverTemplate struct {
	once sync.Once
	dir  string
	err  error
}

func templateDir(t testing.TB) string {
	serverTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "flows-ehealthtest-template-")
		if err != nil {
			serverTemplate.err = err
			return
		}
		serverTemplate.dir = filepath.Join(dir, "state")
		_, serverTemplate.err = ehealthtest.NewUnstartedServer(ehealthtest.Options{StateDir: serverTemplate.dir})
	})
	if serverTemplate.err != nil {
		t.Fatalf("server template: %v", serverTemplate.err)
	}
	return serverTemplate.dir
}

// newStateDir returns a fresh copy of the template state directory.
func newStateDir(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "platform")
	if err := os.CopyFS(dst, os.DirFS(templateDir(t))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func newEnv(t testing.TB, opts ...ehealthtest.Option) *env {
	t.Helper()
	base := []ehealthtest.Option{ehealthtest.WithLogf(func(string, ...any) {}), ehealthtest.WithStateDir(newStateDir(t))}
	return newEnvWith(t, ehealthtest.NewServer(t, append(base, opts...)...))
}

// newEnvWith is newEnv with a server of the caller's.
func newEnvWith(t testing.TB, srv *ehealthtest.Server) *env {
	e := &env{t: t, srv: srv, eid: srv.Citizen()}
	e.authSigs = &countingKey{Key: e.eid.Authentication}
	e.sigSigs = &countingKey{Key: e.eid.Signature}
	e.deps = &flows.Deps{
		Environment:       srv.Environment(),
		SOAP:              &soap.Client{HTTPClient: srv.Client()},
		EIDAuthentication: e.authSigs,
		EIDSignature:      e.sigSigs,
		Password:          testPassword,
		Accept: func(ctx context.Context, c flows.Contract) (bool, error) {
			e.accepted.Add(1)
			if c.DN == "" || !strings.Contains(c.HTML("en"), "<html>") {
				return false, errors.New("contract without DN or text")
			}
			return true, nil
		},
		PollInterval:  -1,
		Now:           srv.Clock().Now,
		GenerateKey:   keySource(),
		KDFIterations: 1000,
	}
	return e
}

func contact() flows.Contact {
	return flows.Contact{EmailPrivate: "alice@example.test", PhonePrivate: "+32 2 000 00 00"}
}

func personRequest() flows.CreateRequest { return flows.CreateRequest{Contact: contact()} }

func orgRequest(appID string) flows.CreateRequest {
	return flows.CreateRequest{Contact: contact(), ApplicationID: appID, Organization: &flows.OrganizationRequest{
		Type: ehealthtest.DefaultOrganization.Type, ID: ehealthtest.DefaultOrganization.ID}}
}

// registrations returns the server's registrations for a subject.
func (e *env) registrations(typ, id, appID string) []ehealthtest.Registration {
	var out []ehealthtest.Registration
	for _, r := range e.srv.Registrations() {
		if r.SubjectType == typ && r.SubjectID == id && strings.EqualFold(r.ApplicationID, appID) {
			out = append(out, r)
		}
	}
	return out
}

// checkDone checks a finished process: the keystore opens with the password and holds the delivered
// certificate under "authentication" and the encryption key under its serial; the platform has exactly one
// certificate for the subject with an active ETK whose encryption certificate is the keystore's; every key
// the platform knows for the subject is in the keystore.
func (e *env) checkDone(store flows.Store, res *flows.Result, typ, id, appID string) *keystore.Keystore {
	t := e.t
	t.Helper()
	ctx := context.Background()
	st, err := flows.Status(ctx, store)
	if err != nil || !st.Done {
		t.Fatalf("Status = %+v, %v; want done", st, err)
	}
	b, err := store.Get(ctx, flows.FileKeystore)
	if err != nil {
		t.Fatalf("keystore: %v", err)
	}
	ks, err := keystore.Decode(b, []byte(testPassword))
	if err != nil {
		t.Fatalf("keystore does not open: %v", err)
	}
	auth, ok := ks.Authentication()
	if !ok {
		t.Fatal("no authentication entry")
	}
	if res != nil && !auth.Certificate().Equal(res.Certificate) {
		t.Fatal("keystore certificate is not the result's")
	}
	regs := e.registrations(typ, id, appID)
	var active []ehealthtest.Registration
	for _, r := range regs {
		if r.Status == "VALID_ACTIVE" {
			active = append(active, r)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%d valid certificates for %s=%s (%d requests), want 1", len(active), typ, id, len(regs))
	}
	reg := active[0]
	if reg.ETKStatus != "VALID_ACTIVE" {
		t.Fatalf("ETK status %s", reg.ETKStatus)
	}
	if !reg.Certificate.Equal(auth.Certificate()) {
		t.Fatal("the platform's certificate is not the keystore's")
	}
	enc, ok := ks.EncryptionKey(reg.EncryptionCertificate.SerialNumber)
	if !ok {
		t.Fatalf("no encryption key under alias %s", reg.EncryptionCertificate.SerialNumber)
	}
	if !bytes.Equal(enc.Certificate().Raw, reg.EncryptionCertificate.Raw) {
		t.Fatal("encryption certificate differs from the registered one")
	}
	if res != nil && !bytes.Equal(res.ETK, reg.ETK) {
		t.Fatalf("the result's ETK (%d bytes) is not the registered one", len(res.ETK))
	}
	if res != nil && res.EncryptionSerial != reg.EncryptionCertificate.SerialNumber.String() {
		t.Fatalf("result serial %s", res.EncryptionSerial)
	}
	// Every private key the platform knows for this subject (CSR keys and encryption keys) is in the
	// keystore or still pending on disk.
	have := map[string]bool{}
	for _, k := range ks.Keys {
		s, _ := k.Signer()
		spki, _ := x509.MarshalPKIXPublicKey(s.Public())
		have[string(spki)] = true
	}
	for _, r := range regs {
		if r.Status == "REFUSED" {
			continue
		}
		if r.Certificate != nil && !have[string(r.Certificate.RawSubjectPublicKeyInfo)] {
			t.Errorf("the key of certificate %X is not in the keystore", r.PublicKeyIdentifier)
		}
		if r.EncryptionCertificate != nil && !have[string(r.EncryptionCertificate.RawSubjectPublicKeyInfo)] {
			t.Errorf("the encryption key %s is not in the keystore", r.EncryptionCertificate.SerialNumber)
		}
	}
	for _, f := range []string{flows.FileAuthKey, flows.FileEncKey} {
		if _, err := store.Get(ctx, f); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("pending key %s left behind: %v", f, err)
		}
	}
	return ks
}

func pkiHex(c *x509.Certificate) string {
	b, _ := certreq.PublicKeyIdentifier(c.PublicKey)
	return strings.ToUpper(hex.EncodeToString(b))
}

func mustHexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func containsRDN(c *x509.Certificate, value string) bool {
	for _, n := range c.Subject.Names {
		if s, ok := n.Value.(string); ok && s == value {
			return true
		}
	}
	return false
}
