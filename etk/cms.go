package etk

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA2 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3} // prefix of ecdsa-with-SHA224..512
)

// errSHA1 marks a signature made with SHA-1, which is accepted only below legacy anchors.
var errSHA1 = errors.New("SHA-1 signature, accepted only below a legacy anchor")

// cmsSignatureAlgorithm maps a SignerInfo's digestAlgorithm and signatureAlgorithm to an x509 algorithm.
func cmsSignatureAlgorithm(digest, sig asn1.ObjectIdentifier) (x509.SignatureAlgorithm, error) {
	var h crypto.Hash
	switch {
	case digest.Equal(oidSHA1):
		h = crypto.SHA1
	case digest.Equal(oidSHA256):
		h = crypto.SHA256
	case digest.Equal(oidSHA384):
		h = crypto.SHA384
	case digest.Equal(oidSHA512):
		h = crypto.SHA512
	case digest.Equal(oidSHA224):
		return x509.UnknownSignatureAlgorithm, errors.New("unsupported digest algorithm SHA-224")
	default:
		return x509.UnknownSignatureAlgorithm, fmt.Errorf("unsupported digest algorithm %v", digest)
	}
	rsaAlgs := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA1: x509.SHA1WithRSA, crypto.SHA256: x509.SHA256WithRSA,
		crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA,
	}
	ecAlgs := map[crypto.Hash]x509.SignatureAlgorithm{
		crypto.SHA1: x509.ECDSAWithSHA1, crypto.SHA256: x509.ECDSAWithSHA256,
		crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512,
	}
	switch {
	case sig.Equal(oidRSAEncryption):
		return rsaAlgs[h], nil
	case sig.Equal(oidSHA1WithRSA) && h == crypto.SHA1,
		sig.Equal(oidSHA256WithRSA) && h == crypto.SHA256,
		sig.Equal(oidSHA384WithRSA) && h == crypto.SHA384,
		sig.Equal(oidSHA512WithRSA) && h == crypto.SHA512:
		return rsaAlgs[h], nil
	case sig.Equal(oidECPublicKey),
		sig.Equal(oidECDSAWithSHA1) && h == crypto.SHA1,
		len(sig) == len(oidECDSAWithSHA2)+1 && slicesHasPrefix(sig, oidECDSAWithSHA2):
		return ecAlgs[h], nil
	}
	return x509.UnknownSignatureAlgorithm, fmt.Errorf("unsupported signature algorithm %v with digest %v", sig, digest)
}

func slicesHasPrefix(a, prefix asn1.ObjectIdentifier) bool {
	return len(a) >= len(prefix) && a[:len(prefix)].Equal(prefix)
}

func isSHA1(alg x509.SignatureAlgorithm) bool {
	return alg == x509.SHA1WithRSA || alg == x509.ECDSAWithSHA1 || alg == x509.DSAWithSHA1
}

// verifyCMSSignature checks the first SignerInfo cryptographically with the Signer's public key: the message
// digest and content type attributes when signed attributes are present, then the signature. It applies no
// time policy (the signing time is not compared with the signer's validity) and no trust decision. A SHA-1
// signature that verifies is reported as an error wrapping errSHA1, so the caller can accept it for legacy
// anchors only.
func (e *ETK) verifyCMSSignature() error {
	if e.signer == nil {
		return errors.New("the SignedData has no SignerInfo")
	}
	if e.Signer == nil {
		return errors.New("the certificate of the first SignerInfo is not in the ETK")
	}
	alg, err := cmsSignatureAlgorithm(e.signer.digestAlg, e.signer.signatureAlg)
	if err != nil {
		return err
	}
	signed := e.content
	if len(e.signer.attrs) > 0 {
		signed, err = e.signer.signedAttributesDER(alg, e.content)
		if err != nil {
			return err
		}
	}
	if err := e.Signer.CheckSignature(alg, signed, e.signer.signature); err != nil {
		return fmt.Errorf("signature by %q does not verify: %w", e.Signer.Subject.String(), err)
	}
	if isSHA1(alg) {
		return errSHA1
	}
	return nil
}

// signedAttributesDER checks the contentType and messageDigest attributes and returns the DER SET OF
// attributes that the signature covers (RFC 5652 §5.4).
func (s *signerInfo) signedAttributesDER(alg x509.SignatureAlgorithm, content []byte) ([]byte, error) {
	ct, err := s.attr(oidContentType)
	if err != nil {
		return nil, err
	}
	var ctOID asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(ct.FullBytes, &ctOID); err != nil || !ctOID.Equal(oidData) {
		return nil, fmt.Errorf("content-type attribute is not id-data")
	}
	md, err := s.attr(oidMessageDigest)
	if err != nil {
		return nil, err
	}
	var digest []byte
	if _, err := asn1.Unmarshal(md.FullBytes, &digest); err != nil {
		return nil, fmt.Errorf("message-digest attribute: %w", err)
	}
	h := hashOf(alg)
	if !h.Available() {
		return nil, fmt.Errorf("digest %v not available", h)
	}
	hh := h.New()
	hh.Write(content)
	if subtle.ConstantTimeCompare(hh.Sum(nil), digest) != 1 {
		return nil, errors.New("message-digest attribute does not match the content")
	}
	der, err := asn1.Marshal(struct {
		A []cmsAttribute `asn1:"set"`
	}{A: s.attrs})
	if err != nil {
		return nil, fmt.Errorf("encoding signed attributes: %w", err)
	}
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(outer.Bytes, []byte{0x31}) {
		return nil, errors.New("encoding signed attributes: unexpected form")
	}
	return outer.Bytes, nil
}

func hashOf(alg x509.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		return crypto.SHA1
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256, x509.SHA256WithRSAPSS:
		return crypto.SHA256
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return crypto.SHA512
	}
	return 0
}
