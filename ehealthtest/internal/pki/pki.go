// Package pki is the certificate authority machinery of ehealthtest: RSA and ECDSA keys, CA certificates, issuing leaf
// certificates from templates, and PEM encoding for the state directory.
//
// Everything here is for a local test platform: keys are generated with crypto/rand, never reused across
// servers, and the validity windows are generous so that a test that moves the simulated clock by years keeps
// a working hierarchy.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// KeyBits is the size of every RSA key the platform generates.
const KeyBits = 2048

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewKey generates an RSA key.
func NewKey(r io.Reader) (*rsa.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	return rsa.GenerateKey(r, KeyBits)
}

// NewECDSAKey generates an ECDSA key on NIST P-384 (the curve of current Belgian eID cards).
func NewECDSAKey(r io.Reader) (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P384(), randOr(r))
}

// SignatureAlgorithmFor returns the algorithm a CA with this key signs certificates with: sha256WithRSA for RSA,
// ecdsa-with-SHA256 for P-256 and ecdsa-with-SHA384 for P-384 and P-521.
func SignatureAlgorithmFor(key crypto.Signer) (x509.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return x509.ECDSAWithSHA256, nil
		}
		return x509.ECDSAWithSHA384, nil
	}
	return x509.UnknownSignatureAlgorithm, fmt.Errorf("pki: unsupported CA key %T", key.Public())
}

// RandomSerial returns a random positive 63-bit serial number.
func RandomSerial(r io.Reader) (*big.Int, error) {
	if r == nil {
		r = rand.Reader
	}
	n, err := rand.Int(r, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// KeyID is the RFC 5280 method-1 key identifier of a public key: SHA-1 of the subjectPublicKey BIT STRING
// contents. It is the eHealth PublicKeyIdentifier and the SubjectKeyIdentifier of the certificates issued here.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return KeyIDFromSPKI(der)
}

// KeyIDFromSPKI is KeyID for a DER SubjectPublicKeyInfo.
func KeyIDFromSPKI(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(spki, &info)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("pki: trailing data after SubjectPublicKeyInfo")
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// NewRoot creates a self-signed root CA valid from notBefore for the given duration.
func NewRoot(r io.Reader, subject pkix.Name, notBefore time.Time, validity time.Duration) (*CA, error) {
	key, err := NewKey(r)
	if err != nil {
		return nil, err
	}
	return NewRootWithKey(r, key, subject, notBefore, validity)
}

// NewRootWithKey is NewRoot with a given key.
func NewRootWithKey(r io.Reader, key crypto.Signer, subject pkix.Name, notBefore time.Time, validity time.Duration) (*CA, error) {
	serial, err := RandomSerial(r)
	if err != nil {
		return nil, err
	}
	ski, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	alg, err := SignatureAlgorithmFor(key)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    alg,
	}
	der, err := x509.CreateCertificate(randOr(r), tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate creates a CA certificate signed by parent, with a fresh key.
func (parent *CA) NewIntermediate(r io.Reader, subject pkix.Name, notBefore time.Time, validity time.Duration) (*CA, error) {
	key, err := NewKey(r)
	if err != nil {
		return nil, err
	}
	return parent.NewIntermediateWithKey(r, key, subject, notBefore, validity)
}

// NewIntermediateWithKey is NewIntermediate with a given key.
func (parent *CA) NewIntermediateWithKey(r io.Reader, key crypto.Signer, subject pkix.Name, notBefore time.Time, validity time.Duration) (*CA, error) {
	tmpl := &x509.Certificate{
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	cert, err := parent.Issue(r, tmpl, key.Public())
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue signs a certificate for pub from tmpl. It fills in a random serial number when tmpl has none, the
// SubjectKeyIdentifier (method 1) when tmpl has none, and the signature algorithm of the CA's key
// (SignatureAlgorithmFor) when tmpl has none. tmpl is not modified.
func (parent *CA) Issue(r io.Reader, tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	t := *tmpl
	if t.SerialNumber == nil {
		s, err := RandomSerial(r)
		if err != nil {
			return nil, err
		}
		t.SerialNumber = s
	}
	if len(t.SubjectKeyId) == 0 {
		ski, err := KeyID(pub)
		if err != nil {
			return nil, err
		}
		t.SubjectKeyId = ski
	}
	if t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		alg, err := SignatureAlgorithmFor(parent.Key)
		if err != nil {
			return nil, err
		}
		t.SignatureAlgorithm = alg
	}
	der, err := x509.CreateCertificate(randOr(r), &t, parent.Cert, pub, parent.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issue %s: %w", t.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// CertPEM encodes certificates as concatenated PEM "CERTIFICATE" blocks.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ParseCertsPEM decodes every "CERTIFICATE" block of data.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("pki: no certificate in PEM data")
	}
	return out, nil
}

// KeyPEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block.
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM decodes a PKCS#8 "PRIVATE KEY" PEM block.
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("pki: no PKCS#8 private key in PEM data")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("pki: private key is not a signer")
	}
	return s, nil
}
