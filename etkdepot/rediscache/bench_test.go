package rediscache_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
	"github.com/ehcert/ehcert/internal/testenv"
)

// benchDepot serves one real test-kit ETK for CBE 0406798006 on loopback and counts the requests.
func benchDepot(b *testing.B) (*httptest.Server, *atomic.Int64) {
	b.Helper()
	raw, err := os.ReadFile(testenv.Shared(b, "reference/etk-vectors/etk/testkit/bob-2014-sha256.etk"))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal([]any{map[string]any{"key": map[string]any{"cbe": "0406798006"}, "value": base64.StdEncoding.EncodeToString(raw)}})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// acceptCMS stands in for ETK validation, which is the same in every benchmark and not what they compare.
func acceptCMS(raw []byte, want etkdepot.Identity) error {
	if len(raw) == 0 || raw[0] != 0x30 {
		return errors.New("not CMS")
	}
	return nil
}

func lookupOnce(b *testing.B, c *etkdepot.Client) {
	entries, err := c.ETKs(context.Background(), "CBE", "406798006", "")
	if err != nil || len(entries) != 1 {
		b.Fatal(err)
	}
}

// nsPerLookup measures a lookup with c by running it for at least 300 ms (testing.Benchmark cannot be called
// from inside a benchmark).
func nsPerLookup(b *testing.B, c *etkdepot.Client) float64 {
	lookupOnce(b, c) // warm up: connection, cache
	n, start := 0, time.Now()
	for time.Since(start) < 300*time.Millisecond {
		for range 100 {
			lookupOnce(b, c)
		}
		n += 100
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

var (
	baselineOnce         sync.Once
	loopbackNs, cachedNs float64
)

// BenchmarkETKLookupRedis is one ETK lookup answered from Redis: each iteration is a new etkdepot.Client (an
// instance that has nothing in memory yet) sharing one rediscache.Cache, so every lookup reads Redis and
// decodes the entry; the depot is asked once in all. It reports its ratios to the two baselines of package
// etkdepot, measured once in the same process before it: "x-loopback" is how many times faster than a lookup through a
// loopback depot without cache (BenchmarkETKLookupLoopback), "x-cached" how many times slower than a lookup
// answered from a client's memory (BenchmarkETKLookupCached).
func BenchmarkETKLookupRedis(b *testing.B) {
	rs := startRedis(b)
	srv, n := benchDepot(b)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	b.Cleanup(func() { rc.Close() })
	cache := &rediscache.Cache{Client: rc}
	newClient := func() *etkdepot.Client {
		return &etkdepot.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), ValidateETK: acceptCMS, Cache: cache}
	}
	baselineOnce.Do(func() {
		// The baselines of package etkdepot, measured here in the same process: BenchmarkETKLookupLoopback (no
		// cache, every lookup through HTTP) and BenchmarkETKLookupCached (answered from the client's memory).
		loopbackNs = nsPerLookup(b, &etkdepot.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), ValidateETK: acceptCMS})
		cachedNs = nsPerLookup(b, &etkdepot.Client{BaseURL: srv.URL, HTTPClient: srv.Client(), ValidateETK: acceptCMS, Cache: etkdepot.NewMemoryCache(0)})
	})
	n.Store(0)
	lookupOnce(b, newClient())
	b.ReportAllocs()
	for b.Loop() {
		lookupOnce(b, newClient())
	}
	b.StopTimer()
	if n.Load() != 1 {
		b.Fatalf("%d depot requests, want 1", n.Load())
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	if ns > 0 && loopbackNs > 0 && cachedNs > 0 {
		b.ReportMetric(loopbackNs/ns, "x-loopback")
		b.ReportMetric(ns/cachedNs, "x-cached")
		b.ReportMetric(loopbackNs, "loopback-ns/op")
		b.ReportMetric(cachedNs, "cached-ns/op")
	}
}
