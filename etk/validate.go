package etk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Problem codes reported by Validate and CheckEncryptionCertificate. The ETK_* names of the eHealth crypto
// library (FACTS §10) keep their meaning; the others are ours.
const (
	// CodeCertsInvalid: the ETK lacks a certificate it needs (no authentication certificate), or a certificate
	// cannot be read.
	CodeCertsInvalid = "ETK_CERTS_INVALID"
	// CodeCertsDoNotMatch: the encryption and authentication certificates have different subjects (or, in
	// CheckEncryptionCertificate, the issuer is not the authentication subject).
	CodeCertsDoNotMatch = "ETK_CERTS_DO_NOT_MATCH"

	// CodeEncryptionCertSignatureNotValid: the encryption certificate is not signed by the authentication key.
	CodeEncryptionCertSignatureNotValid = "ETK_ENCRYPTION_CERT_SIGNATURE_NOT_VALID"
	// CodeEncryptionCertExpired: the encryption certificate's notAfter is before the validation time.
	CodeEncryptionCertExpired = "ETK_ENCRYPTION_CERT_EXPIRED"
	// CodeEncryptionCertNotYetValid: the encryption certificate's notBefore is after the validation time.
	CodeEncryptionCertNotYetValid = "ETK_ENCRYPTION_CERT_NOT_YET_VALID"
	// CodeEncryptionCertInvalidKeyUsage: the encryption certificate is a CA or lacks keyEncipherment or
	// dataEncipherment.
	CodeEncryptionCertInvalidKeyUsage = "ETK_ENCRYPTION_CERT_HAS_INVALID_KEYUSAGE"
	// CodeEncryptionCertInvalidKey: the encryption key is too weak or of an unsupported type (ours).
	CodeEncryptionCertInvalidKey = "ETK_ENCRYPTION_CERT_HAS_INVALID_KEY"
	// CodeEncryptionCertSerialMismatch: the serial is not the challenge serial (CheckEncryptionCertificate).
	CodeEncryptionCertSerialMismatch = "ETK_ENCRYPTION_CERT_SERIAL_MISMATCH"
	// CodeEncryptionCertValidityMismatch: the validity is not the authentication certificate's
	// (CheckEncryptionCertificate).
	CodeEncryptionCertValidityMismatch = "ETK_ENCRYPTION_CERT_VALIDITY_MISMATCH"

	// CodeAuthCertInvalidKey: the authentication key is too weak (RSA below 2048 bits) or unsupported.
	CodeAuthCertInvalidKey = "ETK_AUTHENTICATION_CERT_HAS_INVALID_KEY"
	// CodeAuthCertExpired: the authentication certificate's notAfter is before the validation time.
	CodeAuthCertExpired = "ETK_AUTHENTICATION_CERT_EXPIRED"
	// CodeAuthCertNotYetValid: the authentication certificate's notBefore is after the validation time.
	CodeAuthCertNotYetValid = "ETK_AUTHENTICATION_CERT_NOT_YET_VALID"
	// CodeAuthCertInvalidKeyUsage: the authentication certificate is a CA or lacks digitalSignature.
	CodeAuthCertInvalidKeyUsage = "ETK_AUTHENTICATION_CERT_HAS_INVALID_KEYUSAGE"
	// CodeAuthCertRevoked: the revocation checker says a certificate of the authentication chain is revoked.
	CodeAuthCertRevoked = "ETK_AUTHENTICATION_CERT_REVOKED"
	// CodeAuthCertStatusUnknown: the revocation status of the authentication chain could not be established.
	CodeAuthCertStatusUnknown = "ETK_AUTHENTICATION_CERT_STATUS_UNKNOWN"
	// CodeAuthCertUntrusted: no valid path from the authentication certificate, through the ETK's CA
	// certificates, to the caller's anchors. (The eHealth crypto library reports this as STATUS_UNKNOWN.)
	CodeAuthCertUntrusted = "ETK_AUTHENTICATION_CERT_UNTRUSTED"

	// CodeSignatureNotValid: the ETK-RA's CMS signature is missing or does not verify.
	CodeSignatureNotValid = "ETK_SIGNATURE_NOT_VALID"
	// CodeSignerUntrusted: no valid path from the ETK-RA certificate to the caller's signer anchors.
	CodeSignerUntrusted = "ETK_SIGNER_UNTRUSTED"
	// CodeSignerExpired: the ETK-RA certificate has expired at the validation time (see
	// ValidateOptions.IgnoreSignerExpiry).
	CodeSignerExpired = "ETK_SIGNER_EXPIRED"
	// CodeSignerNotYetValid: the ETK-RA certificate is not yet valid at the validation time.
	CodeSignerNotYetValid = "ETK_SIGNER_NOT_YET_VALID"

	// CodeHolderMismatch: the authentication certificate does not belong to ValidateOptions.Expect.
	CodeHolderMismatch = "ETK_HOLDER_MISMATCH"
)

// Problem is one reason why an ETK (or an encryption certificate) is rejected.
type Problem struct {
	Code string // one of the Code* constants
	Err  error  // the detail
}

// Error renders the problem as "CODE: detail".
func (p Problem) Error() string {
	if p.Err == nil {
		return p.Code
	}
	return p.Code + ": " + p.Err.Error()
}

// Unwrap returns the detail.
func (p Problem) Unwrap() error { return p.Err }

// ValidationError lists every problem found, in the order the checks ran.
type ValidationError struct {
	Problems []Problem
}

// Error lists every problem as "CODE: detail", separated by semicolons.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return "etk: invalid: " + strings.Join(parts, "; ")
}

// Has reports whether a problem with the given code was found.
func (e *ValidationError) Has(code string) bool {
	for _, p := range e.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

// Codes returns the codes of the problems, in order, without duplicates.
func (e *ValidationError) Codes() []string {
	var codes []string
	for _, p := range e.Problems {
		dup := false
		for _, c := range codes {
			dup = dup || c == p.Code
		}
		if !dup {
			codes = append(codes, p.Code)
		}
	}
	return codes
}

// Unwrap returns the problems, so that errors.Is and errors.As see their details.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

func (e *ValidationError) add(code string, err error) {
	e.Problems = append(e.Problems, Problem{Code: code, Err: err})
}

func (e *ValidationError) addf(code, format string, args ...any) {
	e.add(code, fmt.Errorf(format, args...))
}

func (e *ValidationError) orNil() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// ValidateOptions configures Validate. The zero value checks everything it can and trusts nothing: without
// anchors, the chain checks fail.
type ValidateOptions struct {
	// Time is the validation time; the zero value means time.Now().
	Time time.Time

	// Roots are the anchors for the holder's authentication certificate. The path is built through the ETK's
	// CA certificates by crypto/x509, which refuses SHA-1 signatures.
	Roots *x509.CertPool
	// LegacyRoots are further anchors for the authentication certificate, under which certificates signed with
	// SHA-1 are accepted (the 2008 and 2014 eHealth test PKIs). List only the specific old anchors that need
	// it. An encryption certificate signed with SHA-1 is accepted only when the authentication path ends here.
	LegacyRoots []*x509.Certificate

	// SignerRoots are the anchors for the ETK-RA signing certificate (crypto/x509 path building, no SHA-1).
	SignerRoots *x509.CertPool
	// LegacySignerRoots are anchors for the ETK-RA certificate under which SHA-1 is accepted, both in the
	// certificate path and for the CMS signature itself. The acceptance ETK-RA (2008, "eH CA") needs this.
	LegacySignerRoots []*x509.Certificate
	// IgnoreSignerExpiry accepts an ETK-RA certificate outside its validity period at Time. The acceptance
	// ETK-RA still signed ETKs in 2024 with a certificate that expired in 2023. The signature and the path to
	// the signer anchors are still required: the path is then checked at a time inside the signer's validity.
	// Without it, an expired ETK-RA certificate is reported as ETK_SIGNER_EXPIRED.
	IgnoreSignerExpiry bool

	// Expect, when set, requires the authentication certificate to belong to this holder (see
	// Identity.Matches: leading zeros are ignored, and NIHII11 matches a certificate's 11-digit NIHII);
	// otherwise ETK_HOLDER_MISMATCH.
	Expect *Identity

	// Revocation, when set, is asked about every certificate of the verified authentication path except the
	// anchor, after the path has been verified (as the eHealth crypto library does). Off by default.
	Revocation RevocationChecker
}

// Validate checks the ETK with a background context; see ValidateContext.
func (e *ETK) Validate(opts ValidateOptions) error {
	return e.ValidateContext(context.Background(), opts)
}

// ValidateContext checks the ETK and returns nil, a *ValidationError listing every problem found, or the
// context's error if ctx ends during a revocation check. The checks:
//
//   - the ETK-RA's CMS signature verifies with the signer certificate (ETK_SIGNATURE_NOT_VALID); SHA-1 only
//     when the signer path ends at a legacy signer anchor;
//   - the signer certificate chains to SignerRoots or LegacySignerRoots (ETK_SIGNER_UNTRUSTED) and is valid at
//     Time unless IgnoreSignerExpiry (ETK_SIGNER_EXPIRED, ETK_SIGNER_NOT_YET_VALID);
//   - the ETK holds an authentication certificate (ETK_CERTS_INVALID);
//   - the encryption certificate is signed by the authentication key (ETK_ENCRYPTION_CERT_SIGNATURE_NOT_VALID),
//     SHA-1 only when the authentication path ends at a legacy anchor; ECDSA keys are supported;
//   - both certificates have the same subject, whatever the RDN order or string types (ETK_CERTS_DO_NOT_MATCH);
//   - both are valid at Time (…_EXPIRED, …_NOT_YET_VALID);
//   - neither is a CA; the encryption certificate has keyEncipherment and dataEncipherment, the authentication
//     certificate digitalSignature (…_HAS_INVALID_KEYUSAGE);
//   - both keys are RSA of at least 2048 bits or ECDSA on P-256, P-384 or P-521 (…_HAS_INVALID_KEY);
//   - the authentication certificate chains through the ETK's CA certificates to Roots or LegacyRoots
//     (ETK_AUTHENTICATION_CERT_UNTRUSTED). The path is checked at Time moved into the certificate's validity
//     period, so that an expired certificate is reported once, as expired;
//   - if Revocation is set and the path verified: not revoked (…_REVOKED), status known (…_STATUS_UNKNOWN);
//   - if Expect is set: the holder is Expect (ETK_HOLDER_MISMATCH).
func (e *ETK) ValidateContext(ctx context.Context, opts ValidateOptions) error {
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	v := &ValidationError{}
	enc := e.EncryptionCertificate
	auth := e.AuthenticationCertificate
	if enc == nil {
		v.addf(CodeCertsInvalid, "the ETK holds no encryption certificate")
		return v
	}

	// The ETK-RA signature and its signer.
	sigErr := e.verifyCMSSignature()
	if e.Signer != nil {
		checkValidity(v, e.Signer, now, CodeSignerExpired, CodeSignerNotYetValid, "ETK-RA certificate", opts.IgnoreSignerExpiry)
		res, err := verifyChain(e.Signer, e.CACertificates, opts.SignerRoots, opts.LegacySignerRoots, clampTime(now, e.Signer))
		switch {
		case err != nil:
			v.addf(CodeSignerUntrusted, "ETK-RA certificate %q: %w", e.Signer.Subject.String(), err)
			if errors.Is(sigErr, errSHA1) {
				sigErr = nil // the signature verified; SHA-1 is moot when the signer is not trusted anyway
			}
		case res.legacy && errors.Is(sigErr, errSHA1):
			sigErr = nil
		}
	}
	if sigErr != nil {
		v.add(CodeSignatureNotValid, sigErr)
	}

	if auth == nil {
		v.addf(CodeCertsInvalid, "the ETK holds no authentication certificate (no certificate that is neither a CA nor the signer)")
	}

	// The encryption certificate on its own.
	checkValidity(v, enc, now, CodeEncryptionCertExpired, CodeEncryptionCertNotYetValid, "encryption certificate", false)
	if isCA(enc) {
		v.addf(CodeEncryptionCertInvalidKeyUsage, "the encryption certificate is a CA certificate")
	}
	if need := x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment; enc.KeyUsage&need != need {
		v.addf(CodeEncryptionCertInvalidKeyUsage, "the encryption certificate's key usage %s lacks keyEncipherment and/or dataEncipherment", keyUsageString(enc.KeyUsage))
	}
	if err := checkKey(enc.PublicKey); err != nil {
		v.addf(CodeEncryptionCertInvalidKey, "encryption key: %w", err)
	}
	if auth == nil {
		return v.orNil()
	}

	// The authentication certificate and its relation to the encryption certificate.
	checkValidity(v, auth, now, CodeAuthCertExpired, CodeAuthCertNotYetValid, "authentication certificate", false)
	if isCA(auth) {
		v.addf(CodeAuthCertInvalidKeyUsage, "the authentication certificate is a CA certificate")
	}
	if auth.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		v.addf(CodeAuthCertInvalidKeyUsage, "the authentication certificate's key usage %s lacks digitalSignature", keyUsageString(auth.KeyUsage))
	}
	if err := checkKey(auth.PublicKey); err != nil {
		v.addf(CodeAuthCertInvalidKey, "authentication key: %w", err)
	}
	if !dnEqual(enc.RawSubject, auth.RawSubject) {
		v.addf(CodeCertsDoNotMatch, "encryption certificate subject %q differs from authentication certificate subject %q",
			subjectString(enc.RawSubject), subjectString(auth.RawSubject))
	}
	encSigErr := auth.CheckSignature(enc.SignatureAlgorithm, enc.RawTBSCertificate, enc.Signature)
	if encSigErr != nil {
		v.addf(CodeEncryptionCertSignatureNotValid, "the encryption certificate is not signed by the authentication key: %w", encSigErr)
	}

	res, chainErr := verifyChain(auth, e.CACertificates, opts.Roots, opts.LegacyRoots, clampTime(now, auth))
	if chainErr != nil {
		v.addf(CodeAuthCertUntrusted, "authentication certificate %q: %w", auth.Subject.String(), chainErr)
	} else if encSigErr == nil && isSHA1(enc.SignatureAlgorithm) && !res.legacy {
		v.add(CodeEncryptionCertSignatureNotValid, fmt.Errorf("encryption certificate: %w", errSHA1))
	}

	if chainErr == nil && opts.Revocation != nil {
		if err := checkRevocation(ctx, v, opts.Revocation, res.chain); err != nil {
			return err
		}
	}

	if opts.Expect != nil {
		id, err := IdentityOf(auth)
		switch {
		case err != nil:
			v.addf(CodeHolderMismatch, "expected holder %s: %w", opts.Expect, err)
		case !id.Matches(*opts.Expect):
			v.addf(CodeHolderMismatch, "the ETK belongs to %s, not to %s", id, opts.Expect)
		}
	}
	return v.orNil()
}

// checkValidity reports c's validity period at now, unless ignore.
func checkValidity(v *ValidationError, c *x509.Certificate, now time.Time, expired, notYet, what string, ignore bool) {
	if ignore {
		return
	}
	if now.After(c.NotAfter) {
		v.addf(expired, "%s expired at %s", what, c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		v.addf(notYet, "%s not valid before %s", what, c.NotBefore.UTC().Format(time.RFC3339))
	}
}

// checkKey accepts RSA keys of at least 2048 bits and ECDSA keys on P-256, P-384 and P-521.
func checkKey(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits, at least 2048 required", k.N.BitLen())
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("unsupported elliptic curve %s", k.Curve.Params().Name)
	}
	return fmt.Errorf("unsupported key type %T", pub)
}

// checkRevocation asks rc about each certificate of chain (leaf first) but the anchor.
func checkRevocation(ctx context.Context, v *ValidationError, rc RevocationChecker, chain []*x509.Certificate) error {
	for i := 0; i+1 < len(chain); i++ {
		st, err := rc.Check(ctx, chain[i], chain[i+1])
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		who := fmt.Sprintf("%q (serial %X)", chain[i].Subject.String(), serialOf(chain[i]))
		switch {
		case err != nil:
			v.addf(CodeAuthCertStatusUnknown, "revocation status of %s: %w", who, err)
		case st == RevocationRevoked:
			v.addf(CodeAuthCertRevoked, "%s is revoked", who)
		case st != RevocationGood:
			v.addf(CodeAuthCertStatusUnknown, "revocation status of %s is %s", who, st)
		}
	}
	return nil
}

func keyUsageString(ku x509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var set []string
	for i, n := range names {
		if ku&(1<<i) != 0 {
			set = append(set, n)
		}
	}
	if len(set) == 0 {
		return "(none)"
	}
	return "(" + strings.Join(set, ", ") + ")"
}
