package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/ehcert/ehcert/sign/internal/ecdsasig"
	"github.com/ehcert/ehcert/sign/internal/excc14n"
)

// Errors about the payload given to Enveloped. They come wrapped in *PayloadError.
var (
	// ErrNoID: the root element has no (unprefixed) Id attribute, or it is empty. The Reference of an eHealth
	// signature points at the root Id, so a request must carry one ("_" + UUID, FACTS §2).
	ErrNoID = errors.New("root element has no Id attribute")
	// ErrBadID: the root Id is not a plain NCName (ASCII letters, digits, '_', '-', '.'; not starting with a
	// digit, '-' or '.').
	ErrBadID = errors.New("root Id is not a plain NCName")
	// ErrAlreadySigned: the root element already has a ds:Signature child.
	ErrAlreadySigned = errors.New("request is already signed")
)

// PayloadError reports a payload that cannot be signed: XML that cannot be canonicalized exactly as the
// exclusive C14N specification says (not well-formed or not namespace-well-formed XML 1.0, not UTF-8, a
// DOCTYPE, a relative namespace URI, more than 256 nested elements or 256 attributes on one element), or
// one of ErrNoID, ErrBadID, ErrAlreadySigned. Match the cause with errors.Is.
type PayloadError struct {
	Err error
}

// Error describes the problem; it holds no secret.
func (e *PayloadError) Error() string { return "sign: cannot sign payload: " + e.Err.Error() }

// Unwrap returns the underlying errors.
func (e *PayloadError) Unwrap() error { return e.Err }

// Enveloped signs an eHealth request and returns the signed bytes. It is EnvelopedContext with
// context.Background().
func Enveloped(key Key, payload []byte) ([]byte, error) {
	return EnvelopedContext(context.Background(), key, payload)
}

// EnvelopedContext signs payload, a marshalled request whose root element has an Id attribute, with the
// enveloped XML signature that CertRA and EtkRA require (cookbook 001 §4.3.2, FACTS §5):
//
//   - ds:Signature is appended as the last child of the root element;
//   - SignedInfo is canonicalized with exclusive c14n without a prefix list;
//   - the signature method is rsa-sha256 for RSA keys, ecdsa-sha256 for P-256 keys and ecdsa-sha384 for
//     P-384 keys (current eID cards); ECDSA signature values are the raw r||s of XML-DSig 1.1, not DER;
//   - one Reference, URI="#<root Id>", with the transforms enveloped-signature then exc-c14n and a SHA-256
//     digest;
//   - KeyInfo holds one X509Data with key.Chain(): the signer certificate first, then its issuers, a trailing
//     self-signed root left out.
//
// The payload bytes are not re-serialized: the result is payload with the Signature element inserted before
// the root's end tag, so everything else stays byte-identical (a self-closing root element is the one
// exception: "<R .../>" becomes "<R ...>" + Signature + "</R>"). The payload slice is not modified.
//
// When key implements ContextSigner, ctx is passed to it (a PKCS#11 token uses it while asking for the PIN).
func EnvelopedContext(ctx context.Context, key Key, payload []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("sign: nil key")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pub := key.Public()
	alg, err := algorithmFor(pub)
	if err != nil {
		return nil, err
	}
	chain := key.Chain()
	if len(chain) == 0 || chain[0] == nil {
		return nil, ErrNoCertificate
	}
	for len(chain) > 1 && isSelfSigned(chain[len(chain)-1]) {
		chain = chain[:len(chain)-1]
	}
	if !publicKeysEqual(pub, chain[0].PublicKey) {
		return nil, &KeyMismatchError{Subject: chain[0].Subject.String()}
	}

	// The one pass over the payload: canonical form of the root, its Id, where it ends.
	r, err := inspect(payload)
	if err != nil {
		return nil, &PayloadError{Err: err}
	}
	id, qname := r.id, r.qname
	digest := sha256.Sum256(r.canonical)

	// SignedInfo is written directly in its exclusive canonical form (the Id is a plain NCName, so nothing
	// needs escaping); these are the bytes that are signed, and, minus the namespace declaration that the
	// enclosing ds:Signature already makes, the bytes that are embedded.
	si := make([]byte, 0, 1024)
	si = append(si, `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`...)
	siBody := len(si)
	si = append(si, `<ds:CanonicalizationMethod Algorithm="`+AlgExcC14N+`"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="`...)
	si = append(si, alg.uri...)
	si = append(si, `"></ds:SignatureMethod><ds:Reference URI="#`...)
	si = append(si, id...)
	si = append(si, `"><ds:Transforms><ds:Transform Algorithm="`+AlgEnveloped+`"></ds:Transform><ds:Transform Algorithm="`+
		AlgExcC14N+`"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="`+AlgSHA256+`"></ds:DigestMethod><ds:DigestValue>`...)
	si = base64.StdEncoding.AppendEncode(si, digest[:])
	si = append(si, `</ds:DigestValue></ds:Reference></ds:SignedInfo>`...)

	h := alg.hash.New()
	h.Write(si)
	sigValue, err := signDigest(ctx, key, h.Sum(nil), alg)
	if err != nil {
		return nil, err
	}

	// Assemble ds:Signature.
	size := len(si) + len(sigValue)*4/3 + 256
	for _, c := range chain {
		size += len(c.Raw)*4/3 + 64
	}
	sig := make([]byte, 0, size)
	sig = append(sig, `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>`...)
	sig = append(sig, si[siBody:]...)
	sig = append(sig, `<ds:SignatureValue>`...)
	sig = base64.StdEncoding.AppendEncode(sig, sigValue)
	sig = append(sig, `</ds:SignatureValue><ds:KeyInfo><ds:X509Data>`...)
	for _, c := range chain {
		sig = append(sig, `<ds:X509Certificate>`...)
		sig = base64.StdEncoding.AppendEncode(sig, c.Raw)
		sig = append(sig, `</ds:X509Certificate>`...)
	}
	sig = append(sig, `</ds:X509Data></ds:KeyInfo></ds:Signature>`...)

	at := r.end
	if r.selfClosing {
		// at is the offset of "/>".
		out := make([]byte, 0, len(payload)+len(sig)+len(qname)+3)
		out = append(out, payload[:at]...)
		out = append(out, '>')
		out = append(out, sig...)
		out = append(out, "</"...)
		out = append(out, qname...)
		out = append(out, '>')
		return append(out, payload[at+2:]...), nil
	}
	out := make([]byte, 0, len(payload)+len(sig))
	out = append(out, payload[:at]...)
	out = append(out, sig...)
	return append(out, payload[at:]...), nil
}

// inspected is what signing needs to know about a payload.
type inspected struct {
	canonical   []byte // exclusive canonical form of the root element (= the Reference's transform output)
	id, qname   string // root Id and qualified name
	end         int    // offset of the root's end tag, or of "/>" when selfClosing
	selfClosing bool
}

// inspect reads the payload once with the exclusive canonicalizer (sign/internal/excc14n). Input it refuses
// (not well-formed or not namespace-well-formed XML 1.0, not UTF-8, a DOCTYPE, a relative namespace URI,
// more than 256 nested elements or attributes) is not signed: there is no second canonicalizer whose output
// could differ from the specification, and so from what the platform (Apache Santuario) computes.
func inspect(payload []byte) (*inspected, error) {
	canonical, res, err := excc14n.AppendRoot(make([]byte, 0, len(payload)), payload)
	if err != nil {
		return nil, err
	}
	if !res.HasID || res.RootID == "" {
		return nil, ErrNoID
	}
	if !isPlainNCName(res.RootID) {
		return nil, ErrBadID
	}
	if res.SignatureChild {
		return nil, ErrAlreadySigned
	}
	return &inspected{canonical: canonical, id: res.RootID, qname: res.RootQName, end: res.End, selfClosing: res.SelfClosing}, nil
}

// signDigest signs with the key and returns the SignatureValue bytes (raw r||s for ECDSA).
func signDigest(ctx context.Context, key Key, digest []byte, alg algorithm) ([]byte, error) {
	var (
		sig []byte
		err error
	)
	if cs, ok := key.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, rand.Reader, digest, alg.hash)
	} else {
		sig, err = key.Sign(rand.Reader, digest, alg.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: signing failed: %w", err)
	}
	if alg.ecdsaSize > 0 {
		raw, err := ecdsasig.DERToRaw(sig, alg.ecdsaSize)
		if err != nil {
			return nil, fmt.Errorf("sign: the signer returned an ECDSA signature that is not ASN.1 DER: %w", err)
		}
		sig = raw
	}
	// Signatures from outside the process (tokens, KMS) are checked once here, so that a mismatched key or a
	// wrongly encoded signature fails now and not at the platform. In-memory Go keys already check
	// themselves (crypto/rsa verifies before returning).
	if !isStdlibKey(key) {
		if err := checkSignature(key.Public(), digest, sig, alg); err != nil {
			return nil, fmt.Errorf("sign: the signer returned an invalid signature: %w", err)
		}
	}
	return sig, nil
}

func isStdlibKey(k Key) bool {
	if kk, ok := k.(*key); ok {
		switch kk.Signer.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey:
			return true
		}
	}
	return false
}

// checkSignature verifies a SignatureValue (raw r||s for ECDSA) over digest.
func checkSignature(pub crypto.PublicKey, digest, sigValue []byte, alg algorithm) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(p, alg.hash, digest, sigValue)
	case *ecdsa.PublicKey:
		if len(sigValue) != 2*alg.ecdsaSize {
			return ecdsasig.ErrMalformed
		}
		der, err := ecdsasig.RawToDER(sigValue)
		if err != nil {
			return err
		}
		if !ecdsa.VerifyASN1(p, digest, der) {
			return errors.New("ECDSA verification failure")
		}
		return nil
	}
	return &UnsupportedKeyError{Type: fmt.Sprintf("%T", pub)}
}

func isPlainNCName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
