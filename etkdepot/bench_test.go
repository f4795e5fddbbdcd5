package etkdepot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/internal/testenv"
)

var benchETK []byte

func readBenchETK(b *testing.B) []byte {
	b.Helper()
	etk, err := os.ReadFile(testenv.Shared(b, "reference/etk-vectors/etk/testkit/bob-2014-sha256.etk"))
	if err != nil {
		b.Fatal(err)
	}
	return etk
}

func benchBody() []byte {
	out, _ := json.Marshal([]any{etkItem("cbe", "0406798006", "", benchETK)})
	return out
}

// benchDepot serves one real test-kit ETK for CBE 0406798006 on loopback.
func benchDepot(b *testing.B) *depot {
	b.Helper()
	benchETK = readBenchETK(b)
	return newDepot(b, serveJSON(200, benchBody()))
}

// newDepotNoTB is benchDepot for the baseline, outside any benchmark.
func newDepotNoTB() *httptest.Server {
	return httptest.NewServer(serveJSON(200, benchBody()))
}

func acceptCMS(raw []byte, want Identity) error {
	if raw[0] != 0x30 {
		return errors.New("not CMS")
	}
	return nil
}

func benchLookup(b *testing.B, c *Client) {
	ctx := context.Background()
	if _, err := c.ETKs(ctx, "CBE", "406798006", ""); err != nil { // warm up (connection, cache)
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		entries, err := c.ETKs(ctx, "CBE", "406798006", "")
		if err != nil || len(entries) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkETKLookupLoopback is one ETK lookup through the HTTP stack and a loopback depot, no cache.
func BenchmarkETKLookupLoopback(b *testing.B) {
	d := benchDepot(b)
	benchLookup(b, &Client{BaseURL: d.URL, HTTPClient: d.Client(), ValidateETK: acceptCMS})
}

// loopbackBaseline measures, once per process, the time of one lookup through the loopback depot without a
// cache (the work BenchmarkETKLookupLoopback measures), as the baseline of BenchmarkETKLookupCached's ratio.
var loopbackBaseline = sync.OnceValue(func() time.Duration {
	d := newDepotNoTB()
	defer d.Close()
	c := &Client{BaseURL: d.URL, HTTPClient: d.Client(), ValidateETK: acceptCMS}
	ctx := context.Background()
	const n = 2000
	c.ETKs(ctx, "CBE", "406798006", "")
	start := time.Now()
	for range n {
		if _, err := c.ETKs(ctx, "CBE", "406798006", ""); err != nil {
			return 0
		}
	}
	return time.Since(start) / n
})

// BenchmarkETKLookupCached is the same lookup answered from the cache. It also reports how many times faster
// it is than the loopback lookup, measured once in the same process ("x-loopback").
func BenchmarkETKLookupCached(b *testing.B) {
	d := benchDepot(b)
	base := loopbackBaseline()
	c := &Client{BaseURL: d.URL, HTTPClient: d.Client(), ValidateETK: acceptCMS, Cache: NewMemoryCache(0)}
	benchLookup(b, c)
	if d.count.Load() != 1 {
		b.Fatalf("%d requests, want 1", d.count.Load())
	}
	if cached := b.Elapsed() / time.Duration(b.N); cached > 0 && base > 0 {
		b.ReportMetric(float64(base)/float64(cached), "x-loopback")
	}
}
