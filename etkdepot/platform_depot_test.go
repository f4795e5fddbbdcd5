package etkdepot

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
)

// Every endpoint against ehealthtest's depot, with ETKs registered through CertRA and EtkRA: the ETKs are found
// by their identifier and validated by package etk, the x5c chains of sig and enc keys verify.
func TestPlatformDepot(t *testing.T) {
	p := newPlatform(t)
	plain := p.register(t, "")
	app := p.register(t, "SECOND")
	c := p.client()
	ctx := context.Background()

	// GET /etks: both ETKs of the organisation, the CBE without its leading zero.
	entries, err := c.ETKs(ctx, "cbe", p.org.ID[1:], "")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d ETKs, want 2", len(entries))
	}
	for _, r := range []*registered{plain, app} {
		e, err := Select(entries, r.appID)
		if err != nil {
			t.Fatalf("Select(%q): %v", r.appID, err)
		}
		if e.Type != "CBE" || e.Value != p.org.ID || e.ApplicationID != r.appID || !bytes.Equal(e.ETK, r.etk) {
			t.Errorf("entry %v, want CBE=%s/%s with the registered ETK", e.Identity, p.org.ID, r.appID)
		}
		parsed, err := etk.Parse(e.ETK)
		if err != nil || !parsed.EncryptionCertificate.Equal(r.encCert) {
			t.Errorf("%q: the ETK does not hold the registered encryption certificate (%v)", r.appID, err)
		}
	}
	if got := p.srv.Requests(); got[len(got)-1].UserAgent != c.UserAgent || got[len(got)-1].From != c.From {
		t.Errorf("tracing headers %q %q", got[len(got)-1].UserAgent, got[len(got)-1].From)
	}
	one, err := c.ETKs(ctx, "CBE", p.org.ID, "second")
	if err != nil || len(one) != 1 || one[0].ApplicationID != "SECOND" {
		t.Fatalf("ETKs for one application: %v %+v", err, one)
	}
	if _, err := c.ETKs(ctx, "CBE", "0820563481", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown holder: %v, want ErrNotFound", err)
	}
	var ut *ehealth.UnknownIdentifierTypeError
	if _, err := c.ETKs(ctx, "VAT", "1", ""); !errors.As(err, &ut) {
		t.Errorf("unknown type: %v", err)
	}

	// The ETKs are validated: against other anchors they are refused, each with the etk package's reasons.
	other := newPlatform(t)
	strict := p.client()
	strict.Roots = other.srv.Roots()
	_, err = strict.ETKs(ctx, "CBE", p.org.ID, "")
	var re *RejectedError
	var ve *etk.ValidationError
	if !errors.As(err, &re) || len(re.Rejections) != 2 || !errors.As(err, &ve) ||
		!ve.Has(etk.CodeAuthCertUntrusted) || !ve.Has(etk.CodeSignerUntrusted) {
		t.Errorf("ETKs under foreign anchors: %v", err)
	}
	// ETKValidator gives the same checks to a ValidateETK of one's own.
	strict = p.client()
	strict.ValidateETK = ETKValidator(etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: other.srv.Roots()})
	if _, err := strict.ETKs(ctx, "CBE", p.org.ID, ""); !errors.As(err, &ve) || !ve.Has(etk.CodeSignerUntrusted) || ve.Has(etk.CodeAuthCertUntrusted) {
		t.Errorf("ETK-RA under foreign anchors: %v", err)
	}
	strict.ValidateETK = ETKValidator(etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: p.srv.Roots()})
	if got, err := strict.ETKs(ctx, "CBE", p.org.ID, ""); err != nil || len(got) != 2 {
		t.Errorf("ETKValidator: %v", err)
	}

	// GET /pubKeys/cacerts/jwks, sig: the authentication certificates, ordinary X.509 paths to the root.
	sig, err := c.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Keys) != 2 || len(sig.Rejected) != 0 {
		t.Fatalf("sig: %d keys, rejected %v", len(sig.Keys), sig.Rejected)
	}
	for i, r := range []*registered{plain, app} {
		k := sig.Keys[i]
		if !k.Leaf().Equal(r.auth) || k.Use != "sig" || !k.Chain[len(k.Chain)-1].Equal(p.srv.RootCertificate()) ||
			!k.Chain[1].Equal(p.srv.IssuingCA()) {
			t.Errorf("sig key %d: %s, chain of %d", i, k.Leaf().Subject, len(k.Chain))
		}
	}
	// enc: x5c = [encryption certificate, authentication certificate, CA], verified as eHealth builds them.
	enc, err := c.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Keys) != 2 || len(enc.Rejected) != 0 {
		t.Fatalf("enc: %d keys, rejected %v", len(enc.Keys), enc.Rejected)
	}
	for i, r := range []*registered{plain, app} {
		k := enc.Keys[i]
		if !k.Leaf().Equal(r.encCert) || !r.encKey.PublicKey.Equal(k.Public) || k.Use != "enc" ||
			len(k.Chain) != 4 || !k.Chain[1].Equal(r.auth) || !k.Chain[3].Equal(p.srv.RootCertificate()) {
			t.Errorf("enc key %d: %s, chain of %d", i, k.Leaf().Subject, len(k.Chain))
		}
	}
	encApp, err := c.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, ApplicationID: "SECOND", Use: "enc"})
	if err != nil || len(encApp.Keys) != 1 || !encApp.Keys[0].Leaf().Equal(app.encCert) {
		t.Fatalf("enc for one application: %v", err)
	}
	// At a lookup time before the certificates existed the depot has nothing.
	if _, err := c.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "enc", At: plain.auth.NotBefore.Add(-time.Hour)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup before issuance: %v, want ErrNotFound", err)
	}
	// Keys verified against other anchors are refused, with the typed reason.
	if _, err := strict.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "enc"}); err != nil {
		t.Fatal(err)
	}
	foreign := p.client()
	foreign.Roots = other.srv.Roots()
	_, err = foreign.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "enc"})
	var ee *EncryptionKeyError
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ee) || ee.Problem != EncAuthUntrusted || !errors.As(err, &ua) {
		t.Errorf("enc keys under foreign anchors: %v", err)
	}

	// GET /pubKeys/cacerts/jwks/{kid}, for an encryption and an authentication key.
	for _, want := range []*Key{enc.Keys[1], sig.Keys[0]} {
		k, err := c.JWK(ctx, want.KID)
		if err != nil {
			t.Fatalf("JWK %s: %v", want.KID, err)
		}
		if !k.Leaf().Equal(want.Leaf()) || k.Use != want.Use || len(k.Chain) != len(want.Chain) {
			t.Errorf("JWK %s: %s", want.KID, k.Leaf().Subject)
		}
	}
	// GET /keyholders/{kid}.
	h, err := c.KeyHolder(ctx, enc.Keys[0].KID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Kind != "enterprise" || h.Type != "CBE" || h.Value != p.org.ID || h.Name != p.org.Name || h.Expires.IsZero() {
		t.Errorf("key holder %+v", h)
	}

	// Errors of the depot.
	var ae *APIError
	if _, err := c.JWK(ctx, "S1"); !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Code != "NOT_FOUND" || ae.Message == "" {
		t.Errorf("unknown kid: %v", err)
	}
	if _, err := c.KeyHolder(ctx, "a/b"); !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Code == "" {
		t.Errorf("invalid kid: %v, want HTTP 400 with the depot's code", err)
	}
	p.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault})
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); !errors.As(err, &ae) || ae.StatusCode != 500 || !ae.Temporary() {
		t.Errorf("HTTP 500: %v", err)
	}
	p.srv.Inject(ehealthtest.TargetJWKS, ehealthtest.Fault{Kind: ehealthtest.Garbage})
	var de *DecodeError
	if _, err := c.JWKS(ctx, Query{Type: "CBE", Value: p.org.ID, Use: "sig"}); !errors.As(err, &de) {
		t.Errorf("garbage: %v, want *DecodeError", err)
	}
	// A 10 MB answer is refused without being read past the limit.
	p.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.Oversized, Size: 10 << 20})
	var tl *ResponseTooLargeError
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); !errors.As(err, &tl) {
		t.Errorf("10 MB answer: %v, want *ResponseTooLargeError", err)
	}
}

// A JWK set in the cache is fetched again for an unknown kid, at most once per RefetchInterval: a key
// registered after the first fetch is found.
func TestPlatformKidRefetch(t *testing.T) {
	p := newPlatform(t)
	first := p.register(t, "")
	clk := newClock(p.srv.Clock().Now())
	c := p.client()
	c.Now, c.Cache, c.RefetchInterval = clk.Now, NewMemoryCache(0), time.Minute
	ctx := context.Background()
	q := Query{Type: "CBE", Value: p.org.ID, Use: "enc"}
	firstKID := "S" + first.encCert.SerialNumber.String()
	if k, err := c.KeyByID(ctx, q, firstKID); err != nil || !k.Leaf().Equal(first.encCert) {
		t.Fatalf("first key: %v", err)
	}
	second := p.register(t, "SECOND")
	secondKID := "S" + second.encCert.SerialNumber.String()
	// Right after a fetch, an unknown kid is not fetched again.
	var uk *UnknownKeyError
	if _, err := c.KeyByID(ctx, q, secondKID); !errors.As(err, &uk) || uk.NextRefetch.IsZero() {
		t.Fatalf("second key right away: %v, want *UnknownKeyError with NextRefetch", err)
	}
	if n := p.depotRequests(ehealthtest.TargetJWKS); n != 1 {
		t.Fatalf("%d JWKS requests, want 1", n)
	}
	clk.Advance(2 * time.Minute)
	k, err := c.KeyByID(ctx, q, secondKID)
	if err != nil || !k.Leaf().Equal(second.encCert) || !k.Chain[1].Equal(second.auth) {
		t.Fatalf("second key after the interval: %v", err)
	}
	if n := p.depotRequests(ehealthtest.TargetJWKS); n != 2 {
		t.Errorf("%d JWKS requests, want 2", n)
	}
	// Known kids come from the cache.
	if _, err := c.KeyByID(ctx, q, firstKID); err != nil || p.depotRequests(ehealthtest.TargetJWKS) != 2 {
		t.Errorf("known kid: %v, %d requests", err, p.depotRequests(ehealthtest.TargetJWKS))
	}
}

// When the depot is down, expired answers are served from the cache, flagged stale.
func TestPlatformStaleWhenDown(t *testing.T) {
	p := newPlatform(t)
	r := p.register(t, "")
	clk := newClock(p.srv.Clock().Now())
	dir := DirCache(t.TempDir())
	c := p.client()
	c.Now, c.Cache, c.TTL = clk.Now, dir, time.Hour
	ctx := context.Background()
	q := Query{Type: "CBE", Value: p.org.ID, Use: "enc"}
	entries, err := c.ETKs(ctx, "CBE", p.org.ID, "")
	if err != nil || entries[0].Stale {
		t.Fatal(err)
	}
	set, err := c.JWKS(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	kid := set.Keys[0].KID
	if _, err := c.KeyHolder(ctx, kid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JWK(ctx, kid); err != nil {
		t.Fatal(err)
	}

	p.srv.Close()
	clk.Advance(2 * time.Hour) // past the TTL (and the key holder's exp), within MaxStale
	// A client restarted on the same directory cache, as after a process restart.
	c2 := p.client()
	c2.Now, c2.Cache, c2.TTL = clk.Now, dir, time.Hour
	for name, cl := range map[string]*Client{"same client": c, "restarted": c2} {
		got, err := cl.ETKs(ctx, "CBE", p.org.ID, "")
		if err != nil || len(got) != 1 || !got[0].Stale || !bytes.Equal(got[0].ETK, r.etk) || !got[0].FetchedAt.Equal(entries[0].FetchedAt) {
			t.Errorf("%s: ETKs while down: %v %+v", name, err, got)
		}
		s, err := cl.JWKS(ctx, q)
		if err != nil || !s.Stale || !s.Keys[0].Leaf().Equal(r.encCert) {
			t.Errorf("%s: JWKS while down: %v", name, err)
		}
		if k, err := cl.JWK(ctx, kid); err != nil || !k.Stale {
			t.Errorf("%s: JWK while down: %v", name, err)
		}
		if h, err := cl.KeyHolder(ctx, kid); err != nil || !h.Stale {
			t.Errorf("%s: KeyHolder while down: %v", name, err)
		}
	}
	// Without a cache the failure is the depot's.
	nc := p.client()
	if _, err := nc.ETKs(ctx, "CBE", p.org.ID, ""); err == nil {
		t.Error("a lookup without a cache succeeded while the depot is down")
	}
	// Past MaxStale nothing is served.
	clk.Advance(DefaultMaxStale)
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err == nil {
		t.Error("an answer older than MaxStale was served")
	}
}

// gate is an http.RoundTripper that counts the requests and holds each until release is closed.
type gate struct {
	next    http.RoundTripper
	count   atomic.Int32
	release chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.count.Add(1)
	select {
	case <-g.release:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return g.next.RoundTrip(r)
}

// N concurrent lookups of one missing key make exactly one request to the depot.
func TestPlatformCoalescing(t *testing.T) {
	p := newPlatform(t)
	r := p.register(t, "")
	const n = 32
	g := &gate{next: p.srv.Client().Transport, release: make(chan struct{})}
	var once sync.Once
	open := func() { once.Do(func() { close(g.release) }) }
	defer time.AfterFunc(10*time.Second, open).Stop() // no hang if coalescing is broken
	c := p.client()
	c.HTTPClient = &http.Client{Transport: g}
	c.Cache = NewMemoryCache(0)
	var joined atomic.Int32
	c.flight.onJoin = func(string) {
		if joined.Add(1) == n-1 {
			open() // every other caller waits for the one request in flight
		}
	}
	p.srv.ResetRequests()
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([][]Entry, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = c.ETKs(context.Background(), "CBE", p.org.ID, "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || len(results[i]) != 1 || !bytes.Equal(results[i][0].ETK, r.etk) {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	if got, upstream := g.count.Load(), p.depotRequests(ehealthtest.TargetETKs); got != 1 || upstream != 1 {
		t.Errorf("%d requests sent, %d received for %d concurrent lookups, want 1", got, upstream, n)
	}
}

// A validated ETK kept in memory is not served past the expiry of its certificates, whatever the TTL: it is
// fetched and validated again, and refused.
func TestPlatformETKExpiryBoundsCache(t *testing.T) {
	p := newPlatform(t)
	r := p.register(t, "")
	clk := newClock(p.srv.Clock().Now())
	c := p.client()
	c.Now, c.Cache, c.TTL = clk.Now, NewMemoryCache(0), 100*365*24*time.Hour
	ctx := context.Background()
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err != nil {
		t.Fatal(err)
	}
	clk.Set(r.auth.NotAfter.Add(-time.Minute))
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err != nil || p.depotRequests(ehealthtest.TargetETKs) != 1 {
		t.Fatalf("before the expiry: %v, %d requests", err, p.depotRequests(ehealthtest.TargetETKs))
	}
	clk.Set(r.auth.NotAfter.Add(time.Second))
	_, err := c.ETKs(ctx, "CBE", p.org.ID, "")
	var ve *etk.ValidationError
	if !errors.As(err, &ve) || !ve.Has(etk.CodeAuthCertExpired) || !ve.Has(etk.CodeEncryptionCertExpired) {
		t.Errorf("after the expiry: %v, want the ETK refused as expired", err)
	}
	if n := p.depotRequests(ehealthtest.TargetETKs); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// revokeAll is an etk.RevocationChecker that says every certificate is revoked, and records the calls.
type revokeAll struct{ calls atomic.Int32 }

func (r *revokeAll) Check(ctx context.Context, cert, issuer *x509.Certificate) (etk.RevocationStatus, error) {
	r.calls.Add(1)
	return etk.RevocationRevoked, nil
}

// Client.ETKOptions: the etk checks with the caller's options, at the client's clock.
func TestPlatformETKOptions(t *testing.T) {
	p := newPlatform(t)
	p.register(t, "")
	other := newPlatform(t)
	ctx := context.Background()

	c := p.client()
	// Time is replaced by the lookup time: a Time at which nothing is valid does not matter.
	c.ETKOptions = &etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: p.srv.Roots(), Time: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)}
	if got, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err != nil || len(got) != 1 {
		t.Fatalf("ETKOptions: %v", err)
	}

	c = p.client()
	c.ETKOptions = &etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: other.srv.Roots()}
	var ve *etk.ValidationError
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); !errors.As(err, &ve) || !ve.Has(etk.CodeSignerUntrusted) || ve.Has(etk.CodeAuthCertUntrusted) {
		t.Errorf("ETK-RA under other anchors: %v", err)
	}
	// ETKOptions win over Roots.
	c.Roots = other.srv.Roots()
	c.ETKOptions = &etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: p.srv.Roots()}
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err != nil {
		t.Errorf("ETKOptions with other Roots: %v", err)
	}

	// The revocation checker is asked about the authentication path.
	rc := &revokeAll{}
	c = p.client()
	c.ETKOptions = &etk.ValidateOptions{Roots: p.srv.Roots(), SignerRoots: p.srv.Roots(), Revocation: rc}
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); !errors.As(err, &ve) || !ve.Has(etk.CodeAuthCertRevoked) || rc.calls.Load() == 0 {
		t.Errorf("revoked: %v", err)
	}

	// ValidateETK wins over both.
	c.ValidateETK = func([]byte, Identity) error { return nil }
	if _, err := c.ETKs(ctx, "CBE", p.org.ID, ""); err != nil {
		t.Errorf("ValidateETK: %v", err)
	}
}
