package ehealthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest/internal/pki"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// The default test citizen (NewServer creates them; Server.Citizen returns them).
const (
	DefaultCitizenSSIN      = "85073003328"
	DefaultCitizenFirstName = "Alice"
	DefaultCitizenLastName  = "Peeters"
)

// DefaultOrganization is the organisation the default citizen manages.
var DefaultOrganization = Organization{Type: "CBE", ID: "0123456749", Name: "EHEALTHTEST CLINIC"}

// Options configure a Server. The zero value is a working configuration.
type Options struct {
	// Addr is the listening address; default "127.0.0.1:0" (a loopback port the system picks).
	Addr string
	// StateDir, when set, makes the server durable: its PKI, citizens and state are loaded from this
	// directory when present and written to it (atomically) after every change. See the layout near
	// stateFile in state.go: state.json, roots.pem, tls-roots.pem, pki/, citizens/.
	StateDir string
	// Clock is the platform's clock; default NewClock() (the real time). In durable mode its offset is
	// restored from the state.
	Clock *Clock
	// IssueAfterPolls is the GetCertificate call that delivers an approved certificate: 1 (the default) delivers
	// at the first call, 3 answers CERT_NOT_YET_DELIVERED twice and delivers at the third.
	IssueAfterPolls int
	// IssueDelay is the minimum time (on Clock) between approval and delivery; default 0.
	IssueDelay time.Duration
	// ManualValidation, when set, is asked for every organisation certificate request that would otherwise be
	// validated automatically (type and id of the organisation); returning true makes it wait for Approve.
	// Requests for organisations the signer does not manage always need Approve.
	ManualValidation func(idType, id string) bool
	// ReplacementPeriod is the period before a certificate's expiry during which it may be replaced;
	// default 90 days.
	ReplacementPeriod time.Duration
	// CertificateValidity is the validity of issued authentication certificates; default 3 years.
	CertificateValidity time.Duration
	// MaxRequestAge is how old a signed request's IssueInstant may be; default 5 minutes. MaxClockSkew is how
	// far in the future it may be; default 5 minutes.
	MaxRequestAge, MaxClockSkew time.Duration
	// ForeignerURLValidity is the validity of a foreigner's validation URL; default 30 days.
	ForeignerURLValidity time.Duration
	// MaxRecorded is how many exchanges Requests keeps (the oldest are dropped); default 10000.
	MaxRecorded int
	// Logf, when set, receives one line per exchange (operation and outcome; never bodies or keys).
	Logf func(format string, args ...any)
	// Rand is the source of randomness for keys, serials and challenges; default crypto/rand.
	Rand io.Reader
	// EIDKeyType is the kind of key of the test citizens' software eIDs: the default citizen's and those
	// NewCitizen and AddCitizen create (NewCitizenWithKeyType chooses per citizen). The default is RSA2048;
	// ECDSAP384 makes eIDs like current Belgian cards, signing with ecdsa-sha384. When the server generates
	// its PKI, the test eID CA gets a key of this type too (and then signs the eID certificates with
	// ecdsa-with-SHA384). A durable server loaded from Options.StateDir keeps the PKI and citizens it saved.
	EIDKeyType KeyType
}

// An Option changes the Options of NewServer.
type Option func(*Options)

// WithStateDir makes the server durable in dir (Options.StateDir).
func WithStateDir(dir string) Option { return func(o *Options) { o.StateDir = dir } }

// WithClock sets the platform's clock (Options.Clock).
func WithClock(c *Clock) Option { return func(o *Options) { o.Clock = c } }

// WithIssueAfterPolls sets Options.IssueAfterPolls.
func WithIssueAfterPolls(n int) Option { return func(o *Options) { o.IssueAfterPolls = n } }

// WithManualValidation sets Options.ManualValidation.
func WithManualValidation(f func(idType, id string) bool) Option {
	return func(o *Options) { o.ManualValidation = f }
}

// WithEIDKeyType sets Options.EIDKeyType: ehealthtest.WithEIDKeyType(ehealthtest.ECDSAP384) gives the default
// citizen (and the test eID CA) ECDSA P-384 keys.
func WithEIDKeyType(k KeyType) Option { return func(o *Options) { o.EIDKeyType = k } }

// WithLogf sets Options.Logf.
func WithLogf(f func(format string, args ...any)) Option { return func(o *Options) { o.Logf = f } }

func (o *Options) setDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	if o.IssueAfterPolls <= 0 {
		o.IssueAfterPolls = 1
	}
	if o.ReplacementPeriod <= 0 {
		o.ReplacementPeriod = 90 * 24 * time.Hour
	}
	if o.CertificateValidity <= 0 {
		o.CertificateValidity = 3 * 365 * 24 * time.Hour
	}
	if o.MaxRequestAge <= 0 {
		o.MaxRequestAge = 5 * time.Minute
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = 5 * time.Minute
	}
	if o.ForeignerURLValidity <= 0 {
		o.ForeignerURLValidity = 30 * 24 * time.Hour
	}
	if o.MaxRecorded <= 0 {
		o.MaxRecorded = 10000
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
}

// Server is a local eHealth platform: CertRA v2 (URL+"/CertRa/v2"), EtkRA v2 (URL+"/EtkRa/v2") and the ETK
// Depot REST API (URL+"/etee/v1"), over TLS, with its own test PKI.
type Server struct {
	// URL is the base URL, "https://127.0.0.1:port", without a trailing slash. Set by Start.
	URL string

	opts  Options
	clock *Clock

	// PKI.
	root, ehealthCA, eidCA, etkra, tlsCA *pki.CA
	tlsCert                              tls.Certificate

	mu          sync.Mutex // guards state, citizenKeys
	state       platformState
	citizenKeys map[string][2]crypto.Signer // SSIN -> authentication, signature

	faultMu sync.Mutex
	faults  map[string]*faultState

	recMu    sync.Mutex
	recorded []RecordedRequest

	handler  http.Handler
	listener net.Listener
	srv      *http.Server
	started  bool
	closing  chan struct{}
	closeMu  sync.Mutex
	closed   bool
	serveErr chan error
	inflight sync.WaitGroup
	client   *http.Client
}

// NewServer starts a platform for a test: TLS on a loopback port, closed by t.Cleanup. It fails the test when
// the server cannot start. Logs go to t.Logf unless an option sets Logf.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := Options{Logf: t.Logf}
	for _, f := range opts {
		f(&o)
	}
	s, err := NewUnstartedServer(o)
	if err != nil {
		t.Fatalf("ehealthtest: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("ehealthtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewUnstartedServer builds a platform without starting it: its PKI is generated (or loaded from
// Options.StateDir) and the default citizen exists, but nothing listens until Start. Use it outside tests (the
// simulator, the demo) or to mount Handler in your own server.
func NewUnstartedServer(o Options) (*Server, error) {
	o.setDefaults()
	if !o.EIDKeyType.valid() {
		return nil, fmt.Errorf("ehealthtest: unknown eID key type %v", o.EIDKeyType)
	}
	s := &Server{opts: o, clock: o.Clock, citizenKeys: map[string][2]crypto.Signer{}, closing: make(chan struct{})}
	if o.StateDir != "" {
		ok, err := s.load()
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := s.initPKI(); err != nil {
				return nil, err
			}
			if err := s.savePKI(); err != nil {
				return nil, err
			}
		}
	} else if err := s.initPKI(); err != nil {
		return nil, err
	}
	if s.state.citizen(DefaultCitizenSSIN) == nil {
		if _, err := s.addCitizen(s.opts.EIDKeyType, DefaultCitizenSSIN, DefaultCitizenFirstName, DefaultCitizenLastName, []Organization{DefaultOrganization}); err != nil {
			return nil, err
		}
	}
	s.handler = s.routes()
	return s, nil
}

// eidCAKey is the index of the test eID CA's key in initPKI.
const eidCAKey = 2

// initPKI generates the hierarchy: a root; under it the eHealth issuing CA (which issues authentication
// certificates and the ETK-RA certificate), the test eID CA (citizens' certificates; its key is of
// Options.EIDKeyType); and a separate TLS CA.
func (s *Server) initPKI() error {
	r := s.opts.Rand
	keys := make([]crypto.Signer, 6)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == eidCAKey {
				keys[i], errs[i] = s.opts.EIDKeyType.newKey(r)
				return
			}
			k, err := pki.NewKey(r)
			keys[i], errs[i] = k, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ehealthtest: generate keys: %w", err)
	}
	now := s.clock.Now().Truncate(time.Second)
	start := now.Add(-2 * 365 * 24 * time.Hour)
	const year = 365 * 24 * time.Hour
	var err error
	var tagBytes [2]byte
	if _, err := io.ReadFull(r, tagBytes[:]); err != nil {
		return fmt.Errorf("ehealthtest: %w", err)
	}
	tag := fmt.Sprintf("%X", tagBytes[:]) // tells apart the PKIs of two servers
	if s.root, err = pki.NewRootWithKey(r, keys[0], pkix.Name{Country: []string{"BE"}, Organization: []string{"ehealthtest"},
		CommonName: "ehealthtest Root CA " + tag}, start, 40*year); err != nil {
		return err
	}
	if s.ehealthCA, err = s.root.NewIntermediateWithKey(r, keys[1], pkix.Name{Country: []string{"BE"},
		Organization: []string{"ehealthtest"}, SerialNumber: "001",
		CommonName: "ehealthtest eHealth issuing CA " + tag}, start, 30*year); err != nil {
		return err
	}
	if s.eidCA, err = s.root.NewIntermediateWithKey(r, keys[eidCAKey], pkix.Name{Country: []string{"BE"},
		SerialNumber: "202601", CommonName: "ehealthtest Citizen CA " + tag}, start, 30*year); err != nil {
		return err
	}
	etkraCert, err := s.ehealthCA.Issue(r, &x509.Certificate{
		Subject: pkix.Name{Country: []string{"BE"}, Organization: []string{"Federal Government"},
			OrganizationalUnit: []string{"eHealth-platform Belgium"}, CommonName: "ETK-RA"},
		NotBefore: start, NotAfter: start.Add(25 * year),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}, keys[3].Public())
	if err != nil {
		return err
	}
	s.etkra = &pki.CA{Cert: etkraCert, Key: keys[3]}
	if s.tlsCA, err = pki.NewRootWithKey(r, keys[4], pkix.Name{Organization: []string{"ehealthtest"},
		CommonName: "ehealthtest TLS CA " + tag}, start, 40*year); err != nil {
		return err
	}
	tlsLeaf, err := s.tlsCA.Issue(r, &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"ehealthtest"}, CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   start, NotAfter: start.Add(30 * year),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, keys[5].Public())
	if err != nil {
		return err
	}
	s.tlsCert = tls.Certificate{Certificate: [][]byte{tlsLeaf.Raw, s.tlsCA.Cert.Raw}, PrivateKey: keys[5], Leaf: tlsLeaf}
	return nil
}

// savePKI writes the PKI of a new durable server, then the (empty) state.
func (s *Server) savePKI() error {
	dir := s.opts.StateDir
	for _, d := range []string{dir, filepath.Join(dir, pkiDir), filepath.Join(dir, citizensDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("ehealthtest: %w", err)
		}
	}
	tlsLeaf := &pki.CA{Cert: s.tlsCert.Leaf, Key: s.tlsCert.PrivateKey.(crypto.Signer)}
	for name, ca := range map[string]*pki.CA{"root": s.root, "ehealth-ca": s.ehealthCA, "eid-ca": s.eidCA,
		"etkra": s.etkra, "tls-ca": s.tlsCA, "tls": tlsLeaf} {
		if err := writeCA(dir, name, ca); err != nil {
			return fmt.Errorf("ehealthtest: write %s: %w", name, err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, rootsFile), s.RootsPEM(), 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, tlsRootsFile), pki.CertPEM(s.tlsCA.Cert), 0o644); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// load reads a durable server's PKI, citizens and state; ok is false when dir holds no state yet.
func (s *Server) load() (ok bool, err error) {
	dir := s.opts.StateDir
	st, ok, err := loadState(dir)
	if err != nil || !ok {
		return false, err
	}
	cas := map[string]**pki.CA{"root": &s.root, "ehealth-ca": &s.ehealthCA, "eid-ca": &s.eidCA, "etkra": &s.etkra, "tls-ca": &s.tlsCA}
	for name, dst := range cas {
		ca, err := readCA(dir, name)
		if err != nil {
			return false, fmt.Errorf("ehealthtest: load %s: %w", name, err)
		}
		*dst = ca
	}
	tlsLeaf, err := readCA(dir, "tls")
	if err != nil {
		return false, fmt.Errorf("ehealthtest: load tls: %w", err)
	}
	s.tlsCert = tls.Certificate{Certificate: [][]byte{tlsLeaf.Cert.Raw, s.tlsCA.Cert.Raw}, PrivateKey: tlsLeaf.Key, Leaf: tlsLeaf.Cert}
	for _, c := range st.Citizens {
		var keys [2]crypto.Signer
		for i, role := range []string{"authentication", "signature"} {
			data, err := os.ReadFile(filepath.Join(dir, citizensDir, c.SSIN+"-"+role+".key"))
			if err != nil {
				return false, fmt.Errorf("ehealthtest: load citizen key: %w", err)
			}
			if keys[i], err = pki.ParseKeyPEM(data); err != nil {
				return false, fmt.Errorf("ehealthtest: citizen %s %s key: %w", c.SSIN, role, err)
			}
		}
		s.citizenKeys[c.SSIN] = keys
	}
	s.state = *st
	if o := st.ClockOffsetNanos; o != 0 {
		s.clock.setOffset(time.Duration(o))
	}
	return true, nil
}

// Start listens on Options.Addr and serves TLS. It fails when the server was already started.
func (s *Server) Start() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.started {
		return errors.New("ehealthtest: server already started")
	}
	if s.closed {
		return errors.New("ehealthtest: server closed")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		if s.opts.Addr == "127.0.0.1:0" {
			ln, err = net.Listen("tcp6", "[::1]:0")
		}
		if err != nil {
			return fmt.Errorf("ehealthtest: listen: %w", err)
		}
	}
	s.listener = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.tlsCert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}
	s.URL = "https://" + ln.Addr().String()
	s.started = true
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.srv.ServeTLS(ln, "", "") }()
	return nil
}

// Close stops the server: it stops accepting connections, waits for the requests in progress and closes idle
// connections. It may be called more than once.
func (s *Server) Close() {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	srv := s.srv
	s.closeMu.Unlock()
	defer func() {
		// Keep the clock's offset (it changes without requests).
		s.mu.Lock()
		if err := s.saveLocked(); err != nil {
			s.logf("save state: %v", err)
		}
		s.mu.Unlock()
	}()
	if srv != nil {
		srv.Close()
		<-s.serveErr
	}
	s.inflight.Wait()
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
}

// Handler returns the platform's HTTP handler, to mount it in a server of your own. It serves /CertRa/v2,
// /EtkRa/v2, /etee/v1/... and the foreigner validation pages under /foreigner/.
func (s *Server) Handler() http.Handler { return s.handler }

// Environment returns the endpoints of this server (ehealth.CustomEnvironment(URL)).
func (s *Server) Environment() ehealth.Environment { return ehealth.CustomEnvironment(s.URL) }

// Client returns an HTTP client that trusts only this server's TLS certificate (the same client every time; its
// idle connections are closed by Close).
func (s *Server) Client() *http.Client {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.client == nil {
		s.client = &http.Client{Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: s.TLSRoots(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		}}
	}
	return s.client
}

// Certificate returns the server's TLS certificate.
func (s *Server) Certificate() *x509.Certificate { return s.tlsCert.Leaf }

// TLSRoots returns the pool that verifies the server's TLS certificate.
func (s *Server) TLSRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.tlsCA.Cert)
	return pool
}

// TLSRootsPEM returns the TLS CA certificate in PEM.
func (s *Server) TLSRootsPEM() []byte { return pki.CertPEM(s.tlsCA.Cert) }

// Roots returns the trust anchors of the platform's certificates: eHealth authentication certificates, the
// test eID certificates and the ETK-RA certificate all chain to this one root. Give it to ETK validation and to
// signature verification.
func (s *Server) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.root.Cert)
	return pool
}

// RootsPEM returns Roots in PEM (openssl's -CAfile).
func (s *Server) RootsPEM() []byte { return pki.CertPEM(s.root.Cert) }

// RootCertificate returns the platform's root CA certificate.
func (s *Server) RootCertificate() *x509.Certificate { return s.root.Cert }

// IssuingCA returns the certificate of the CA that issues eHealth authentication certificates.
func (s *Server) IssuingCA() *x509.Certificate { return s.ehealthCA.Cert }

// ETKRACertificate returns the certificate of the key that signs published ETKs.
func (s *Server) ETKRACertificate() *x509.Certificate { return s.etkra.Cert }

// Clock returns the platform's clock.
func (s *Server) Clock() *Clock { return s.clock }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("ehealthtest: "+format, args...)
	}
}
