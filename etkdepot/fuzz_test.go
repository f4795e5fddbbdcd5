package etkdepot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/jwks-fixture.json, testdata/fixture-root.pem and the fuzz seed corpora")

// Cookbook examples (cookbook §5.2.1.2, §5.2.2.2, §5.2.4.2), verbatim but for the PDF's line breaks.
const (
	cookbookETKs = `[{"key":{"applicationIdentifier":" appID ","cbe":"0123456789"},` +
		`"value":"MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGggCSABIID6DCCA/MwggLboAMCAQICEQCgvrRngX….."}]`
	cookbookJWKS = `{"keys":[{"kty":"RSA","use":"sig","kid":"S5436060553504243135",` +
		`"x5t#S256":"rV5UMJFfcn_SYdTwxA73US6SyNpnB-ghnqt1UG5TlN8","e":"AQAB",` +
		`"x5c":["MIIGnTCCBIWgAwIBAgIIS3DERZ0iPb8wDQYJKoZIhvcNAQELBQAwczELMAkGA1UEBhMCQkUxETAPBgNVBAoMCFpFVEVTIFNBMQwwCgYDVQQFEwMwMDExQzBBBgNVBAMMOlRFU1QtWmV0ZXNDb25maWRlbnMtZUhlYWx0aCBhY2NlcHRhbmNlIHRlc3QtaXNzdWluZyBDQSAwMDEwHhcNMTkwNTIwMDk1ODMzWhcNMjAwNTIwMDk1ODMzWjCBqjELMAkGA1UEBhMCQkUxGzAZBgNVBAoMEkZlZGVyYWwgR292ZXJubWVudDEQMA4GA1UECwwHTkVXUk9PVDEXMBUGA1UECwwOQ0JFPTA0MDY3OTgwMDYxDjAMBgNVBAsMBVNNQUxTMSEwHwYDVQQLDBhlSGVhbHRoLXBsYXRm…."]}]}`
	cookbookKeyHolder = `{"aud":"public","keyholder":{"enterprise":{"cbe":"0123456789","name":"JohnDoeCompany"}},` +
		`"iss":"urn:be:fgov:ehealth:etee:etkdepot","exp":1568814875,"iat":1568811275,"jti":"2085bd23-7da1-4bcc-98c7-60ffea7c6146"}`
)

// fixtureRoots returns the root of testdata/jwks-fixture.json.
func fixtureRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range readPEMCerts(t, filepath.Join("testdata", "fixture-root.pem")) {
		pool.AddCert(c)
	}
	return pool
}

// TestFixtures checks the committed JWK set fixture, or rewrites it (and the seed corpora) with -update.
func TestFixtures(t *testing.T) {
	if *update {
		writeFixtures(t)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "jwks-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseJWKS(data, VerifyOptions{Roots: fixtureRoots(t), Time: refTime, Use: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Keys) != 2 || len(s.Rejected) != 0 {
		t.Fatalf("fixture: %d keys, rejected %v", len(s.Keys), s.Rejected)
	}
	if _, ok := s.Keys[1].Public.(*ecdsa.PublicKey); !ok {
		t.Error("second fixture key is not EC")
	}
}

func writeFixtures(t *testing.T) {
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	rootKey := mustEC(elliptic.P256())
	root := mustCert(&x509.Certificate{
		Subject: pkix.Name{CommonName: "ehcert etkdepot fixture root"}, NotBefore: from, NotAfter: to,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, rootKey.Public(), rootKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaLeaf := mustCert(leafTemplate("CBE=0406798006", from, to), root, &rsaKey.PublicKey, rootKey)
	ecKey := mustEC(elliptic.P384())
	ecLeaf := mustCert(leafTemplate("CBE=0406798006, UHMEP", from, to), root, ecKey.Public(), rootKey)
	// The encryption keys, each certified by its holder's authentication key (FACTS §8): x5c = [encryption
	// certificate, authentication certificate].
	rsaEncKey := mustRSA()
	rsaEnc := mustEncCert(rsaKey, rsaLeaf, &rsaEncKey.PublicKey)
	ecEncKey := mustEC(elliptic.P384())
	ecEnc := mustEncCert(ecKey, ecLeaf, ecEncKey.Public())
	set := jwksJSON(t,
		jwkJSON(t, "S5436060553504243135", "enc", &rsaEncKey.PublicKey, rsaEnc, rsaLeaf),
		jwkJSON(t, "E9000000000000000001", "enc", ecEncKey.Public(), ecEnc, ecLeaf))
	write(t, filepath.Join("testdata", "jwks-fixture.json"), set)
	write(t, filepath.Join("testdata", "fixture-root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	oneKey := jwksJSON(t, jwkJSON(t, "S5436060553504243135", "enc", &rsaEncKey.PublicKey, rsaEnc, rsaLeaf))
	single := mustJSON(t, jwkJSON(t, "E9000000000000000001", "enc", ecEncKey.Public(), ecEnc, ecLeaf))
	sigKey := jwksJSON(t, jwkJSON(t, "S1", "sig", &rsaKey.PublicKey, rsaLeaf))

	seeds := map[string]map[string][]byte{
		"FuzzParseJWKS": {
			"fixture": set, "one-key": oneKey, "sig-key": sigKey, "cookbook": []byte(cookbookJWKS), "empty": []byte(`{"keys":[]}`),
			"not-a-set": []byte(`[{"keys":1}]`),
		},
		"FuzzParseJWK": {"single": single, "one-key-set": oneKey, "cookbook-set": []byte(cookbookJWKS), "number": []byte("1")},
		"FuzzDecodeETKs": {
			"cookbook": []byte(cookbookETKs),
			"several":  []byte(`[{"key":{"cbe":"0123456789"},"value":"MIAA"},{"key":{"cbe":"123456789","applicationIdentifier":"X"},"value":"MIAB"},{"key":{"ssin":"1"},"value":"MA=="}]`),
			"empty":    []byte(`[]`), "object": []byte(`{"key":{}}`),
		},
		"FuzzDecodeKeyHolder": {
			"cookbook": []byte(cookbookKeyHolder),
			"person":   []byte(`{"keyholder":{"person":{"ssin":"85010100123","name":"Doe John"}},"exp":-1}`),
			"empty":    []byte(`{"keyholder":{}}`),
		},
		"FuzzDecodeEntry": {
			"entry":         []byte(`{"v":1,"key":"etks\u0000CBE\u00000123456789\u0000","stored":"2025-03-01T12:00:00Z","expires":"2025-03-01T20:00:00Z","body":` + cookbookETKs + `}`),
			"wrong-version": []byte(`{"v":2,"key":"x","body":[]}`),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			write(t, filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data))
		}
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseJWKS: any input is parsed without panic, and what is accepted has a verified chain.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(cookbookJWKS))
	roots := fixtureRoots(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseJWKS(data, VerifyOptions{Roots: roots, Time: refTime, Use: "enc"})
		if err != nil {
			if s != nil {
				t.Fatal("a set and an error")
			}
			return
		}
		for _, k := range s.Keys {
			if len(k.Certificates) == 0 || len(k.Chain) < 2 || !k.Chain[len(k.Chain)-1].IsCA || !publicKeysEqual(k.Public, k.Leaf().PublicKey) {
				t.Fatalf("accepted key %q without a verified chain", k.KID)
			}
			if k.Use != "" && k.Use != "enc" {
				t.Fatalf("accepted key of use %q", k.Use)
			}
			if enc := k.Leaf(); !isEncryptionCertificate(enc) || len(k.Certificates) < 2 ||
				k.Certificates[1].CheckSignature(enc.SignatureAlgorithm, enc.RawTBSCertificate, enc.Signature) != nil {
				t.Fatalf("accepted encryption key %q whose leaf is not an encryption certificate signed by x5c[1]", k.KID)
			}
			if got, ok := s.Key(k.KID); k.KID != "" && (!ok || got == nil) {
				t.Fatalf("kid %q not in the map", k.KID)
			}
		}
	})
}

// FuzzParseJWK: a single key or a one-key set, without panic.
func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"EC","crv":"P-384","x":"AA","y":"AA","x5c":["AA=="]}`))
	roots := fixtureRoots(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseJWK(data, VerifyOptions{Roots: roots, Time: refTime})
		if err == nil && (k == nil || len(k.Chain) < 2) {
			t.Fatal("accepted a key without a verified chain")
		}
	})
}

// FuzzDecodeETKs: any GET /etks answer decodes without panic; what is returned is for the identifier asked.
func FuzzDecodeETKs(f *testing.F) {
	f.Add([]byte(cookbookETKs))
	want := Identity{Type: "CBE", Value: "0123456789"}
	c := &Client{ValidateETK: (&recorder{}).validate}
	check, err := c.etkCheck()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := c.decodeETKs(context.Background(), "GET /etks", data, want, refTime, check)
		if err != nil {
			return
		}
		if len(entries) == 0 {
			t.Fatal("no entries and no error")
		}
		for _, e := range entries {
			if e.Type != want.Type || e.Value != want.Value || len(e.ETK) == 0 || e.ETK[0] != 0x30 {
				t.Fatalf("entry %+v for %+v", e.Identity, want)
			}
		}
	})
}

// FuzzDecodeKeyHolder: any GET /keyholders answer decodes without panic.
func FuzzDecodeKeyHolder(f *testing.F) {
	f.Add([]byte(cookbookKeyHolder))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeKeyHolder("GET /keyholders/{kid}", data)
		if err == nil && h.Kind == "" {
			t.Fatal("a key holder without a kind")
		}
	})
}

// FuzzDecodeEntry: any cache file decodes without panic and only as the entry of its own lookup.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"v":1,"key":"k","stored":"2025-03-01T12:00:00Z","expires":"2025-03-01T20:00:00Z","body":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEntry(data, "k")
		if err == nil && (e.Key != "k" || len(e.Body) == 0) {
			t.Fatal("entry of another lookup accepted")
		}
	})
}
