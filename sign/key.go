package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ehcert/ehcert/keystore"
)

// Key is a private key that can sign requests: a crypto.Signer plus the certificate chain that goes into the
// signature's KeyInfo.
//
// Chain returns the signer certificate first, then its issuers in ascending order, the root CA excluded
// (cookbook 001 §4.3.2). Every key source of this package (NewKey, LoadPEM, LoadPKCS12, sign/pkcs11) returns
// a Key; callers with their own signer (a KMS, an HSM through another binding) wrap it with NewKey.
type Key interface {
	crypto.Signer
	Chain() []*x509.Certificate
}

// ContextSigner is implemented by keys whose signing can block on something outside the process, such as a
// PKCS#11 token asking for its PIN. Enveloped and Keyring pass their context to SignContext when a Key
// implements it, and call Sign otherwise.
type ContextSigner interface {
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// UnsupportedKeyError reports a key whose algorithm or curve cannot sign eHealth requests. Supported: RSA
// (any size; the platform expects 2048 bits or more) and ECDSA on P-256 or P-384.
type UnsupportedKeyError struct {
	Type string // "RSA-1024", "ECDSA P-521", "Ed25519", …
}

// Error describes the problem; it holds no secret.
func (e *UnsupportedKeyError) Error() string {
	return "sign: unsupported key type " + e.Type + " (want RSA, or ECDSA P-256/P-384)"
}

// KeyMismatchError reports a chain whose first certificate does not hold the signer's public key.
type KeyMismatchError struct {
	Subject string // subject of the certificate that was expected to match
}

// Error describes the problem; it holds no secret.
func (e *KeyMismatchError) Error() string {
	return "sign: the private key does not match the certificate " + e.Subject
}

// ErrNoCertificate is returned when a key source holds no certificate for the key.
var ErrNoCertificate = errors.New("sign: no certificate for the private key")

// ErrEncryptedPEM is returned by LoadPEM for a password-protected PEM private key. Decrypt it first
// (openssl pkcs8 -in key.pem -out plain.pem) or keep it in a PKCS#12 keystore and use LoadPKCS12.
var ErrEncryptedPEM = errors.New("sign: encrypted PEM private keys are not supported; decrypt the key or use a PKCS#12 keystore")

// ErrIncorrectPassword is returned by LoadPKCS12 when the keystore password is wrong. The error also matches
// keystore.ErrWrongPassword with errors.Is.
var ErrIncorrectPassword = errors.New("sign: incorrect keystore password")

// AliasNotFoundError reports that a PKCS#12 keystore has no private key under the requested alias.
type AliasNotFoundError struct {
	Alias     string
	Available []string // the aliases (friendlyName) of the private keys the keystore does hold
}

// Error describes the problem; it holds no secret.
func (e *AliasNotFoundError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("sign: keystore has no private key under alias %q (it holds no named key)", e.Alias)
	}
	return fmt.Sprintf("sign: keystore has no private key under alias %q (it holds %s)", e.Alias,
		strings.Join(quoteAll(e.Available), ", "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

type incorrectPassword struct{ err error }

// Error describes the problem; it holds no secret.
func (e *incorrectPassword) Error() string { return ErrIncorrectPassword.Error() }

// Unwrap returns the underlying errors.
func (e *incorrectPassword) Unwrap() []error { return []error{ErrIncorrectPassword, e.err} }

// key is the Key returned by NewKey, LoadPEM and LoadPKCS12.
type key struct {
	crypto.Signer
	chain []*x509.Certificate
}

func (k *key) Chain() []*x509.Certificate { return k.chain }

// SignContext passes the context on when the wrapped signer takes one.
func (k *key) SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if cs, ok := k.Signer.(ContextSigner); ok {
		return cs.SignContext(ctx, rand, digest, opts)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return k.Signer.Sign(rand, digest, opts)
}

// String never prints key material.
func (k *key) String() string {
	if len(k.chain) == 0 {
		return "sign.Key{}"
	}
	return "sign.Key{" + k.chain[0].Subject.String() + "}"
}

// NewKey wraps a caller's signer (an in-memory key, a KMS, an HSM) and its certificate chain, leaf first.
//
// It checks that chain[0] holds s.Public() and that the algorithm is supported. A self-signed last certificate
// (a root CA) is dropped from a chain of two or more, as the platform wants the root excluded; the slice is
// copied, never modified.
func NewKey(s crypto.Signer, chain []*x509.Certificate) (Key, error) {
	if s == nil {
		return nil, errors.New("sign: NewKey: nil signer")
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, ErrNoCertificate
	}
	for _, c := range chain {
		if c == nil {
			return nil, errors.New("sign: NewKey: nil certificate in chain")
		}
	}
	if _, err := algorithmFor(s.Public()); err != nil {
		return nil, err
	}
	if !publicKeysEqual(s.Public(), chain[0].PublicKey) {
		return nil, &KeyMismatchError{Subject: chain[0].Subject.String()}
	}
	return &key{Signer: s, chain: trimRoot(chain)}, nil
}

// trimRoot returns a copy of chain without a trailing self-signed certificate, unless the chain is the single
// (self-signed) leaf.
func trimRoot(chain []*x509.Certificate) []*x509.Certificate {
	out := append([]*x509.Certificate(nil), chain...)
	for len(out) > 1 && isSelfSigned(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return out
}

func isSelfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) {
		return false
	}
	return c.CheckSignatureFrom(c) == nil || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	ea, ok := a.(equaler)
	return ok && ea.Equal(b)
}

// ChainFor returns leaf followed by its issuers found among candidates, in ascending order, the way KeyInfo
// wants them: it stops before a self-signed certificate (the root is excluded) or when no issuer is found.
// An issuer must have the leaf's issuer name and have signed it. Key sources use it to order the
// certificates of a keystore or a token.
func ChainFor(leaf *x509.Certificate, candidates []*x509.Certificate) []*x509.Certificate {
	return buildChain(leaf, candidates)
}

func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	used := map[*x509.Certificate]bool{leaf: true}
	cur := leaf
	for len(chain) < 16 {
		if isSelfSigned(cur) {
			break
		}
		var next *x509.Certificate
		for _, c := range pool {
			if used[c] || c.Equal(cur) || !bytes.Equal(c.RawSubject, cur.RawIssuer) {
				continue
			}
			if cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil || isSelfSigned(next) {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain
}

// LoadPEM reads a private key and its certificates from PEM.
//
// keyPEM holds one unencrypted private key: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1
// ("EC PRIVATE KEY"); an "EC PARAMETERS" block is skipped. An encrypted key is refused with ErrEncryptedPEM.
// chainPEM holds "CERTIFICATE" blocks in any order (certificates found in keyPEM are used too, so a combined
// file may be passed as both). The certificate holding the key's public key becomes the leaf, followed by its
// issuers from the other certificates; a self-signed root is left out.
func LoadPEM(keyPEM, chainPEM []byte) (Key, error) {
	var (
		signer crypto.Signer
		certs  []*x509.Certificate
	)
	for _, in := range [][]byte{keyPEM, chainPEM} {
		rest := in
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			switch block.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("sign: parse PEM certificate: %w", err)
				}
				certs = append(certs, c)
			case "ENCRYPTED PRIVATE KEY":
				return nil, ErrEncryptedPEM
			case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
				if _, enc := block.Headers["DEK-Info"]; enc || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
					return nil, ErrEncryptedPEM
				}
				if signer != nil {
					return nil, errors.New("sign: PEM input holds more than one private key")
				}
				s, err := parsePrivateKey(block.Type, block.Bytes)
				if err != nil {
					return nil, err
				}
				signer = s
			}
		}
	}
	if signer == nil {
		return nil, errors.New("sign: no PEM private key found")
	}
	return keyWithChain(signer, certs, nil)
}

func parsePrivateKey(typ string, der []byte) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		// The parser's message names the format only; no key bytes are in it.
		return nil, fmt.Errorf("sign: parse %s: %w", strings.ToLower(typ), err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, &UnsupportedKeyError{Type: fmt.Sprintf("%T", k)}
	}
	return s, nil
}

// keyWithChain finds the certificate of signer among certs (or uses leaf when given) and builds the chain.
func keyWithChain(signer crypto.Signer, certs []*x509.Certificate, leaf *x509.Certificate) (Key, error) {
	if _, err := algorithmFor(signer.Public()); err != nil {
		return nil, err
	}
	if leaf == nil {
		for _, c := range certs {
			if publicKeysEqual(signer.Public(), c.PublicKey) {
				leaf = c
				break
			}
		}
	}
	if leaf == nil {
		return nil, ErrNoCertificate
	}
	return NewKey(signer, buildChain(leaf, certs))
}

// DefaultPKCS12Alias is the alias of the authentication key in a keystore written by the eHealth connector
// (FACTS §9).
const DefaultPKCS12Alias = "authentication"

// LoadPKCS12 reads one private key and its chain from a PKCS#12 keystore, such as the eHealth keystore the
// Java connector writes (several key entries, one password for the store and every entry).
//
// alias selects the key entry by its friendlyName, compared case-insensitively; "" means
// DefaultPKCS12Alias, or the only key when the keystore holds exactly one. The key's certificate is the one
// with the same localKeyId (or else the one holding the same public key), followed by the keystore's other
// certificates that chain up from it, the root excluded. A wrong password gives an error matching
// ErrIncorrectPassword; a missing alias gives *AliasNotFoundError listing the aliases that exist.
//
// LoadPKCS12 reads every keystore the eHealth tools write (DER or BER, with or without trusted-certificate
// entries, PBES2 or the legacy PKCS#12 ciphers) through package keystore.
func LoadPKCS12(data []byte, password []byte, alias string) (Key, error) {
	ks, err := keystore.Decode(data, password)
	if err != nil {
		if errors.Is(err, keystore.ErrWrongPassword) {
			return nil, &incorrectPassword{err: err}
		}
		return nil, fmt.Errorf("sign: read PKCS#12: %w", err)
	}
	want := alias
	if want == "" {
		want = DefaultPKCS12Alias
	}
	var chosen *keystore.KeyEntry
	for i := range ks.Keys {
		if strings.EqualFold(ks.Keys[i].Alias, want) {
			chosen = &ks.Keys[i]
			break
		}
	}
	if chosen == nil && alias == "" && len(ks.Keys) == 1 {
		chosen = &ks.Keys[0]
	}
	if chosen == nil {
		e := &AliasNotFoundError{Alias: want}
		for _, k := range ks.Keys {
			e.Available = append(e.Available, k.Alias)
		}
		return nil, e
	}
	signer, ok := chosen.Key.(crypto.Signer)
	if !ok {
		return nil, &UnsupportedKeyError{Type: fmt.Sprintf("%T", chosen.Key)}
	}
	certs := append([]*x509.Certificate(nil), chosen.Chain...)
	for _, t := range ks.Trusted {
		certs = append(certs, t.Certificate)
	}
	var leaf *x509.Certificate
	for _, c := range chosen.Chain {
		if publicKeysEqual(signer.Public(), c.PublicKey) {
			leaf = c
			break
		}
	}
	return keyWithChain(signer, certs, leaf)
}

// algorithm is what a public key signs with in the eHealth profile.
type algorithm struct {
	uri       string      // SignatureMethod Algorithm
	hash      crypto.Hash // hash of the canonical SignedInfo
	ecdsaSize int         // >0 for ECDSA: byte length of r and s
}

const (
	// AlgRSASHA256 is the signature method for RSA keys (the one the cookbook requires).
	AlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	// AlgECDSASHA256 is the signature method for ECDSA P-256 keys.
	AlgECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	// AlgECDSASHA384 is the signature method for ECDSA P-384 keys (current Belgian eID cards).
	AlgECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	// AlgSHA256 is the digest method of the Reference, for every key.
	AlgSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	// AlgExcC14N is exclusive canonicalization without comments, for SignedInfo and as the last transform.
	AlgExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
	// AlgEnveloped is the enveloped-signature transform.
	AlgEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

func algorithmFor(pub crypto.PublicKey) (algorithm, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return algorithm{uri: AlgRSASHA256, hash: crypto.SHA256}, nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return algorithm{uri: AlgECDSASHA256, hash: crypto.SHA256, ecdsaSize: 32}, nil
		case elliptic.P384():
			return algorithm{uri: AlgECDSASHA384, hash: crypto.SHA384, ecdsaSize: 48}, nil
		}
		name := "unknown curve"
		if p.Curve != nil {
			name = p.Curve.Params().Name
		}
		return algorithm{}, &UnsupportedKeyError{Type: "ECDSA " + name}
	case ed25519.PublicKey:
		return algorithm{}, &UnsupportedKeyError{Type: "Ed25519"}
	case nil:
		return algorithm{}, &UnsupportedKeyError{Type: "no public key"}
	}
	return algorithm{}, &UnsupportedKeyError{Type: fmt.Sprintf("%T", pub)}
}
