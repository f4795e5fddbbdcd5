package certreq

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// MinRSABits is the smallest RSA modulus eHealth accepts for an authentication key (FACTS §6).
const MinRSABits = 2048

// CertRA error codes for a refused CSR (cookbook §7.1).
const (
	CodeCSRNotValid          = "CSR_NOT_VALID"
	CodeCSRSignatureNotValid = "CSR_SIGNATURE_NOT_VALID"
	CodeCSRNoSubject         = "CSR_INVALID_NO_SUBJECT_PRESENT"
	CodeCSRPublicKeyInvalid  = "CSR_INVALID_PUBLIC_KEY_INVALID"
	CodeCSRDNInvalid         = "CSR_INVALID_DN_INVALID"
)

var csrMessages = map[string]string{
	CodeCSRNotValid:          "The given CSR is not a valid PKCS10 CSR.",
	CodeCSRSignatureNotValid: "The given CSR has an invalid signature.",
	CodeCSRNoSubject:         "The given CSR does not contain a subject (=owner).",
	CodeCSRPublicKeyInvalid:  "The given CSR contains an invalid public key.",
	CodeCSRDNInvalid:         "The distinguished name in the CSR is not according to the eHealth policy.",
}

// CSRError is a refused certificate request. Code is the eHealth error code (CodeCSR...), Message the cookbook's
// text for it, Err the underlying cause when there is one.
type CSRError struct {
	Code string
	Err  error
}

// Message returns the cookbook's message for e.Code.
func (e *CSRError) Message() string { return csrMessages[e.Code] }

// Error implements the error interface.
func (e *CSRError) Error() string {
	s := "certreq: " + e.Code + ": " + e.Message()
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *CSRError) Unwrap() error { return e.Err }

// KeyError reports a key that eHealth does not accept for an authentication certificate.
type KeyError struct{ Reason string }

// Error implements the error interface.
func (e *KeyError) Error() string { return "certreq: unsuitable key: " + e.Reason }

// NewCSR builds the PKCS#10 request the connector sends (FACTS §6): subject = the contract DN parsed like
// X500Principal (escaped or not, see ParseDN) and encoded with EncodingX500Principal, signed SHA256WithRSA, no
// attributes and no extensions. key must be an RSA key of at least 2048 bits; it may live in a token (any
// crypto.Signer). The result is DER.
func NewCSR(rand io.Reader, key crypto.Signer, contractDN string) ([]byte, error) {
	if key == nil {
		return nil, &KeyError{Reason: "no key"}
	}
	if err := checkRSAKey(key.Public()); err != nil {
		return nil, err
	}
	seq, err := ParseDN(contractDN)
	if err != nil {
		return nil, err
	}
	if len(seq) == 0 {
		return nil, &ParseError{DN: contractDN, Msg: "empty name"}
	}
	subject, err := MarshalDN(seq, EncodingX500Principal)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{RawSubject: subject, SignatureAlgorithm: x509.SHA256WithRSA}
	der, err := x509.CreateCertificateRequest(rand, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("certreq: create CSR: %w", err)
	}
	return der, nil
}

func checkRSAKey(pub crypto.PublicKey) error {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return &KeyError{Reason: fmt.Sprintf("eHealth requires RSA, got %T", pub)}
	}
	if k.N == nil || k.N.BitLen() < MinRSABits {
		bits := 0
		if k.N != nil {
			bits = k.N.BitLen()
		}
		return &KeyError{Reason: fmt.Sprintf("RSA key of %d bits, at least %d required", bits, MinRSABits)}
	}
	return nil
}

// CheckCSR is the server side of GenerateCertificate's CSR checks, for the local test platform and for checking
// a request before sending it. It returns the parsed request, or a *CSRError carrying the eHealth code:
//   - CSR_NOT_VALID: not a PKCS#10 request;
//   - CSR_INVALID_PUBLIC_KEY_INVALID: the key is not RSA of at least 2048 bits;
//   - CSR_SIGNATURE_NOT_VALID: the self-signature does not verify, or is not RSA with SHA-256/384/512;
//   - CSR_INVALID_NO_SUBJECT_PRESENT: the subject is empty;
//   - CSR_INVALID_DN_INVALID: the subject differs from expectedDN (EqualDN: same RDNs in the same order, string
//     types ignored) or, when expectedDN is "", is not a well-formed eHealth DN (the DN Subject.DN would build
//     for the identity and name it carries).
//
// An expectedDN that does not parse is the caller's error and is returned as a *ParseError.
func CheckCSR(der []byte, expectedDN string) (*x509.CertificateRequest, error) {
	var expected pkix.RDNSequence
	if expectedDN != "" {
		var err error
		if expected, err = ParseDN(expectedDN); err != nil {
			return nil, err
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, &CSRError{Code: CodeCSRNotValid, Err: err}
	}
	if err := checkRSAKey(csr.PublicKey); err != nil {
		return nil, &CSRError{Code: CodeCSRPublicKeyInvalid, Err: err}
	}
	switch csr.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
	default:
		return nil, &CSRError{Code: CodeCSRSignatureNotValid, Err: fmt.Errorf("signature algorithm %v is not RSA with SHA-2", csr.SignatureAlgorithm)}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &CSRError{Code: CodeCSRSignatureNotValid, Err: err}
	}
	subject, err := ParseRawDN(csr.RawSubject)
	if err != nil {
		return nil, &CSRError{Code: CodeCSRNotValid, Err: err}
	}
	if len(subject) == 0 {
		return nil, &CSRError{Code: CodeCSRNoSubject}
	}
	if expectedDN != "" {
		if !EqualDN(subject, expected) {
			return nil, &CSRError{Code: CodeCSRDNInvalid, Err: errors.New("subject differs from the contract DN")}
		}
		return csr, nil
	}
	s, err := SubjectOfDN(subject)
	if err != nil {
		return nil, &CSRError{Code: CodeCSRDNInvalid, Err: err}
	}
	want, err := s.RDNs()
	if err != nil || !EqualDN(subject, want) {
		return nil, &CSRError{Code: CodeCSRDNInvalid, Err: errors.New("subject is not an eHealth distinguished name")}
	}
	return csr, nil
}

// PublicKeyIdentifier returns the eHealth PublicKeyIdentifier of a public key (FACTS §3): the SHA-1 of the
// subjectPublicKey BIT STRING contents of its SubjectPublicKeyInfo (RFC 5280 §4.2.1.2 method 1), 20 bytes. It
// is what GenerateCertificate returns for a CSR and the SubjectKeyIdentifier of the certificate eHealth issues.
func PublicKeyIdentifier(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("certreq: public key identifier: %w", err)
	}
	return PublicKeyIdentifierFromSPKI(spki)
}

// PublicKeyIdentifierFromSPKI is PublicKeyIdentifier for a DER SubjectPublicKeyInfo, for example
// x509.Certificate.RawSubjectPublicKeyInfo or x509.CertificateRequest.RawSubjectPublicKeyInfo.
func PublicKeyIdentifierFromSPKI(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(spki, &info)
	if err != nil {
		return nil, fmt.Errorf("certreq: public key identifier: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("certreq: public key identifier: trailing data after SubjectPublicKeyInfo")
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}
