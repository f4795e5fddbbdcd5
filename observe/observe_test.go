package observe_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/observe"
	"github.com/ehcert/ehcert/soap"
)

const password = "Tr0ub4dor&3-keystore-password"

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// secretForms returns the ways a private key could show up in text: PEM/PKCS#8 base64, and the private
// exponent and primes in decimal, hex and base64.
func secretForms(t *testing.T, name string, key any) map[string]string {
	t.Helper()
	out := map[string]string{}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out[name+" PKCS#8 base64"] = base64.StdEncoding.EncodeToString(der)[40:120]
	out[name+" PKCS#8 hex"] = hex.EncodeToString(der)[80:240]
	if k, ok := key.(*rsa.PrivateKey); ok {
		for what, n := range map[string]*big.Int{"D": k.D, "P": k.Primes[0], "Q": k.Primes[1]} {
			out[name+" "+what+" decimal"] = n.String()[:60]
			out[name+" "+what+" hex"] = strings.ToLower(n.Text(16))[:60]
			out[name+" "+what+" HEX"] = strings.ToUpper(n.Text(16))[:60]
			out[name+" "+what+" base64"] = base64.StdEncoding.EncodeToString(n.Bytes())[:60]
			out[name+" "+what+" base64url"] = base64.RawURLEncoding.EncodeToString(n.Bytes())[:60]
		}
	}
	return out
}

// TestNoSecretsInLogs runs a full create process against the local platform with every log ehcert can produce
// captured (the process's logger, the SOAP observer, the ETK Depot round tripper, and slog's default logger),
// then an online expiry check and an ETK lookup, and looks for the password, the private keys, whole
// certificates and request bodies in the output.
func TestNoSecretsInLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a full create process")
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })

	m := observe.NewMetrics()
	obs := &observe.Observer{Logger: logger, Metrics: m}
	srv := ehealthtest.NewServer(t, ehealthtest.WithLogf(func(string, ...any) {}), ehealthtest.WithIssueAfterPolls(2))
	eid := srv.Citizen()
	sc := &soap.Client{HTTPClient: srv.Client(), Observer: obs.Exchange}
	deps := &flows.Deps{
		Environment: srv.Environment(), SOAP: sc,
		EIDAuthentication: eid.Authentication, EIDSignature: eid.Signature,
		Password:     password,
		Accept:       func(context.Context, flows.Contract) (bool, error) { return true, nil },
		PollInterval: -1, Now: srv.Clock().Now, KDFIterations: 1000,
		Logger: logger,
	}
	org := ehealthtest.DefaultOrganization
	res, err := flows.Create(context.Background(), flows.DirStore(t.TempDir()), flows.CreateRequest{
		Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID},
		Contact:      flows.Contact{EmailPrivate: "ops@example.test", PhonePrivate: "+32 2 000 00 00"},
	}, deps)
	if err != nil {
		t.Fatal(err)
	}

	// An online expiry check (signed with the new key) and an ETK lookup through the observed transport.
	hc := &http.Client{Transport: observe.RoundTripper(srv.Client().Transport, logger, m)}
	depot := &etkdepot.Client{BaseURL: srv.Environment().ETKDepot, HTTPClient: hc, Now: srv.Clock().Now,
		Cache: m.InstrumentCache("memory", etkdepot.NewMemoryCache(0)),
		ValidateETK: func(raw []byte, want etkdepot.Identity) error {
			e, err := etk.Parse(raw)
			if err != nil {
				return err
			}
			return e.Validate(etk.ValidateOptions{Time: srv.Clock().Now(), Roots: srv.Roots(), SignerRoots: srv.Roots()})
		}}
	ks, err := keystore.Decode(res.Keystore, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	r, err := expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: srv.Clock().Now(),
		CertRA: &certra.Client{SOAP: sc, Endpoint: srv.Environment().CertRA, Now: srv.Clock().Now}, Depot: depot})
	if err != nil || r.Status != expiry.OK {
		t.Fatalf("check: %v %v %+v", err, r.Status, r.Findings)
	}
	entries, err := depot.ETKs(context.Background(), org.Type, org.ID, "")
	m.ETKLookup(entries, err)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("expiry checked", slog.String("status", r.Status.String()), slog.Any("deps", *deps))

	out := logs.String()
	// The logs say what happened...
	for _, want := range []string{
		"operation=GenerateCertificate", "operation=GetCertificate", "operation=StartETKRegistration",
		"operation=CompleteETKRegistration", "operation=GetCertificateInfoForAuthenticationCertificate",
		"request_id=_", "code=CERT_NOT_YET_DELIVERED", "outcome=pending", "endpoint=etks", "step done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %q", want)
		}
	}
	if n := strings.Count(out, `msg="ehealth call"`); n < 10 {
		t.Errorf("%d SOAP exchanges logged, want at least 10", n)
	}
	// ... and hold no secret.
	secrets := map[string]string{"the password": password, "a PEM private key": "PRIVATE KEY"}
	for _, e := range ks.Keys {
		for k, v := range secretForms(t, "keystore key "+e.Alias, e.Key) {
			secrets[k] = v
		}
	}
	for name, k := range map[string]*ehealthtest.Key{"eID authentication": eid.Authentication, "eID signature": eid.Signature} {
		for kk, v := range secretForms(t, name, k.Signer) {
			secrets[kk] = v
		}
	}
	for i, c := range append(res.Chain, eid.Authentication.Certificate(), eid.Signature.Certificate()) {
		secrets["certificate "+string(rune('0'+i))] = base64.StdEncoding.EncodeToString(c.Raw)[100:200]
	}
	secrets["the ETK"] = base64.StdEncoding.EncodeToString(res.ETK)[100:200]
	for name, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s is in the logs", name)
		}
	}
	// No body: no XML, and no base64 DER (which starts with "MII" for anything over 255 bytes).
	for _, s := range []string{"<", "MII"} {
		if i := strings.Index(out, s); i >= 0 {
			t.Errorf("%q in the logs: ...%s...", s, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if testing.Verbose() {
		t.Logf("%d bytes of logs, e.g.:\n%s", len(out), strings.Join(strings.SplitN(out, "\n", 6)[:5], "\n"))
	}

	// The same run, counted.
	if got := value(m.Errors.WithLabelValues("CertRA", "GetCertificate", "CERT_NOT_YET_DELIVERED")); got != 1 {
		t.Errorf("pending GetCertificate counted %v times, want 1", got)
	}
	if got := value(m.Calls.WithLabelValues("CertRA", "GetCertificate")); got != 2 {
		t.Errorf("GetCertificate calls %v, want 2", got)
	}
	if got := value(m.DepotRequests.WithLabelValues("etks", "200")); got != 1 {
		t.Errorf("depot requests %v, want 1 (the second lookup is cached)", got)
	}
	if h, mi := value(m.CacheEvents.WithLabelValues("memory", "hit")), value(m.CacheEvents.WithLabelValues("memory", "miss")); mi != 1 || h != 0 {
		t.Errorf("cache hits %v misses %v, want 0 and 1 (the second lookup is answered from the client's memory)", h, mi)
	}
	if got := value(m.Lookups.WithLabelValues("fresh")); got != 1 {
		t.Errorf("fresh lookups %v", got)
	}
}

func TestRequestIDAndErrorCode(t *testing.T) {
	if got := observe.RequestID([]byte(`<?xml version="1.0"?><p:GetCertificateRequest xmlns:p="urn:x" Id="_abc-123" IssueInstant="2025-01-01T00:00:00Z"><p:Id>nope</p:Id></p:GetCertificateRequest>`)); got != "_abc-123" {
		t.Errorf("RequestID = %q", got)
	}
	for _, doc := range []string{"", "not xml", `<a x:Id="ns"/>`, `<a><b Id="child"/></a>`} {
		if got := observe.RequestID([]byte(doc)); got != "" {
			t.Errorf("RequestID(%q) = %q", doc, got)
		}
	}
	for want, err := range map[string]error{
		"":                       nil,
		"CERT_NOT_YET_DELIVERED": &soap.StatusError{Details: []soap.Detail{{Code: "CERT_NOT_YET_DELIVERED"}}},
		"SOA-03001":              &soap.Fault{Code: "soapenv:Client", String: "SOA-03001 malformed"},
		"fault":                  &soap.Fault{Code: "soapenv:Server"},
		"http_503":               &soap.HTTPError{StatusCode: 503},
		"transport":              &soap.TransportError{Operation: "X", Err: errors.New("connection refused")},
		"canceled":               &soap.TransportError{Operation: "X", Err: context.Canceled},
		"protocol":               &soap.ProtocolError{Reason: "no body"},
		"response_too_large":     &soap.ResponseTooLargeError{},
		"other":                  errors.New("?"),
	} {
		if got := observe.ErrorCode(err); got != want {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
	for path, want := range map[string]string{
		"/etee/v1/etks": "etks", "/etee/v1/pubKeys/cacerts/jwks": "jwks", "/etee/v1/pubKeys/cacerts/jwks/S123": "jwk",
		"/etee/v1/keyholders/S1": "keyholders", "/x": "other",
	} {
		if got := observe.DepotEndpoint(path); got != want {
			t.Errorf("DepotEndpoint(%s) = %s", path, got)
		}
	}
}

// TestObserverLevels: successes at Info, failures at Warn with their code, nothing from the bodies.
func TestObserverLevels(t *testing.T) {
	var b bytes.Buffer
	obs := &observe.Observer{Logger: slog.New(slog.NewJSONHandler(&b, nil))}
	op := ehealth.GetCertificate
	obs.Exchange(&soap.Exchange{Operation: op, Request: []byte(`<GetCertificateRequest Id="_1">SECRET-BODY</GetCertificateRequest>`),
		Response: []byte("SECRET-RESPONSE"), StatusCode: 200, Duration: 1500 * time.Millisecond})
	obs.Exchange(&soap.Exchange{Operation: op, StatusCode: 503, Err: &soap.HTTPError{Operation: op.Name, StatusCode: 503}})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d records:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[0], `"level":"INFO"`) || !strings.Contains(lines[0], `"request_id":"_1"`) || !strings.Contains(lines[0], `"service":"CertRA"`) {
		t.Errorf("success record: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"level":"WARN"`) || !strings.Contains(lines[1], `"code":"http_503"`) {
		t.Errorf("failure record: %s", lines[1])
	}
	if strings.Contains(b.String(), "SECRET") {
		t.Error("a body is in the log")
	}
	// Chain calls every observer; nil ones are skipped.
	n := 0
	observe.Chain(nil, func(*soap.Exchange) { n++ }, func(*soap.Exchange) { n++ })(&soap.Exchange{})
	if n != 2 {
		t.Errorf("Chain called %d observers", n)
	}
}

func TestRegisterAndHandler(t *testing.T) {
	m := observe.NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	var are prometheus.AlreadyRegisteredError
	if err := m.Register(reg); !errors.As(err, &are) {
		t.Errorf("second Register: %v", err)
	}
	now := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	r := &expiry.Report{Keystore: "/etc/ehealth/ks.p12", Status: expiry.Warning, CheckedAt: now, Items: []expiry.Item{
		{Kind: expiry.KindAuthentication, Alias: "authentication", Current: true, DaysLeft: 45, NotAfter: now.Add(45 * 24 * time.Hour)},
		{Kind: expiry.KindEncryption, Alias: "123", Current: false, DaysLeft: -3, NotAfter: now.Add(-3 * 24 * time.Hour)},
	}}
	m.SetExpiry("", r)
	if got := value(m.DaysToExpiry.WithLabelValues("/etc/ehealth/ks.p12", "authentication", "authentication", "true")); got != 45 {
		t.Errorf("days to expiry %v", got)
	}
	if got := value(m.CheckStatus.WithLabelValues("/etc/ehealth/ks.p12")); got != 1 {
		t.Errorf("status %v", got)
	}
	// A new report replaces the entries of the previous one.
	r.Items = r.Items[:1]
	m.SetExpiry("", r)
	if n := count(m.DaysToExpiry); n != 1 {
		t.Errorf("%d days-to-expiry series, want 1", n)
	}

	// Handler serves Default with the runtime collectors.
	before := value(observe.Default.CacheEvents.WithLabelValues("redis", "hit"))
	observe.Default.CacheEvent("redis", "hit")
	if got := value(observe.Default.CacheEvents.WithLabelValues("redis", "hit")); got != before+1 {
		t.Errorf("CacheEvent: %v after %v", got, before)
	}
	rec := httptest.NewRecorder()
	observe.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`ehcert_etk_cache_events_total{backend="redis",event="hit"}`, "go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestListenAndServeAndWatch(t *testing.T) {
	m := observe.NewMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	checked := make(chan struct{}, 10)
	go m.WatchExpiry(ctx, "ks", time.Hour, func(context.Context) (*expiry.Report, error) {
		defer func() { checked <- struct{}{} }()
		return &expiry.Report{Status: expiry.Unknown, CheckedAt: time.Unix(1e9, 0)}, errors.New("no keystore")
	})
	<-checked
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- observe.ListenAndServe(ctx, "127.0.0.1:0", observe.Handler(), func(a string) { addrc <- a })
	}()
	addr := <-addrc
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "go_goroutines") {
		t.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
	// The watcher published an UNKNOWN for the keystore it could not read (gauges are set after check returns).
	deadline := time.Now().Add(5 * time.Second)
	for value(m.CheckStatus.WithLabelValues("ks")) != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(m.CheckStatus.WithLabelValues("ks")); got != 3 {
		t.Errorf("status of the failed check %v, want 3", got)
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return -1
}

// count is the number of series a collector has.
func count(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}
