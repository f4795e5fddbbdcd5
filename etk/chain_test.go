package etk

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"
)

// sha1Chain returns root -> intermediate -> leaf where the intermediate and the leaf are signed with SHA-1.
func sha1Chain(t *testing.T, mod func(inter, leaf *x509.Certificate)) (root, inter, leaf *x509.Certificate) {
	t.Helper()
	rootKey, interKey, leafKey := rsaKey(t, 0), rsaKey(t, 1), rsaKey(t, 4)
	root = issue(t, caTemplate("Legacy Root"), nil, &rootKey.PublicKey, rootKey)
	it := caTemplate("Legacy CA")
	it.SignatureAlgorithm = x509.SHA1WithRSA
	lt := &x509.Certificate{
		Subject:            pkix.Name{CommonName: "Legacy Leaf"},
		NotBefore:          authFrom,
		NotAfter:           authUntil,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA1WithRSA,
	}
	if mod != nil {
		mod(it, lt)
	}
	inter = issue(t, it, root, &interKey.PublicKey, rootKey)
	leaf = issue(t, lt, inter, &leafKey.PublicKey, interKey)
	return root, inter, leaf
}

func TestVerifyChainLegacy(t *testing.T) {
	root, inter, leaf := sha1Chain(t, nil)
	inters := []*x509.Certificate{inter}

	if _, err := verifyChain(leaf, inters, poolOf(root), nil, fixtureTime); err == nil {
		t.Fatal("crypto/x509 accepted a SHA-1 chain")
	}
	res, err := verifyChain(leaf, inters, nil, []*x509.Certificate{root}, fixtureTime)
	if err != nil {
		t.Fatalf("legacy anchor: %v", err)
	}
	if !res.legacy || len(res.chain) != 3 || res.chain[2] != root {
		t.Fatalf("legacy chain = %d certificates, legacy %v", len(res.chain), res.legacy)
	}
	// The intermediate itself may be the anchor.
	if res, err := verifyChain(leaf, nil, nil, []*x509.Certificate{inter}, fixtureTime); err != nil || len(res.chain) != 2 {
		t.Fatalf("intermediate as anchor: %v", err)
	}
	// And so may the leaf.
	if res, err := verifyChain(leaf, nil, nil, []*x509.Certificate{leaf}, fixtureTime); err != nil || len(res.chain) != 1 {
		t.Fatalf("leaf as anchor: %v", err)
	}
	if _, err := verifyChain(leaf, inters, nil, nil, fixtureTime); err != errNoAnchors {
		t.Fatalf("no anchors: %v", err)
	}
	// An unrelated legacy anchor does not help.
	if _, err := verifyChain(leaf, inters, nil, []*x509.Certificate{getPKI(t).raRoot}, fixtureTime); err == nil {
		t.Fatal("unrelated legacy anchor accepted")
	}
	// Outside the validity of the intermediate.
	if _, err := verifyChain(leaf, inters, nil, []*x509.Certificate{root}, caUntil.Add(time.Hour)); err == nil {
		t.Fatal("expired path accepted")
	}
}

func TestVerifyChainLegacyConstraints(t *testing.T) {
	tests := []struct {
		name string
		mod  func(inter, leaf *x509.Certificate)
		want string
	}{
		{"intermediate not a CA", func(inter, leaf *x509.Certificate) { inter.IsCA = false }, "not a CA"},
		{"intermediate without basic constraints", func(inter, leaf *x509.Certificate) { inter.IsCA, inter.BasicConstraintsValid = false, false }, "no basic constraints"},
		{"intermediate may not sign certificates", func(inter, leaf *x509.Certificate) { inter.KeyUsage = x509.KeyUsageDigitalSignature }, "key usage"},
		{"intermediate expired", func(inter, leaf *x509.Certificate) { inter.NotAfter = fixtureTime.Add(-time.Hour) }, "expired"},
		{"unhandled critical extension", func(inter, leaf *x509.Certificate) {
			leaf.ExtraExtensions = []pkix.Extension{{Id: []int{1, 2, 3, 4}, Critical: true, Value: []byte{0x05, 0x00}}}
		}, "critical extension"},
		{"name constraints", func(inter, leaf *x509.Certificate) { inter.PermittedDNSDomains = []string{"example.com"} }, "name constraints"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, inter, leaf := sha1Chain(t, tc.mod)
			_, err := verifyChain(leaf, []*x509.Certificate{inter}, nil, []*x509.Certificate{root}, fixtureTime)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestVerifyChainLegacyPathLen(t *testing.T) {
	rootKey, interKey, leafKey := rsaKey(t, 0), rsaKey(t, 1), rsaKey(t, 4)
	rt := caTemplate("Legacy Root pathlen 0")
	rt.MaxPathLen, rt.MaxPathLenZero = 0, true
	root := issue(t, rt, nil, &rootKey.PublicKey, rootKey)
	it := caTemplate("Legacy CA")
	it.SignatureAlgorithm = x509.SHA1WithRSA
	inter := issue(t, it, root, &interKey.PublicKey, rootKey)
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, NotBefore: authFrom, NotAfter: authUntil,
		SignatureAlgorithm: x509.SHA1WithRSA}, inter, &leafKey.PublicKey, interKey)
	_, err := verifyChain(leaf, []*x509.Certificate{inter}, nil, []*x509.Certificate{root}, fixtureTime)
	if err == nil || !strings.Contains(err.Error(), "path length") {
		t.Fatalf("err = %v, want a path length error", err)
	}
}

// Many look-alike CA certificates sharing one key would make a naive search exponential.
func TestVerifyChainLegacyBudget(t *testing.T) {
	key := rsaKey(t, 6)
	var cas []*x509.Certificate
	for i := 0; i < 12; i++ {
		cas = append(cas, issue(t, caTemplate("Loop CA"), nil, &key.PublicKey, key))
	}
	leaf := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, NotBefore: authFrom, NotAfter: authUntil},
		cas[0], &rsaKey(t, 4).PublicKey, key)
	start := time.Now()
	_, err := verifyChain(leaf, cas, nil, []*x509.Certificate{getPKI(t).raRoot}, fixtureTime)
	if err == nil || !strings.Contains(err.Error(), "too many signature checks") {
		t.Fatalf("err = %v, want the signature check budget to run out", err)
	}
	t.Logf("gave up after %v", time.Since(start))
}
