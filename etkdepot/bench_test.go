package etkdepot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealthtest"
)

// The ETK lookup benchmarks run against an in-process ehealthtest platform (TLS on loopback) where an ETK of
// ehealthtest.DefaultOrganization was registered through CertRA and EtkRA. The lookup is the one a sender
// makes: ETKs(ctx, "CBE", the CBE without its leading zero, ""), every ETK validated by package etk against
// the platform's root (Client.Roots, the default ETK checks). BenchmarkParseValidateETK, the cost of the
// validation alone, is in package etk.

const benchCBE = "123456749" // ehealthtest.DefaultOrganization.ID without its leading zero

// benchClient returns a client of a new platform holding one registered ETK.
func benchClient(b *testing.B) (*platform, *Client) {
	b.Helper()
	p := newPlatform(b)
	p.register(b, "")
	return p, p.client()
}

func lookupOnce(ctx context.Context, c *Client) error {
	entries, err := c.ETKs(ctx, "CBE", benchCBE, "")
	if err == nil && len(entries) != 1 {
		err = errors.New("not one ETK")
	}
	return err
}

func benchLookup(b *testing.B, c *Client) {
	ctx := context.Background()
	if err := lookupOnce(ctx, c); err != nil { // warm up (connection, cache)
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := lookupOnce(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkETKLookupLoopback is one ETK lookup through the HTTP stack and the platform's depot, without a
// cache: request, TLS, JSON, base64, and the validation of the ETK by package etk.
func BenchmarkETKLookupLoopback(b *testing.B) {
	_, c := benchClient(b)
	benchLookup(b, c)
}

// perLookup measures the mean time of n lookups made by c.
func perLookup(b *testing.B, c *Client, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	if err := lookupOnce(ctx, c); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for range n {
		if err := lookupOnce(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkETKLookupCached is the same lookup answered from the cache (MemoryCache and the decoded answers kept
// in memory; the TTL is still checked on every call). It reports how many times faster it is than the same
// client without a cache, measured in the same process on the same platform: "x-loopback" against the whole
// loopback lookup (BenchmarkETKLookupLoopback), "x-transport" against a loopback lookup whose ETK check is
// only a look at the first byte, i.e. the HTTP round trip and decoding alone.
func BenchmarkETKLookupCached(b *testing.B) {
	p, c := benchClient(b)
	loopback := perLookup(b, p.client(), 300)
	bare := p.client()
	bare.ValidateETK = func(raw []byte, _ Identity) error {
		if raw[0] != 0x30 {
			return errors.New("not CMS")
		}
		return nil
	}
	transport := perLookup(b, bare, 1000)

	c.Cache = NewMemoryCache(0)
	before := p.depotRequests(ehealthtest.TargetETKs)
	benchLookup(b, c)
	if n := p.depotRequests(ehealthtest.TargetETKs) - before; n != 1 {
		b.Fatalf("%d requests, want 1", n)
	}
	if cached := b.Elapsed() / time.Duration(b.N); cached > 0 {
		b.ReportMetric(float64(loopback)/float64(cached), "x-loopback")
		b.ReportMetric(float64(transport)/float64(cached), "x-transport")
	}
}
