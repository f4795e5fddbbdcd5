// Package etk reads, checks and builds eHealth Encryption Tokens (ETKs), and holds the cryptography of the ETK
// registration with the EtkRA (FACTS §8, §10, §14).
//
// An ETK is a CMS SignedData made by the ETK-RA. Its encapsulated content is the holder's DER encryption
// certificate; its certificates are the ETK-RA signing certificate, the holder's eHealth authentication
// certificate and that certificate's CA chain. Real ETKs use BER indefinite lengths; [Parse] accepts them, in
// binary, base64 or PEM form.
//
// [ETK.Validate] applies the checks of the eHealth crypto library (encryption certificate signed by the
// authentication key, same subject, validity, key usages, authentication chain to caller-given anchors,
// optional revocation) and, unlike that library, also verifies the ETK-RA's CMS signature and chains the
// ETK-RA certificate to caller-given anchors. It reports every problem found, each with a stable code.
//
// Trust is never implicit: the caller supplies the anchors. SHA-1 certificate and CMS signatures, which the
// 2008 test and acceptance PKIs still use, are accepted only below anchors the caller lists as legacy
// ([ValidateOptions.LegacyRoots], [ValidateOptions.LegacySignerRoots]).
//
// The registration helpers implement both sides of the challenge exchange ([NewChallenge], [SolveChallenge])
// and of the encryption certificate ([NewEncryptionCertificate], [CheckEncryptionCertificate]); [Build]
// produces an ETK the way the ETK-RA does, for local simulators.
package etk

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smallstep/pkcs7"
)

// MaxSize is the largest ETK, in bytes after base64 decoding, that [Parse] accepts. Real ETKs are about 5 KiB.
const MaxSize = 256 << 10

// ETK is a parsed eHealth Encryption Token. The certificate fields point into Certificates (except
// EncryptionCertificate, which is the encapsulated content). Treat an ETK as read-only.
type ETK struct {
	// Raw is the CMS structure in binary (BER or DER) form, after any base64 or PEM decoding.
	Raw []byte

	// EncryptionCertificate is the encapsulated content: the holder's encryption certificate, whose public
	// key senders encrypt to.
	EncryptionCertificate *x509.Certificate

	// AuthenticationCertificate is the holder's eHealth authentication certificate: the certificate that is
	// neither a CA nor the signer. When several qualify, the one whose key verifies the encryption certificate
	// is chosen. It is nil when the ETK holds none; Validate then reports ETK_CERTS_INVALID.
	AuthenticationCertificate *x509.Certificate

	// CACertificates are the CA certificates (BasicConstraints CA) carried in the ETK, in ETK order.
	CACertificates []*x509.Certificate

	// Signer is the ETK-RA certificate: the certificate matching the first SignerInfo's issuer and serial.
	// It is nil when the ETK has no SignerInfo or the certificate is missing.
	Signer *x509.Certificate

	// Certificates are all certificates of the SignedData, in order, with exact duplicates removed.
	Certificates []*x509.Certificate

	// SigningTime is the signingTime signed attribute of the first SignerInfo, or the zero time.
	SigningTime time.Time

	content []byte      // the encapsulated content (encryption certificate DER)
	signer  *signerInfo // the first SignerInfo, nil when absent
}

// signerInfo is our copy of the parts of the first CMS SignerInfo needed to verify it.
type signerInfo struct {
	digestAlg    asn1.ObjectIdentifier
	signatureAlg asn1.ObjectIdentifier
	signature    []byte
	attrs        []cmsAttribute // signed attributes; nil when absent
}

// cmsAttribute is a CMS Attribute (RFC 5652 §5.3). Values keeps the encoded SET OF AttributeValue.
type cmsAttribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// FormatError reports input that is not an ETK: not a CMS SignedData, or one without a readable encryption
// certificate. Its message starts like the eHealth crypto library's ("not an encoded CMS data structure").
type FormatError struct {
	Reason string // what is wrong, e.g. "not base64" or "content is not an X.509 certificate"
	Err    error  // the underlying decoder error, if any
}

// Error returns "etk: not an encoded CMS data structure: " and the reason.
func (e *FormatError) Error() string {
	msg := "etk: not an encoded CMS data structure: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying decoder error.
func (e *FormatError) Unwrap() error { return e.Err }

// Parse reads an ETK from its binary (BER/DER) form, its base64 form (whitespace and line breaks allowed) or a
// PEM block. It fails with a *FormatError when data is not a CMS SignedData whose content is an X.509
// certificate; anything else about the ETK (missing certificates, bad signatures) is left to Validate. Parse
// never panics, whatever the input.
func Parse(data []byte) (*ETK, error) {
	raw, ferr := decodeInput(data)
	if ferr != nil {
		return nil, ferr
	}
	end, err := berEnd(raw, 0, 0)
	if err != nil {
		return nil, &FormatError{Reason: "malformed BER", Err: err}
	}
	if end != len(raw) {
		return nil, &FormatError{Reason: fmt.Sprintf("%d bytes of trailing data", len(raw)-end)}
	}
	p7, err := parseCMS(raw)
	if err != nil {
		return nil, &FormatError{Reason: "cannot read CMS structure", Err: err}
	}
	if len(p7.Content) == 0 {
		return nil, &FormatError{Reason: "no encapsulated content (not a SignedData, or detached)"}
	}
	enc, err := x509.ParseCertificate(p7.Content)
	if err != nil {
		return nil, &FormatError{Reason: "content is not an X.509 certificate", Err: err}
	}
	e := &ETK{
		Raw:                   raw,
		EncryptionCertificate: enc,
		content:               bytes.Clone(p7.Content),
	}
	for _, c := range p7.Certificates {
		if !containsCert(e.Certificates, c) {
			e.Certificates = append(e.Certificates, c)
		}
	}
	if len(p7.Signers) > 0 {
		s := p7.Signers[0]
		e.signer = &signerInfo{
			digestAlg:    s.DigestAlgorithm.Algorithm,
			signatureAlg: s.DigestEncryptionAlgorithm.Algorithm,
			signature:    bytes.Clone(s.EncryptedDigest),
		}
		for _, a := range s.AuthenticatedAttributes {
			e.signer.attrs = append(e.signer.attrs, cmsAttribute{Type: a.Type, Values: a.Value})
		}
		ias := s.IssuerAndSerialNumber
		for _, c := range e.Certificates {
			if ias.SerialNumber != nil && c.SerialNumber.Cmp(ias.SerialNumber) == 0 &&
				bytes.Equal(c.RawIssuer, ias.IssuerName.FullBytes) {
				e.Signer = c
				break
			}
		}
		if t, ok := e.signer.signingTime(); ok {
			e.SigningTime = t
		}
	}
	var candidates []*x509.Certificate
	for _, c := range e.Certificates {
		switch {
		case c == e.Signer:
		case isCA(c):
			e.CACertificates = append(e.CACertificates, c)
		default:
			candidates = append(candidates, c)
		}
	}
	e.AuthenticationCertificate = pickAuthCert(candidates, enc)
	return e, nil
}

// parseCMS runs the CMS decoder, turning a panic inside it into an error: Parse must never panic.
func parseCMS(raw []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("CMS decoder failed: %v", r)
		}
	}()
	p7, err = pkcs7.Parse(raw)
	if err == nil && p7 == nil {
		err = errors.New("empty result")
	}
	return p7, err
}

// maxBERDepth bounds the nesting of the BER structure; real ETKs nest about 10 levels.
const maxBERDepth = 64

// berEnd returns the offset just after the BER TLV that starts at off, checking lengths and nesting depth
// before the CMS decoder (which recurses without limit) sees the data.
func berEnd(b []byte, off, depth int) (int, error) {
	if depth > maxBERDepth {
		return 0, errors.New("nested too deeply")
	}
	if off >= len(b) {
		return 0, errors.New("truncated tag")
	}
	constructed := b[off]&0x20 != 0
	if b[off]&0x1f == 0x1f { // high tag number
		off++
		for n := 0; ; n++ {
			if off >= len(b) || n > 4 {
				return 0, errors.New("malformed tag")
			}
			more := b[off]&0x80 != 0
			off++
			if !more {
				break
			}
		}
	} else {
		off++
	}
	if off >= len(b) {
		return 0, errors.New("truncated length")
	}
	l := int(b[off])
	off++
	switch {
	case l == 0x80: // indefinite
		if !constructed {
			return 0, errors.New("indefinite length on a primitive")
		}
		for {
			if off+1 < len(b) && b[off] == 0 && b[off+1] == 0 {
				return off + 2, nil
			}
			end, err := berEnd(b, off, depth+1)
			if err != nil {
				return 0, err
			}
			off = end
		}
	case l > 0x80:
		n := l & 0x7f
		if n > 3 || off+n > len(b) {
			return 0, errors.New("length too long")
		}
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(b[off+i])
		}
		off += n
	}
	end := off + l
	if end > len(b) {
		return 0, errors.New("length beyond the data")
	}
	if constructed {
		for off < end {
			next, err := berEnd(b[:end], off, depth+1)
			if err != nil {
				return 0, err
			}
			off = next
		}
	}
	return end, nil
}

// decodeInput turns binary, base64 or PEM input into the binary CMS bytes.
func decodeInput(data []byte) ([]byte, *FormatError) {
	if len(data) == 0 {
		return nil, &FormatError{Reason: "empty input"}
	}
	if data[0] == 0x30 { // SEQUENCE: binary
		if len(data) > MaxSize {
			return nil, &FormatError{Reason: fmt.Sprintf("larger than %d bytes", MaxSize)}
		}
		return data, nil
	}
	if len(data) > MaxSize*4/3+MaxSize/8 { // generous bound for base64 text with line breaks
		return nil, &FormatError{Reason: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	trimmed := bytes.TrimSpace(data)
	var raw []byte
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		block, _ := pem.Decode(trimmed)
		if block == nil {
			return nil, &FormatError{Reason: "malformed PEM"}
		}
		raw = block.Bytes
	} else {
		compact := make([]byte, 0, len(trimmed))
		for _, b := range trimmed {
			switch b {
			case ' ', '\t', '\r', '\n', '\v', '\f':
			default:
				compact = append(compact, b)
			}
		}
		var err error
		raw, err = base64.StdEncoding.DecodeString(string(compact))
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(string(compact))
		}
		if err != nil {
			return nil, &FormatError{Reason: "neither binary CMS nor base64", Err: err}
		}
	}
	if len(raw) == 0 || raw[0] != 0x30 {
		return nil, &FormatError{Reason: "decoded data is not an ASN.1 SEQUENCE"}
	}
	if len(raw) > MaxSize {
		return nil, &FormatError{Reason: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	return raw, nil
}

// pickAuthCert chooses the authentication certificate among the non-CA, non-signer certificates: preferably
// the one whose key verifies the encryption certificate, then the one named as its issuer, then the first.
func pickAuthCert(candidates []*x509.Certificate, enc *x509.Certificate) *x509.Certificate {
	if len(candidates) <= 1 {
		if len(candidates) == 1 {
			return candidates[0]
		}
		return nil
	}
	for _, c := range candidates {
		if c.CheckSignature(enc.SignatureAlgorithm, enc.RawTBSCertificate, enc.Signature) == nil {
			return c
		}
	}
	for _, c := range candidates {
		if bytes.Equal(c.RawSubject, enc.RawIssuer) {
			return c
		}
	}
	return candidates[0]
}

func isCA(c *x509.Certificate) bool { return c.BasicConstraintsValid && c.IsCA }

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
)

// attr returns the single value of the signed attribute typ.
func (s *signerInfo) attr(typ asn1.ObjectIdentifier) (asn1.RawValue, error) {
	var found []asn1.RawValue
	for _, a := range s.attrs {
		if !a.Type.Equal(typ) {
			continue
		}
		rest := a.Values.Bytes
		for len(rest) > 0 {
			var v asn1.RawValue
			var err error
			rest, err = asn1.Unmarshal(rest, &v)
			if err != nil {
				return asn1.RawValue{}, fmt.Errorf("attribute %v: %w", typ, err)
			}
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		return asn1.RawValue{}, fmt.Errorf("attribute %v: %d values, want exactly 1", typ, len(found))
	}
	return found[0], nil
}

func (s *signerInfo) signingTime() (time.Time, bool) {
	if len(s.attrs) == 0 {
		return time.Time{}, false
	}
	v, err := s.attr(oidSigningTime)
	if err != nil {
		return time.Time{}, false
	}
	var t time.Time
	if _, err := asn1.Unmarshal(v.FullBytes, &t); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Identity returns the identity of the ETK's holder, read from the authentication certificate's subject
// (see [IdentityOf]).
func (e *ETK) Identity() (Identity, error) {
	if e.AuthenticationCertificate == nil {
		return Identity{}, &IdentityError{Reason: "the ETK holds no authentication certificate"}
	}
	return IdentityOf(e.AuthenticationCertificate)
}

// serialOf is a nil-safe accessor for messages.
func serialOf(c *x509.Certificate) *big.Int {
	if c == nil || c.SerialNumber == nil {
		return new(big.Int)
	}
	return c.SerialNumber
}

// subjectString renders a subject for error messages.
func subjectString(raw []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		return fmt.Sprintf("<unreadable DN %x>", raw)
	}
	return seq.String()
}
