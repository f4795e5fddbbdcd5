package etk

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// serialSize is the size in bytes of the challenge serial (FACTS §8).
const serialSize = 16

// ChallengeError reports a registration challenge that cannot be solved: too short, not decryptable with the
// ETK key, or whose hash does not match the decrypted serial.
type ChallengeError struct {
	Reason string
	Err    error // the decryption error, if any
}

// Error returns the reason the challenge was rejected; it never contains key material.
func (e *ChallengeError) Error() string {
	msg := "etk: invalid challenge: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the decryption error, if any.
func (e *ChallengeError) Unwrap() error { return e.Err }

// NewChallenge is the EtkRA side of StartETKRegistration: it draws a random 16-byte serial and returns
// RSA-PKCS#1 v1.5(pub, serial) || SHA-256(serial) and the serial as an unsigned integer. rand nil means
// crypto/rand.
func NewChallenge(random io.Reader, pub *rsa.PublicKey) (challenge []byte, serial *big.Int, err error) {
	if random == nil {
		random = rand.Reader
	}
	if pub == nil {
		return nil, nil, errors.New("etk: challenge: no public key")
	}
	raw := make([]byte, serialSize)
	if _, err := io.ReadFull(random, raw); err != nil {
		return nil, nil, fmt.Errorf("etk: challenge: reading random serial: %w", err)
	}
	ct, err := rsa.EncryptPKCS1v15(random, pub, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("etk: challenge: %w", err)
	}
	sum := sha256.Sum256(raw)
	return append(ct, sum[:]...), new(big.Int).SetBytes(raw), nil
}

// SolveChallenge is the client side (FACTS §8): it decrypts all but the last 32 bytes of challenge with the
// ETK key (RSA PKCS#1 v1.5, block by block when the ciphertext spans several key-size blocks), takes the first
// 16 bytes of the plaintext as the serial, checks that their SHA-256 equals the last 32 bytes of the challenge,
// and returns the serial as an unsigned integer. Failures are *ChallengeError.
func SolveChallenge(key crypto.Decrypter, challenge []byte) (*big.Int, error) {
	if key == nil {
		return nil, &ChallengeError{Reason: "no ETK key"}
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, &ChallengeError{Reason: fmt.Sprintf("the ETK key is %T, not RSA", key.Public())}
	}
	if len(challenge) <= sha256.Size {
		return nil, &ChallengeError{Reason: fmt.Sprintf("%d bytes, too short", len(challenge))}
	}
	ct, want := challenge[:len(challenge)-sha256.Size], challenge[len(challenge)-sha256.Size:]
	k := pub.Size()
	if k == 0 || len(ct)%k != 0 {
		return nil, &ChallengeError{Reason: fmt.Sprintf("ciphertext of %d bytes is not a multiple of the %d-byte key size", len(ct), k)}
	}
	var plain []byte
	for off := 0; off < len(ct); off += k {
		pt, err := key.Decrypt(rand.Reader, ct[off:off+k], &rsa.PKCS1v15DecryptOptions{})
		if err != nil {
			return nil, &ChallengeError{Reason: "cannot decrypt with the ETK key", Err: err}
		}
		plain = append(plain, pt...)
	}
	if len(plain) < serialSize {
		return nil, &ChallengeError{Reason: fmt.Sprintf("plaintext of %d bytes, want at least %d", len(plain), serialSize)}
	}
	raw := plain[:serialSize]
	sum := sha256.Sum256(raw)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, &ChallengeError{Reason: "SHA-256 of the serial does not match"}
	}
	return new(big.Int).SetBytes(raw), nil
}

// oidKeyUsage is the KeyUsage extension (RFC 5280 §4.2.1.3).
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// NewEncryptionCertificate builds the "ToBeRegistered" encryption certificate of CompleteETKRegistration exactly
// as the eHealth connector does (FACTS §8): version 3, serial = the challenge serial, subject and issuer = the
// authentication certificate's subject with its exact encoded bytes, validity copied from the authentication
// certificate, public key encPub, one extension only (KeyUsage, critical, keyEncipherment and
// dataEncipherment), signed with authKey using the authentication certificate's signature algorithm (or,
// when that algorithm is of another key type, the same hash with the key's type). RSA and ECDSA
// authentication keys are supported. rand nil means crypto/rand.
func NewEncryptionCertificate(random io.Reader, authKey crypto.Signer, authCert *x509.Certificate, encPub crypto.PublicKey, serial *big.Int) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	switch {
	case authKey == nil || authCert == nil:
		return nil, errors.New("etk: encryption certificate: no authentication key or certificate")
	case encPub == nil:
		return nil, errors.New("etk: encryption certificate: no encryption public key")
	case serial == nil || serial.Sign() <= 0:
		return nil, errors.New("etk: encryption certificate: the serial must be positive")
	}
	alg, err := encCertAlgorithm(authCert.SignatureAlgorithm, authKey.Public())
	if err != nil {
		return nil, fmt.Errorf("etk: encryption certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		RawSubject:         authCert.RawSubject,
		NotBefore:          authCert.NotBefore,
		NotAfter:           authCert.NotAfter,
		KeyUsage:           x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		SignatureAlgorithm: alg,
	}
	// The parent gives the issuer name (the authentication subject's raw bytes) and the signing key check.
	// Its SubjectKeyId is not copied as an AKI because issuer and subject are equal.
	der, err := x509.CreateCertificate(random, tmpl, authCert, encPub, authKey)
	if err != nil {
		return nil, fmt.Errorf("etk: encryption certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("etk: encryption certificate: reparsing: %w", err)
	}
	if len(cert.Extensions) != 1 || !cert.Extensions[0].Id.Equal(oidKeyUsage) || !cert.Extensions[0].Critical {
		return nil, fmt.Errorf("etk: encryption certificate: unexpected extensions (%d); only a critical KeyUsage is allowed", len(cert.Extensions))
	}
	if !bytes.Equal(cert.RawSubject, authCert.RawSubject) || !bytes.Equal(cert.RawIssuer, authCert.RawSubject) {
		return nil, errors.New("etk: encryption certificate: subject or issuer not copied exactly")
	}
	return der, nil
}

// encCertAlgorithm returns the authentication certificate's signature algorithm, as the connector uses it. When
// that algorithm does not fit the authentication key (a CA of another key type issued the certificate), it
// keeps the algorithm's hash with the key's own type: RSA PKCS#1 v1.5 or ECDSA.
func encCertAlgorithm(alg x509.SignatureAlgorithm, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch alg {
	case x509.UnknownSignatureAlgorithm, x509.MD2WithRSA, x509.MD5WithRSA:
		return 0, fmt.Errorf("cannot sign with the authentication certificate's algorithm %v", alg)
	}
	h := hashOf(alg)
	switch pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
			x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
			return alg, nil
		}
		switch h {
		case crypto.SHA1:
			return x509.SHA1WithRSA, nil
		case crypto.SHA384:
			return x509.SHA384WithRSA, nil
		case crypto.SHA512:
			return x509.SHA512WithRSA, nil
		}
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		switch alg {
		case x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
			return alg, nil
		}
		switch h {
		case crypto.SHA1:
			return x509.ECDSAWithSHA1, nil
		case crypto.SHA384:
			return x509.ECDSAWithSHA384, nil
		case crypto.SHA512:
			return x509.ECDSAWithSHA512, nil
		}
		return x509.ECDSAWithSHA256, nil
	}
	return 0, fmt.Errorf("unsupported authentication key type %T", pub)
}

// CheckEncryptionCertificate is the EtkRA side of CompleteETKRegistration: it checks a "ToBeRegistered"
// certificate against the caller's authentication certificate and the challenge serial. It returns nil or a
// *ValidationError with every problem: ETK_CERTS_INVALID (unreadable), ETK_ENCRYPTION_CERT_SERIAL_MISMATCH,
// ETK_CERTS_DO_NOT_MATCH (subject or issuer is not the authentication subject),
// ETK_ENCRYPTION_CERT_VALIDITY_MISMATCH, ETK_ENCRYPTION_CERT_HAS_INVALID_KEYUSAGE (a CA, or not both
// keyEncipherment and dataEncipherment), ETK_ENCRYPTION_CERT_HAS_INVALID_KEY (not RSA of at least 2048 bits:
// the challenge is RSA-encrypted to it) and ETK_ENCRYPTION_CERT_SIGNATURE_NOT_VALID (not signed by the
// authentication key, or signed with SHA-1 or weaker). Comparing the public key with the one sent in
// StartETKRegistration is up to the caller.
func CheckEncryptionCertificate(der []byte, authCert *x509.Certificate, serial *big.Int) error {
	v := &ValidationError{}
	if authCert == nil {
		v.addf(CodeCertsInvalid, "no authentication certificate")
		return v
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		v.addf(CodeCertsInvalid, "the encryption certificate cannot be read: %w", err)
		return v
	}
	if serial == nil || cert.SerialNumber.Cmp(serial) != 0 {
		v.addf(CodeEncryptionCertSerialMismatch, "serial %X is not the challenge serial", cert.SerialNumber)
	}
	if !dnEqual(cert.RawSubject, authCert.RawSubject) {
		v.addf(CodeCertsDoNotMatch, "subject %q is not the authentication subject %q", subjectString(cert.RawSubject), subjectString(authCert.RawSubject))
	}
	if !dnEqual(cert.RawIssuer, authCert.RawSubject) {
		v.addf(CodeCertsDoNotMatch, "issuer %q is not the authentication subject %q", subjectString(cert.RawIssuer), subjectString(authCert.RawSubject))
	}
	if !cert.NotBefore.Equal(authCert.NotBefore) || !cert.NotAfter.Equal(authCert.NotAfter) {
		v.addf(CodeEncryptionCertValidityMismatch, "validity %s..%s differs from the authentication certificate's %s..%s",
			cert.NotBefore.UTC(), cert.NotAfter.UTC(), authCert.NotBefore.UTC(), authCert.NotAfter.UTC())
	}
	if isCA(cert) {
		v.addf(CodeEncryptionCertInvalidKeyUsage, "the encryption certificate is a CA certificate")
	}
	if need := x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment; cert.KeyUsage&need != need {
		v.addf(CodeEncryptionCertInvalidKeyUsage, "key usage %s lacks keyEncipherment and/or dataEncipherment", keyUsageString(cert.KeyUsage))
	}
	if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		v.addf(CodeEncryptionCertInvalidKey, "the encryption key is %T, not RSA", cert.PublicKey)
	} else if k.N.BitLen() < 2048 {
		v.addf(CodeEncryptionCertInvalidKey, "RSA key of %d bits, at least 2048 required", k.N.BitLen())
	}
	if isSHA1(cert.SignatureAlgorithm) {
		v.addf(CodeEncryptionCertSignatureNotValid, "signed with %v; SHA-1 is not accepted for new registrations", cert.SignatureAlgorithm)
	} else if err := authCert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		v.addf(CodeEncryptionCertSignatureNotValid, "not signed by the authentication key: %w", err)
	}
	return v.orNil()
}
