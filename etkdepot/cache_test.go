package etkdepot

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEntryFreshness(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e := &entry{Stored: t0, Expires: t0.Add(8 * time.Hour)}
	for _, tc := range []struct {
		now          time.Time
		fresh, stale bool
	}{
		{t0.Add(-time.Second), false, true}, // stored in the future: not fresh (clock went back)
		{t0, true, true},
		{t0.Add(8*time.Hour - 1), true, true},
		{t0.Add(8 * time.Hour), false, true},
		{t0.Add(8*time.Hour + 72*time.Hour - 1), false, true},
		{t0.Add(8*time.Hour + 72*time.Hour), false, false},
	} {
		if got := e.fresh(tc.now); got != tc.fresh {
			t.Errorf("fresh at %v = %v", tc.now.Sub(t0), got)
		}
		if got := e.usableStale(tc.now, 72*time.Hour); got != tc.stale {
			t.Errorf("usableStale at %v = %v", tc.now.Sub(t0), got)
		}
	}
	if e.usableStale(t0, -1) {
		t.Error("stale serving disabled, yet usable")
	}
}

func TestCacheFreshThenStale(t *testing.T) {
	body := mustJSON(t, []any{etkItem("cbe", "0406798006", "", fakeETK("v1"))})
	d := newDepot(t, serveJSON(200, body))
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	t0 := clk.Now()
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Cache: NewMemoryCache(0), Now: clk.Now}
	ctx := context.Background()

	lookup := func() ([]Entry, error) { return c.ETKs(ctx, "CBE", "406798006", "") }
	if _, err := lookup(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(7 * time.Hour)
	entries, err := lookup()
	if err != nil || d.count.Load() != 1 {
		t.Fatalf("within the TTL: %v, %d requests, want 1", err, d.count.Load())
	}
	if entries[0].Stale || !entries[0].FetchedAt.Equal(t0) {
		t.Errorf("cached entry Stale %v FetchedAt %v", entries[0].Stale, entries[0].FetchedAt)
	}

	// Past the TTL the depot is asked again; when it fails with 5xx, the old answer is served, flagged.
	clk.Advance(2 * time.Hour)
	d.setHandler(serveJSON(500, []byte(`{"code":"SOA-01001","message":"down"}`)))
	entries, err = lookup()
	if err != nil || d.count.Load() != 2 {
		t.Fatalf("depot 500: %v, %d requests", err, d.count.Load())
	}
	if !entries[0].Stale || !entries[0].FetchedAt.Equal(t0) || !bytes.Equal(entries[0].ETK, fakeETK("v1")) {
		t.Errorf("stale entry %+v", entries[0])
	}

	// A 4xx says something about the lookup: no stale answer.
	d.setHandler(serveJSON(400, []byte(`{"code":"SOA-03001"}`)))
	var ae *APIError
	if _, err := lookup(); !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Errorf("depot 400: %v, want the *APIError", err)
	}

	// The depot unreachable: stale again.
	url := d.URL
	d.Close()
	entries, err = lookup()
	if err != nil || !entries[0].Stale {
		t.Fatalf("depot down: %v", err)
	}

	// Too old to be served: the depot's failure is returned.
	clk.Advance(DefaultMaxStale)
	var te *transportError
	if _, err := lookup(); !errors.As(err, &te) {
		t.Errorf("past MaxStale: %v, want the transport error", err)
	}

	// Stale serving disabled.
	c2 := &Client{BaseURL: url, ValidateETK: (&recorder{}).validate, Cache: c.Cache, Now: newClock(t0.Add(9 * time.Hour)).Now, MaxStale: -1}
	if _, err := c2.ETKs(ctx, "CBE", "406798006", ""); !errors.As(err, &te) {
		t.Errorf("MaxStale < 0: %v, want the transport error", err)
	}
	// A new client sharing the cache (not the memory layer) serves the stale entry from the Cache's bytes.
	c3 := &Client{BaseURL: url, ValidateETK: (&recorder{}).validate, Cache: c.Cache, Now: newClock(t0.Add(9 * time.Hour)).Now}
	entries, err = c3.ETKs(ctx, "CBE", "406798006", "")
	if err != nil || !entries[0].Stale {
		t.Errorf("stale from the Cache's bytes: %v", err)
	}
}

func TestCacheRevalidatesOnLoad(t *testing.T) {
	body := mustJSON(t, []any{etkItem("cbe", "0406798006", "", fakeETK("v1"))})
	d := newDepot(t, serveJSON(200, body))
	cache := NewMemoryCache(0)
	c1 := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Cache: cache}
	if _, err := c1.ETKs(context.Background(), "CBE", "406798006", ""); err != nil {
		t.Fatal(err)
	}
	// A second client with a stricter validator does not take the first one's word for it: the cached answer
	// is validated again, refused, and fetched anew (and refused again).
	refuse := errors.New("refused by policy")
	var calls atomic.Int32
	c2 := &Client{BaseURL: d.URL, Cache: cache, ValidateETK: func([]byte, Identity) error { calls.Add(1); return refuse }}
	_, err := c2.ETKs(context.Background(), "CBE", "406798006", "")
	if !errors.Is(err, refuse) || calls.Load() != 2 || d.count.Load() != 2 {
		t.Errorf("err %v, %d validations, %d requests; want the refusal, 2, 2", err, calls.Load(), d.count.Load())
	}
}

func TestDirCacheSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etk-cache")
	body := mustJSON(t, []any{etkItem("ssin", "85010100123", "", fakeETK("v1"))})
	d := newDepot(t, serveJSON(200, body))
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	c1 := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Cache: DirCache(dir), Now: clk.Now}
	if _, err := c1.ETKs(context.Background(), "SSIN", "85010100123", ""); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// A new process: nothing in memory, the depot gone; the answer comes from the directory.
	clk.Advance(time.Hour)
	rec := &recorder{}
	c2 := &Client{BaseURL: d.URL, ValidateETK: rec.validate, Cache: DirCache(dir), Now: clk.Now}
	entries, err := c2.ETKs(context.Background(), "SSIN", "85010100123", "")
	if err != nil || len(entries) != 1 || entries[0].Stale || !bytes.Equal(entries[0].ETK, fakeETK("v1")) {
		t.Fatalf("after restart: %v %+v", err, entries)
	}
	if len(rec.wants) != 1 {
		t.Errorf("ETK loaded from disk validated %d times, want 1", len(rec.wants))
	}

	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v", fi.Mode().Perm(), err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("%d files in the cache directory", len(files))
	}
	if strings.Contains(files[0].Name(), "85010100123") {
		t.Error("a national number in a file name")
	}
	fi, _ = files[0].Info()
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v", fi.Mode().Perm())
	}

	// A corrupt file is ignored: the depot is asked.
	if err := os.WriteFile(filepath.Join(dir, files[0].Name()), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	d2 := newDepot(t, serveJSON(200, body))
	c3 := &Client{BaseURL: d2.URL, ValidateETK: (&recorder{}).validate, Cache: DirCache(dir), Now: clk.Now}
	if _, err := c3.ETKs(context.Background(), "SSIN", "85010100123", ""); err != nil || d2.count.Load() != 1 {
		t.Errorf("corrupt file: %v, %d requests", err, d2.count.Load())
	}
}

func TestDirCache(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := DirCache(filepath.Join(root, "c"))
	if _, err := d.Get(ctx, "k"); err != ErrCacheMiss {
		t.Errorf("Get on a missing directory: %v", err)
	}
	if err := d.Put(ctx, "../../escape", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "c", "escape")); err != nil {
		t.Errorf("key not kept inside the directory: %v", err)
	}
	if got, err := d.Get(ctx, "../../escape"); err != nil || string(got) != "x" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := d.Delete(ctx, "../../escape"); err != nil {
		t.Error(err)
	}
	if err := d.Delete(ctx, "../../escape"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	var qe *QueryError
	if err := d.Put(ctx, "", []byte("x")); !errors.As(err, &qe) {
		t.Errorf("empty key: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Put(cctx, "k", []byte("x")); err == nil {
		t.Error("Put with a cancelled context wrote")
	}
	if _, err := d.Get(ctx, "k"); err != ErrCacheMiss {
		t.Errorf("after a cancelled Put: %v", err)
	}
}

func TestMemoryCache(t *testing.T) {
	ctx := context.Background()
	var m MemoryCache // the zero value works
	m.MaxEntries = 2
	data := []byte("v")
	m.Put(ctx, "a", data)
	data[0] = 'X'
	if got, _ := m.Get(ctx, "a"); string(got) != "v" {
		t.Errorf("Put kept the caller's array: %q", got)
	}
	m.Put(ctx, "b", []byte("v"))
	m.Put(ctx, "c", []byte("v"))
	if m.Len() != 2 {
		t.Errorf("%d entries, want at most 2", m.Len())
	}
	if got, err := m.Get(ctx, "c"); err != nil || string(got) != "v" {
		t.Errorf("newest entry evicted: %v", err)
	}
	m.Delete(ctx, "c")
	if _, err := m.Get(ctx, "c"); err != ErrCacheMiss {
		t.Errorf("after Delete: %v", err)
	}
}

// TestCoalescing: N concurrent lookups of one missing key make exactly one request. The depot holds the
// request until every other caller has joined the call in flight, so that without coalescing there would be N.
func TestCoalescing(t *testing.T) {
	const n = 50
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	// Guard against a hang if coalescing is broken half-way (neither condition below is then met).
	defer time.AfterFunc(10*time.Second, open).Stop()
	body := mustJSON(t, []any{etkItem("cbe", "0406798006", "", fakeETK("v1"))})
	var d *depot
	d = newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		if d.count.Load() == n { // no coalescing at all: every caller is here
			open()
		}
		<-release
		w.Write(body)
	})
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Cache: NewMemoryCache(0)}
	var joined atomic.Int32
	c.flight.onJoin = func(string) {
		if joined.Add(1) == n-1 {
			open()
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([][]Entry, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = c.ETKs(context.Background(), "CBE", "406798006", "")
		})
	}
	wg.Wait()
	if got := d.count.Load(); got != 1 {
		t.Errorf("%d requests for %d concurrent lookups, want 1", got, n)
	}
	for i := range n {
		if errs[i] != nil || len(results[i]) != 1 || !bytes.Equal(results[i][0].ETK, fakeETK("v1")) {
			t.Fatalf("caller %d: %v %+v", i, errs[i], results[i])
		}
	}
	// Each caller gets its own slice.
	results[0][0].Stale = true
	if results[1][0].Stale {
		t.Error("callers share their result slices")
	}
}

// TestCoalescingCallerLeaves: a caller that gives up does not fail the others; the call goes on for them.
func TestCoalescingCallerLeaves(t *testing.T) {
	release := make(chan struct{})
	body := mustJSON(t, []any{etkItem("cbe", "0406798006", "", fakeETK("v1"))})
	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(body)
	})
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	joinedCh := make(chan struct{})
	c.flight.onJoin = func(string) { close(joinedCh) }

	ctx1, cancel1 := context.WithCancel(context.Background())
	err1 := make(chan error, 1)
	go func() {
		_, err := c.ETKs(ctx1, "CBE", "406798006", "")
		err1 <- err
	}()
	for d.count.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	err2 := make(chan error, 1)
	go func() {
		_, err := c.ETKs(context.Background(), "CBE", "406798006", "")
		err2 <- err
	}()
	<-joinedCh
	cancel1()
	if err := <-err1; err != context.Canceled {
		t.Errorf("first caller: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-err2; err != nil {
		t.Errorf("second caller: %v", err)
	}
	if d.count.Load() != 1 {
		t.Errorf("%d requests", d.count.Load())
	}
}

func TestKeyByIDRefetch(t *testing.T) {
	p := getPKI(t)
	a := jwkJSON(t, "A", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf, p.inter)
	b := jwkJSON(t, "B", "enc", &p.ecEncKey.PublicKey, p.ecEnc, p.ecLeaf, p.inter)
	d := newDepot(t, serveJSON(200, jwksJSON(t, a)))
	clk := newClock(refTime)
	c := &Client{BaseURL: d.URL, Roots: p.roots, Cache: NewMemoryCache(0), Now: clk.Now}
	q := Query{Type: "CBE", Value: "406798006", ApplicationID: "UHMEP", Use: "enc"}
	ctx := context.Background()

	if k, err := c.KeyByID(ctx, q, "A"); err != nil || k.KID != "A" {
		t.Fatalf("A: %v", err)
	}
	// The set was just fetched: an unknown kid does not cause another fetch.
	var uk *UnknownKeyError
	if _, err := c.KeyByID(ctx, q, "B"); !errors.As(err, &uk) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("B right after the fetch: %v, want *UnknownKeyError", err)
	}
	if uk.NextRefetch != refTime.Add(DefaultRefetchInterval) || d.count.Load() != 1 {
		t.Errorf("NextRefetch %v, %d requests", uk.NextRefetch, d.count.Load())
	}

	// B is rotated in at the depot; once the interval has passed, asking for B refetches the set.
	d.setHandler(serveJSON(200, jwksJSON(t, a, b)))
	clk.Advance(DefaultRefetchInterval)
	if k, err := c.KeyByID(ctx, q, "B"); err != nil || k.KID != "B" {
		t.Fatalf("B after the interval: %v", err)
	}
	if d.count.Load() != 2 {
		t.Errorf("%d requests, want 2", d.count.Load())
	}
	// The refetched set replaced the cached one.
	if s, err := c.JWKS(ctx, q); err != nil || len(s.Keys) != 2 || d.count.Load() != 2 {
		t.Errorf("JWKS after refetch: %v, %d requests", err, d.count.Load())
	}

	// Many lookups of unknown kids within the interval: no request at all.
	clk.Advance(time.Second)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := c.KeyByID(ctx, q, "C"+string(rune('a'+i))); !errors.As(err, new(*UnknownKeyError)) {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
	wg.Wait()
	if d.count.Load() != 2 {
		t.Errorf("%d requests after unknown kids within the interval, want 2", d.count.Load())
	}

	// After the interval, concurrent lookups of unknown kids refetch once.
	clk.Advance(DefaultRefetchInterval)
	release := make(chan struct{})
	d.setHandler(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write(jwksJSON(t, a, b))
	})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer time.AfterFunc(10*time.Second, open).Stop() // hang guard if coalescing is broken
	var joined atomic.Int32
	c.flight.onJoin = func(string) {
		if joined.Add(1) == 9 {
			open()
		}
	}
	for range 10 {
		wg.Go(func() { c.KeyByID(ctx, q, "D") })
	}
	wg.Wait()
	if d.count.Load() != 3 {
		t.Errorf("%d requests, want 3 (one refetch for 10 concurrent unknown kids)", d.count.Load())
	}

	// Without a cache every JWKS call fetches; an unknown kid is not fetched twice in one call.
	c0 := &Client{BaseURL: d.URL, Roots: p.roots, Now: clk.Now}
	before := d.count.Load()
	if _, err := c0.KeyByID(ctx, q, "Z"); !errors.As(err, &uk) || d.count.Load() != before+1 {
		t.Errorf("no cache: %v, %d requests", err, d.count.Load()-before)
	}
}

func TestCacheJWKSPastCertificateExpiry(t *testing.T) {
	p := getPKI(t)
	// The key's certificate expires in 2021; the lookup is made 1 hour before that, and the TTL is 8 h: the
	// cached set must not be served once the certificate has expired.
	old := jwkJSON(t, "old", "sig", &p.expiredLeafKey.PublicKey, p.expiredLeaf, p.inter)
	d := newDepot(t, serveJSON(200, jwksJSON(t, old)))
	clk := newClock(p.expiredLeaf.NotAfter.Add(-time.Hour))
	c := &Client{BaseURL: d.URL, Roots: p.roots, Cache: NewMemoryCache(0), Now: clk.Now}
	q := Query{Type: "CBE", Value: "1", Use: "sig"}
	if _, err := c.JWKS(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	var re *RejectedError
	if _, err := c.JWKS(context.Background(), q); !errors.As(err, &re) || d.count.Load() != 2 {
		t.Errorf("after expiry: %v, %d requests; want a refetch refused as expired", err, d.count.Load())
	}
}
