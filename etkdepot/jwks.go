package etkdepot

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// JWKS is a verified JWK set of the depot (cookbook §5.2.2): the keys that passed every check, and the ones that
// did not.
type JWKS struct {
	// Keys are the accepted keys, in the depot's order.
	Keys []*Key
	// Rejected lists the keys of the answer that were refused, with the reason.
	Rejected []Rejection
	// FetchedAt is when the depot gave this answer.
	FetchedAt time.Time
	// Stale is true when the answer comes from the cache after its time to live, because the depot failed.
	Stale bool

	byKID map[string]*Key
}

// Key returns the accepted key with the kid.
func (s *JWKS) Key(kid string) (*Key, bool) {
	if s == nil {
		return nil, false
	}
	k, ok := s.byKID[kid]
	return k, ok
}

// KeysByID returns a new map from kid to accepted key (keys without a kid are left out).
func (s *JWKS) KeysByID() map[string]*Key {
	out := make(map[string]*Key, len(s.byKID))
	for k, v := range s.byKID {
		out[k] = v
	}
	return out
}

// Key is one verified public key of a JWK set. Keys are shared with the client's cache: do not modify them.
type Key struct {
	// KID is the key id ("kid"), the handle of JWK and KeyHolder.
	KID string
	// Use is "sig" or "enc" ("" when the depot gave none).
	Use string
	// Algorithm is the "alg" member, usually empty.
	Algorithm string
	// Public is the public key: *rsa.PublicKey or *ecdsa.PublicKey.
	Public crypto.PublicKey
	// Certificates is the x5c chain as given, leaf first.
	Certificates []*x509.Certificate
	// Chain is the chain that was verified: leaf first, a trust anchor last. For an encryption key, the
	// encryption certificate is followed by the verified path of the holder's authentication certificate.
	Chain []*x509.Certificate
	// ThumbprintSHA256 is the SHA-256 of the DER leaf certificate (the JWK's "x5t#S256", base64url-decoded), by
	// which consumers find their private key (FACTS §13).
	ThumbprintSHA256 []byte
	// JSONWebKey is the key as go-jose parsed it, for use with go-jose.
	JSONWebKey jose.JSONWebKey
	// FetchedAt and Stale are set on the keys Client.JWK returns (see JWKS.FetchedAt and JWKS.Stale for the keys
	// of a set): when the depot gave the answer, and whether it was served from the cache because the depot
	// failed.
	FetchedAt time.Time
	Stale     bool
}

// Leaf returns the key's certificate, the first of the x5c chain (nil when there is none).
func (k *Key) Leaf() *x509.Certificate {
	if len(k.Certificates) == 0 {
		return nil
	}
	return k.Certificates[0]
}

// Thumbprint returns the base64url (unpadded) SHA-256 thumbprint of the leaf certificate, the JWK's x5t#S256.
func (k *Key) Thumbprint() string { return base64.RawURLEncoding.EncodeToString(k.ThumbprintSHA256) }

// VerifyOptions say how the keys of a JWK set are checked.
type VerifyOptions struct {
	// Roots are the trust anchors the x5c chains must lead to. Required.
	Roots *x509.CertPool
	// Time is the moment the chains must be valid at. Required (ParseJWKS is a pure function).
	Time time.Time
	// Use, when not empty, refuses keys whose "use" is another one.
	Use string
}

// maxJWKSKeys bounds the number of keys looked at in one set; the rest are rejected unparsed.
const maxJWKSKeys = 256

// maxX5C bounds the length of one x5c chain.
const maxX5C = 10

// ParseJWKS parses and verifies an RFC 7517 JWK set. A key is accepted when go-jose parses it as a public RSA or
// EC key, it carries an x5c chain whose leaf holds that same public key, its x5t#S256 (when present) is the
// SHA-256 of the leaf, the chain verifies against opts.Roots at opts.Time, its use matches opts.Use, and no
// earlier key has its kid.
//
// How the chain verifies depends on the key's use ("use", else opts.Use, else "enc" when the leaf has the key
// usages of an encryption certificate). A signature key's chain is an X.509 path: leaf, issuing CAs. An
// encryption key's chain is [encryption certificate, authentication certificate, CAs...]: the encryption
// certificate is signed by the holder's authentication key, which is not a CA (FACTS §8), so it is checked as
// the ETK checks do (see EncryptionKeyError for each reason of refusal) and the authentication certificate
// must verify as an X.509 path against opts.Roots at opts.Time. Other keys go to Rejected with the reason: one bad key does not hide the others
// (RFC 7517 §5 asks to ignore keys that are not understood). The error is non-nil only when data is not a JWK
// set at all or the options are incomplete.
func ParseJWKS(data []byte, opts VerifyOptions) (*JWKS, error) {
	const op = "parse JWK set"
	if opts.Roots == nil {
		return nil, ErrNoRoots
	}
	if opts.Time.IsZero() {
		return nil, &QueryError{Field: "VerifyOptions.Time", Reason: "zero"}
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, &DecodeError{Op: op, Reason: "not a JSON object with a keys array", Err: err}
	}
	if set.Keys == nil {
		return nil, &DecodeError{Op: op, Reason: `no "keys" member`}
	}
	out := &JWKS{byKID: map[string]*Key{}}
	for i, raw := range set.Keys {
		if i >= maxJWKSKeys {
			out.Rejected = append(out.Rejected, Rejection{Index: i, Err: fmt.Errorf("more than %d keys in the set", maxJWKSKeys)})
			continue
		}
		k, err := parseKey(raw, opts)
		if err == nil && k.KID != "" {
			if _, dup := out.byKID[k.KID]; dup {
				err = errors.New("duplicate kid")
			}
		}
		if err != nil {
			out.Rejected = append(out.Rejected, Rejection{Index: i, ID: peekKID(raw), Err: err})
			continue
		}
		out.Keys = append(out.Keys, k)
		if k.KID != "" {
			out.byKID[k.KID] = k
		}
	}
	return out, nil
}

// ParseJWK parses and verifies one key, as ParseJWKS does for each key of a set. It also accepts a JWK set that
// holds exactly one key, since the cookbook does not show the body of GET /pubKeys/cacerts/jwks/{kid}.
func ParseJWK(data []byte, opts VerifyOptions) (*Key, error) {
	const op = "parse JWK"
	if opts.Roots == nil {
		return nil, ErrNoRoots
	}
	if opts.Time.IsZero() {
		return nil, &QueryError{Field: "VerifyOptions.Time", Reason: "zero"}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, &DecodeError{Op: op, Reason: "not a JSON object", Err: err}
	}
	if _, isSet := probe["keys"]; isSet {
		if _, isKey := probe["kty"]; !isKey {
			set, err := ParseJWKS(data, opts)
			if err != nil {
				return nil, err
			}
			switch {
			case len(set.Keys) == 1 && len(set.Rejected) == 0:
				return set.Keys[0], nil
			case len(set.Keys)+len(set.Rejected) == 0:
				return nil, fmt.Errorf("etkdepot: %s: empty JWK set: %w", op, ErrNotFound)
			case len(set.Keys)+len(set.Rejected) > 1:
				return nil, &DecodeError{Op: op, Reason: fmt.Sprintf("a JWK set of %d keys where one key was expected", len(set.Keys)+len(set.Rejected))}
			default:
				return nil, &RejectedError{Op: op, Rejections: set.Rejected}
			}
		}
	}
	k, err := parseKey(data, opts)
	if err != nil {
		return nil, &RejectedError{Op: op, Rejections: []Rejection{{ID: peekKID(data), Err: err}}}
	}
	return k, nil
}

func peekKID(raw []byte) string {
	var p struct {
		Kid any `json:"kid"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	s, _ := p.Kid.(string)
	return s
}

// parseKey checks one JWK; see ParseJWKS.
func parseKey(raw []byte, opts VerifyOptions) (*Key, error) {
	var members struct {
		X5c     []json.RawMessage `json:"x5c"`
		X5tS256 *string           `json:"x5t#S256"`
	}
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, &DecodeError{Op: "parse JWK", Reason: "not a JSON object", Err: err}
	}
	if len(members.X5c) == 0 {
		return nil, errors.New("no x5c certificate chain")
	}
	if len(members.X5c) > maxX5C {
		return nil, fmt.Errorf("x5c chain of %d certificates (at most %d)", len(members.X5c), maxX5C)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("invalid JWK: %w", err)
	}
	if !jwk.IsPublic() {
		return nil, errors.New("not a public key (private key material present)")
	}
	switch jwk.Key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("unsupported key type %T", jwk.Key)
	}
	if len(jwk.Certificates) == 0 {
		return nil, errors.New("no x5c certificate chain")
	}
	leaf := jwk.Certificates[0]
	sum := sha256.Sum256(leaf.Raw)
	// go-jose checks the thumbprint against the leaf too; checked here again because this is a promise of ours.
	if members.X5tS256 != nil {
		if len(jwk.CertificateThumbprintSHA256) == 0 || !bytes.Equal(jwk.CertificateThumbprintSHA256, sum[:]) {
			return nil, errors.New("x5t#S256 is not the SHA-256 of the x5c leaf certificate")
		}
	}
	if !publicKeysEqual(jwk.Key, leaf.PublicKey) {
		return nil, errors.New("the key is not the public key of the x5c leaf certificate")
	}
	if opts.Use != "" && jwk.Use != "" && jwk.Use != opts.Use {
		return nil, fmt.Errorf("use %q where %q was asked for", jwk.Use, opts.Use)
	}
	use := jwk.Use
	if use == "" {
		use = opts.Use
	}
	if use == "" && isEncryptionCertificate(leaf) {
		use = "enc"
	}
	var (
		chain []*x509.Certificate
		err   error
	)
	if use == "enc" {
		chain, err = verifyEncryptionChain(jwk.Certificates, opts.Roots, opts.Time)
	} else {
		chain, err = verifyChain(jwk.Certificates, opts.Roots, opts.Time)
	}
	if err != nil {
		return nil, err
	}
	return &Key{
		KID:              jwk.KeyID,
		Use:              jwk.Use,
		Algorithm:        jwk.Algorithm,
		Public:           jwk.Key,
		Certificates:     jwk.Certificates,
		Chain:            chain,
		ThumbprintSHA256: sum[:],
		JSONWebKey:       jwk,
	}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// verifyChain verifies certs[0] against roots at t, with certs[1:] as intermediates. eHealth certificates carry
// the clientAuth and emailProtection extended key usages, so any extended key usage is accepted.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, t time.Time) ([]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("x5c chain: %w", err)
	}
	return chains[0], nil
}

// notAfter returns the earliest NotAfter of the verified chains of the set's keys (zero when there are none):
// past it, a cached set must be verified again.
func (s *JWKS) notAfter() time.Time {
	var t time.Time
	for _, k := range s.Keys {
		t = earliest(t, chainNotAfter(k.Chain))
	}
	return t
}

func chainNotAfter(chain []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range chain {
		t = earliest(t, c.NotAfter)
	}
	return t
}

// earliest returns the earlier of a and b, a zero time meaning "no bound".
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}
