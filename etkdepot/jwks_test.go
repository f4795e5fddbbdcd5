package etkdepot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJWKS(t *testing.T) {
	p := getPKI(t)
	// Encryption keys as the depot serves them: x5c = [encryption certificate, authentication certificate, CA].
	rsaKey := jwkJSON(t, "S5436060553504243135", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf, p.inter)
	ecKey := jwkJSON(t, "E1", "enc", &p.ecEncKey.PublicKey, p.ecEnc, p.ecLeaf, p.inter)
	d := newDepot(t, serveJSON(200, jwksJSON(t, rsaKey, ecKey)))
	c := &Client{BaseURL: d.URL + "/etee/v1", Roots: p.roots, Now: newClock(refTime).Now}
	s, err := c.JWKS(context.Background(), Query{Type: "CBE", Value: "406798006", ApplicationID: "UHMEP", Use: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	req := d.lastRequest(t)
	if req.URL.Path != "/etee/v1/pubKeys/cacerts/jwks" {
		t.Errorf("path %q", req.URL.Path)
	}
	// The query of the public clients' jku (FACTS §13), in their order.
	if got, want := req.URL.RawQuery, "identifier=0406798006&type=CBE&applicationIdentifier=UHMEP&use=enc"; got != want {
		t.Errorf("query %q, want %q", got, want)
	}
	if len(s.Keys) != 2 || len(s.Rejected) != 0 {
		t.Fatalf("%d keys, rejected %v", len(s.Keys), s.Rejected)
	}
	k, ok := s.Key("S5436060553504243135")
	if !ok || !k.Leaf().Equal(p.rsaEnc) || k.Use != "enc" {
		t.Fatalf("RSA key %+v", k)
	}
	sum := sha256.Sum256(p.rsaEnc.Raw)
	if !bytes.Equal(k.ThumbprintSHA256, sum[:]) || k.Thumbprint() != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Error("thumbprint is not the SHA-256 of the leaf")
	}
	if len(k.Chain) != 4 || !k.Chain[1].Equal(p.rsaLeaf) || !k.Chain[3].Equal(p.root) {
		t.Errorf("chain of %d certificates, want encryption, authentication, issuing CA, root", len(k.Chain))
	}
	if !p.rsaEncKey.PublicKey.Equal(k.Public) {
		t.Error("public key differs")
	}
	e, ok := s.Key("E1")
	if !ok || !p.ecEncKey.PublicKey.Equal(e.Public) {
		t.Error("EC P-384 key missing or different")
	}
	if m := s.KeysByID(); len(m) != 2 || m["E1"] != e {
		t.Errorf("KeysByID %v", m)
	}
	if s.FetchedAt != refTime || s.Stale {
		t.Errorf("FetchedAt %v Stale %v", s.FetchedAt, s.Stale)
	}

	// Signature keys are ordinary X.509 paths.
	sig := jwkJSON(t, "S1", "sig", &p.rsaKey.PublicKey, p.rsaLeaf, p.inter)
	d.setHandler(serveJSON(200, jwksJSON(t, sig)))
	s, err = c.JWKS(context.Background(), Query{Type: "CBE", Value: "406798006", Use: "sig"})
	if err != nil || len(s.Keys) != 1 || len(s.Keys[0].Chain) != 3 || !s.Keys[0].Chain[2].Equal(p.root) {
		t.Fatalf("sig: %v", err)
	}
}

func TestJWKSLookupTime(t *testing.T) {
	p := getPKI(t)
	// A key whose certificate expired in 2021: valid for a lookup in 2020, refused for one now.
	old := jwkJSON(t, "old", "sig", &p.expiredLeafKey.PublicKey, p.expiredLeaf, p.inter)
	d := newDepot(t, serveJSON(200, jwksJSON(t, old)))
	c := &Client{BaseURL: d.URL, Roots: p.roots, Now: newClock(refTime).Now}
	at := time.Date(2020, 6, 1, 12, 0, 0, 123, time.UTC)
	s, err := c.JWKS(context.Background(), Query{Type: "CBE", Value: "406798006", Use: "sig", At: at})
	if err != nil || len(s.Keys) != 1 {
		t.Fatalf("lookup in 2020: %v", err)
	}
	if got, want := d.lastRequest(t).URL.RawQuery, "identifier=0406798006&type=CBE&use=sig&date=2020-06-01T12%3A00%3A00Z"; got != want {
		t.Errorf("query %q, want %q", got, want)
	}
	_, err = c.JWKS(context.Background(), Query{Type: "CBE", Value: "406798006", Use: "sig"})
	var re *RejectedError
	var ie x509.CertificateInvalidError
	if !errors.As(err, &re) || !errors.As(err, &ie) || ie.Reason != x509.Expired {
		t.Errorf("lookup now: %v, want *RejectedError for an expired chain", err)
	}
}

func TestParseJWKSRejections(t *testing.T) {
	p := getPKI(t)
	encChain := []*x509.Certificate{p.rsaEnc, p.rsaLeaf, p.inter}
	good := jwkJSON(t, "good", "enc", &p.rsaEncKey.PublicKey, encChain...)

	badThumb := jwkJSON(t, "bad-x5t", "enc", &p.rsaEncKey.PublicKey, encChain...)
	other := sha256.Sum256([]byte("another certificate"))
	badThumb["x5t#S256"] = base64.RawURLEncoding.EncodeToString(other[:])

	wrongKey := jwkJSON(t, "wrong-key", "enc", &p.rsaEncKey.PublicKey, encChain...)
	wrongKey["x5c"] = jwkJSON(t, "x", "enc", &p.ecEncKey.PublicKey, p.ecEnc, p.ecLeaf, p.inter)["x5c"]
	delete(wrongKey, "x5t#S256")

	unknownRoot := jwkJSON(t, "unknown-root", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf) // no intermediate: no path

	expired := jwkJSON(t, "expired", "enc", &p.expiredEncKey.PublicKey, p.expiredEnc, p.expiredLeaf, p.inter)

	wrongUse := jwkJSON(t, "wrong-use", "sig", &p.ecKey.PublicKey, p.ecLeaf, p.inter)

	private := jwkJSON(t, "private", "enc", &p.rsaEncKey.PublicKey, encChain...)
	private["d"] = base64.RawURLEncoding.EncodeToString(p.rsaEncKey.D.Bytes())
	private["p"] = base64.RawURLEncoding.EncodeToString(p.rsaEncKey.Primes[0].Bytes())
	private["q"] = base64.RawURLEncoding.EncodeToString(p.rsaEncKey.Primes[1].Bytes())

	dup := jwkJSON(t, "good", "enc", &p.ecEncKey.PublicKey, p.ecEnc, p.ecLeaf, p.inter)

	noChain := jwkJSON(t, "no-x5c", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc)
	delete(noChain, "x5c")
	delete(noChain, "x5t#S256")

	oddType := map[string]any{"kty": "OKP", "crv": "X448", "kid": "okp", "x": "AAAA", "x5c": good["x5c"]}
	garbage := map[string]any{"kty": "RSA", "kid": "garbage", "n": 12, "e": "AQAB", "x5c": good["x5c"]}
	badCert := map[string]any{"kty": "RSA", "kid": "bad-cert", "n": good["n"], "e": good["e"], "x5c": []any{"AAAA"}}

	data := jwksJSON(t, badThumb, wrongKey, unknownRoot, expired, wrongUse, private, good, dup, noChain, oddType, garbage, badCert)
	s, err := ParseJWKS(data, VerifyOptions{Roots: p.roots, Time: refTime, Use: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Keys) != 1 || s.Keys[0].KID != "good" || !p.rsaEncKey.PublicKey.Equal(s.Keys[0].Public) {
		t.Fatalf("accepted %d keys, want only the first \"good\"", len(s.Keys))
	}
	wantReasons := map[string]string{
		"bad-x5t":      "x5t#S256",
		"wrong-key":    "do not match",
		"unknown-root": "x5c chain",
		"expired":      "expired",
		"wrong-use":    `use "sig"`,
		"private":      "private",
		"good":         "duplicate kid",
		"no-x5c":       "no x5c",
		"okp":          "",
		"garbage":      "invalid JWK",
		"bad-cert":     "x5c",
	}
	if len(s.Rejected) != len(wantReasons) {
		t.Errorf("%d rejected, want %d: %v", len(s.Rejected), len(wantReasons), s.Rejected)
	}
	for _, r := range s.Rejected {
		want, ok := wantReasons[r.ID]
		if !ok {
			t.Errorf("unexpected rejection %v", r)
			continue
		}
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("%s rejected for %q, want a reason containing %q", r.ID, r.Err, want)
		}
	}

	if _, err := ParseJWKS(data, VerifyOptions{Time: refTime}); !errors.Is(err, ErrNoRoots) {
		t.Errorf("no roots: %v", err)
	}
	var de *DecodeError
	for _, bad := range []string{"", "[]", `{"keys":3}`, `{"other":[]}`, "null", `{"keys":[` + strings.Repeat(`{"kty":"RSA"},`, 300) + `{}]`} {
		s, err := ParseJWKS([]byte(bad), VerifyOptions{Roots: p.roots, Time: refTime})
		if err == nil && !(len(s.Keys) == 0 && len(s.Rejected) == 301) {
			t.Errorf("%.30q: accepted as a JWK set", bad)
		}
		if err != nil && !errors.As(err, &de) {
			t.Errorf("%.30q: %v, want *DecodeError", bad, err)
		}
	}
}

func TestJWKSAllRejectedAndEmpty(t *testing.T) {
	p := getPKI(t)
	d := newDepot(t, serveJSON(200, jwksJSON(t, jwkJSON(t, "k", "enc", &p.rsaKey.PublicKey, p.rsaLeaf))))
	c := &Client{BaseURL: d.URL, Roots: p.roots, Now: newClock(refTime).Now}
	q := Query{Type: "CBE", Value: "1", Use: "enc"}
	var re *RejectedError
	if _, err := c.JWKS(context.Background(), q); !errors.As(err, &re) || re.Op != "GET /pubKeys/cacerts/jwks" {
		t.Errorf("err %v, want *RejectedError", err)
	}
	d.setHandler(serveJSON(200, jwksJSON(t)))
	if _, err := c.JWKS(context.Background(), q); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
	if _, err := (&Client{BaseURL: d.URL}).JWKS(context.Background(), q); !errors.Is(err, ErrNoRoots) {
		t.Errorf("no roots: %v", err)
	}
	var qe *QueryError
	if _, err := c.JWKS(context.Background(), Query{Type: "CBE", Value: "1"}); !errors.As(err, &qe) {
		t.Errorf("no use: %v", err)
	}
}

// TestJWKSTestKitChainSHA1 uses a real chain: the ETEE test kit's Alice certificate and its "eH CA" (2014),
// taken from alice-2014-sha256.etk. The whole chain is signed with SHA-1, which Go refuses (FACTS §14, the
// etk-vectors README): the key is rejected, with the reason, rather than accepted through a global switch.
func TestJWKSTestKitChainSHA1(t *testing.T) {
	certs := readPEMCerts(t, filepath.Join("testdata", "testkit-alice-chain.pem"))
	leaf, ca := certs[0], certs[1]
	roots := x509.NewCertPool()
	roots.AddCert(certs[2])
	key := jwkJSON(t, "alice", "sig", leaf.PublicKey, leaf, ca)
	s, err := ParseJWKS(jwksJSON(t, key), VerifyOptions{Roots: roots, Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var ua x509.UnknownAuthorityError
	if len(s.Keys) != 0 || len(s.Rejected) != 1 || !errors.As(s.Rejected[0].Err, &ua) ||
		!strings.Contains(s.Rejected[0].Err.Error(), "insecure algorithm SHA1") {
		t.Fatalf("keys %d rejected %v, want one rejection for SHA-1", len(s.Keys), s.Rejected)
	}
}

func readPEMCerts(t testing.TB, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestJWK(t *testing.T) {
	p := getPKI(t)
	key := jwkJSON(t, "S5436060553504243135", "sig", &p.rsaKey.PublicKey, p.rsaLeaf, p.inter)
	d := newDepot(t, serveJSON(200, mustJSON(t, key)))
	c := &Client{BaseURL: d.URL + "/etee/v1", Roots: p.roots, Now: newClock(refTime).Now}
	k, err := c.JWK(context.Background(), "S5436060553504243135")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.lastRequest(t).URL.Path; got != "/etee/v1/pubKeys/cacerts/jwks/S5436060553504243135" {
		t.Errorf("path %q", got)
	}
	if k.KID != "S5436060553504243135" || !k.Leaf().Equal(p.rsaLeaf) || k.FetchedAt != refTime {
		t.Errorf("key %+v", k)
	}

	// The body may also be a JWK set of one key.
	d.setHandler(serveJSON(200, jwksJSON(t, key)))
	if k, err := c.JWK(context.Background(), "S5436060553504243135"); err != nil || !k.Leaf().Equal(p.rsaLeaf) {
		t.Errorf("one-key set: %v", err)
	}
	// A key for another kid is refused.
	var re *RejectedError
	if _, err := c.JWK(context.Background(), "other"); !errors.As(err, &re) {
		t.Errorf("kid mismatch: %v, want *RejectedError", err)
	}
	// Odd kids are escaped into one path segment.
	c.JWK(context.Background(), "a/b c")
	if got := d.lastRequest(t).URL.EscapedPath(); got != "/etee/v1/pubKeys/cacerts/jwks/a%2Fb%20c" {
		t.Errorf("escaped path %q", got)
	}
	var qe *QueryError
	if _, err := c.JWK(context.Background(), ""); !errors.As(err, &qe) {
		t.Errorf("empty kid: %v", err)
	}
	d.setHandler(serveJSON(404, nil))
	if _, err := c.JWK(context.Background(), "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
}

func TestParseJWKForms(t *testing.T) {
	p := getPKI(t)
	a := jwkJSON(t, "a", "enc", &p.rsaKey.PublicKey, p.rsaLeaf, p.inter)
	b := jwkJSON(t, "b", "enc", &p.ecKey.PublicKey, p.ecLeaf, p.inter)
	opts := VerifyOptions{Roots: p.roots, Time: refTime}
	var de *DecodeError
	if _, err := ParseJWK(jwksJSON(t, a, b), opts); !errors.As(err, &de) {
		t.Errorf("two-key set: %v, want *DecodeError", err)
	}
	if _, err := ParseJWK(jwksJSON(t), opts); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty set: %v, want ErrNotFound", err)
	}
	if _, err := ParseJWK([]byte("[1]"), opts); !errors.As(err, &de) {
		t.Errorf("array: %v", err)
	}
	var re *RejectedError
	delete(a, "x5c")
	if _, err := ParseJWK(mustJSON(t, a), opts); !errors.As(err, &re) {
		t.Errorf("no chain: %v", err)
	}
}
