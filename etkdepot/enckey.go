package etkdepot

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/ehcert/ehcert/certreq"
)

// EncryptionKeyProblem names one reason why the x5c chain of an encryption key ("use":"enc") was refused.
type EncryptionKeyProblem string

// The problems of an encryption key's x5c chain. The chain of an eHealth encryption key is [encryption
// certificate, the holder's authentication certificate, CA certificates...]: the encryption certificate is
// issued by the holder (subject = issuer = the authentication certificate's subject) and signed with the
// authentication key (FACTS §8, §10), so it cannot be verified as an ordinary X.509 path.
const (
	// EncNoAuthCertificate: the chain holds only one certificate, no authentication certificate after the
	// encryption certificate.
	EncNoAuthCertificate EncryptionKeyProblem = "ENC_NO_AUTHENTICATION_CERT"
	// EncInvalidKeyUsage: the first certificate is not an encryption certificate: it lacks keyEncipherment or
	// dataEncipherment, or may sign certificates.
	EncInvalidKeyUsage EncryptionKeyProblem = "ENC_CERT_INVALID_KEYUSAGE"
	// EncIsCA: the encryption certificate is a CA certificate.
	EncIsCA EncryptionKeyProblem = "ENC_CERT_IS_CA"
	// EncNotValidAtTime: the encryption certificate is expired or not yet valid at the verification time.
	EncNotValidAtTime EncryptionKeyProblem = "ENC_CERT_NOT_VALID_AT_TIME"
	// EncSignatureNotValid: the encryption certificate's signature does not verify with the authentication
	// certificate's public key.
	EncSignatureNotValid EncryptionKeyProblem = "ENC_CERT_SIGNATURE_NOT_VALID"
	// EncSubjectMismatch: the encryption certificate's subject (or issuer) is not the authentication
	// certificate's subject.
	EncSubjectMismatch EncryptionKeyProblem = "ENC_CERT_SUBJECT_MISMATCH"
	// EncAuthIsCA: the second certificate, which must be the holder's authentication certificate, is a CA.
	EncAuthIsCA EncryptionKeyProblem = "ENC_AUTHENTICATION_CERT_IS_CA"
	// EncAuthUntrusted: the authentication certificate does not chain, through the remaining certificates of
	// x5c, to the trust anchors at the verification time. Err is the crypto/x509 error.
	EncAuthUntrusted EncryptionKeyProblem = "ENC_AUTHENTICATION_CERT_UNTRUSTED"
)

// EncryptionKeyError says why the x5c chain of an encryption key was refused. It is the Err of the Rejection
// of that key (find it with errors.As).
type EncryptionKeyError struct {
	Problem EncryptionKeyProblem
	// Err is the detail; for EncNotValidAtTime and EncAuthUntrusted, a crypto/x509 error.
	Err error
}

// Error renders the problem and its detail.
func (e *EncryptionKeyError) Error() string {
	if e.Err == nil {
		return "x5c chain of the encryption key: " + string(e.Problem)
	}
	return "x5c chain of the encryption key: " + string(e.Problem) + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *EncryptionKeyError) Unwrap() error { return e.Err }

func encErr(p EncryptionKeyProblem, format string, args ...any) *EncryptionKeyError {
	return &EncryptionKeyError{Problem: p, Err: fmt.Errorf(format, args...)}
}

// isEncryptionCertificate reports whether c looks like an eHealth encryption certificate: keyEncipherment and
// dataEncipherment, neither digitalSignature nor keyCertSign, not a CA. It decides how a key without a "use"
// is verified.
func isEncryptionCertificate(c *x509.Certificate) bool {
	need := x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	return c.KeyUsage&need == need && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign) == 0 &&
		!(c.BasicConstraintsValid && c.IsCA)
}

// verifyEncryptionChain verifies the x5c chain of an encryption key: certs[0] is an encryption certificate
// (keyEncipherment and dataEncipherment, no keyCertSign, not a CA) valid at t, signed with the public key of
// certs[1], whose subject is also its subject and issuer (compared as distinguished names, whatever the RDN
// order or string types); certs[1] is not a CA and verifies against roots at t through certs[2:]. The result
// is the encryption certificate followed by the verified path of the authentication certificate. Each failure
// is an *EncryptionKeyError.
func verifyEncryptionChain(certs []*x509.Certificate, roots *x509.CertPool, t time.Time) ([]*x509.Certificate, error) {
	enc := certs[0]
	if len(certs) < 2 {
		return nil, encErr(EncNoAuthCertificate, "x5c holds only the encryption certificate")
	}
	auth := certs[1]
	if enc.BasicConstraintsValid && enc.IsCA {
		return nil, encErr(EncIsCA, "%q is a CA certificate", enc.Subject.String())
	}
	need := x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	if enc.KeyUsage&need != need || enc.KeyUsage&x509.KeyUsageCertSign != 0 {
		return nil, encErr(EncInvalidKeyUsage, "key usage %s, want keyEncipherment and dataEncipherment without keyCertSign", keyUsageNames(enc.KeyUsage))
	}
	if t.Before(enc.NotBefore) {
		return nil, &EncryptionKeyError{Problem: EncNotValidAtTime, Err: x509.CertificateInvalidError{Cert: enc, Reason: x509.Expired,
			Detail: "the encryption certificate is not valid before " + enc.NotBefore.UTC().Format(time.RFC3339)}}
	}
	if t.After(enc.NotAfter) {
		return nil, &EncryptionKeyError{Problem: EncNotValidAtTime, Err: x509.CertificateInvalidError{Cert: enc, Reason: x509.Expired,
			Detail: "the encryption certificate expired at " + enc.NotAfter.UTC().Format(time.RFC3339)}}
	}
	if err := auth.CheckSignature(enc.SignatureAlgorithm, enc.RawTBSCertificate, enc.Signature); err != nil {
		return nil, &EncryptionKeyError{Problem: EncSignatureNotValid, Err: fmt.Errorf("not signed by the key of x5c[1] %q: %w", auth.Subject.String(), err)}
	}
	if !dnEqual(enc.RawSubject, auth.RawSubject) {
		return nil, encErr(EncSubjectMismatch, "subject %q differs from the authentication certificate's %q", enc.Subject.String(), auth.Subject.String())
	}
	if !dnEqual(enc.RawIssuer, auth.RawSubject) {
		return nil, encErr(EncSubjectMismatch, "issuer %q is not the authentication certificate's subject %q", enc.Issuer.String(), auth.Subject.String())
	}
	if auth.BasicConstraintsValid && auth.IsCA {
		return nil, encErr(EncAuthIsCA, "x5c[1] %q is a CA certificate, not the holder's authentication certificate", auth.Subject.String())
	}
	chain, err := verifyChain(certs[1:], roots, t)
	if err != nil {
		return nil, &EncryptionKeyError{Problem: EncAuthUntrusted, Err: err}
	}
	return append([]*x509.Certificate{enc}, chain...), nil
}

func keyUsageNames(ku x509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var set []string
	for i, n := range names {
		if ku&(1<<i) != 0 {
			set = append(set, n)
		}
	}
	return "(" + strings.Join(set, ", ") + ")"
}

// dnEqual reports whether two DER distinguished names name the same entity (certreq.EquivalentRawDN: RDN order,
// string types, case and spaces do not matter, as Java's LdapName compares them).
func dnEqual(a, b []byte) bool { return certreq.EquivalentRawDN(a, b) }
