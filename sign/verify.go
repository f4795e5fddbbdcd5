package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/ehcert/ehcert/sign/internal/ecdsasig"
)

// Reason classifies why a signature was rejected. A Reason is also an error, so that
// errors.Is(err, sign.BadDigest) tests the reason of a *VerifyError.
type Reason int

// The reasons a signature is rejected.
const (
	// Malformed: not well-formed XML, a DOCTYPE, duplicate attributes, no root Id, a Signature that does not
	// have the shape of the eHealth profile (SignedInfo, SignatureValue, KeyInfo/X509Data), undecodable
	// base64 or certificates.
	Malformed Reason = iota + 1
	// MissingSignature: the document has no ds:Signature.
	MissingSignature
	// Wrapped: the signature does not sign the element it is attached to in the way the profile demands:
	// more than one Signature, a Signature that is not the last child of the root, a Reference that is not
	// "#<root Id>", an Id value used twice, an Object element.
	Wrapped
	// WrongAlgorithm: a canonicalization, transform, digest or signature method outside the profile, a
	// method that does not fit the key, or an RSA key shorter than Verifier.MinRSABits.
	WrongAlgorithm
	// BadDigest: the signed content was changed (the Reference digest does not match).
	BadDigest
	// BadSignature: the SignatureValue does not verify with the signer certificate's key over SignedInfo.
	BadSignature
	// UntrustedChain: the X509Data certificates do not chain up to Verifier.Roots.
	UntrustedChain
	// Expired: the signer certificate is outside its validity period at Verifier.Now.
	Expired
)

var reasonNames = map[Reason]string{
	Malformed:        "malformed",
	MissingSignature: "missing signature",
	Wrapped:          "wrapped or moved signature",
	WrongAlgorithm:   "wrong algorithm",
	BadDigest:        "bad digest",
	BadSignature:     "bad signature",
	UntrustedChain:   "untrusted certificate chain",
	Expired:          "certificate expired",
}

// String names the reason.
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Error makes a Reason usable as an errors.Is target.
func (r Reason) Error() string { return "sign: " + r.String() }

// VerifyError is the error of Verifier.Verify. Err holds the detail; errors.Is(err, sign.Expired) matches
// by Reason.
type VerifyError struct {
	Reason Reason
	Err    error
}

// Error describes the problem; it holds no secret.
func (e *VerifyError) Error() string {
	if e.Err == nil {
		return "sign: signature rejected: " + e.Reason.String()
	}
	return "sign: signature rejected: " + e.Reason.String() + ": " + e.Err.Error()
}

// Unwrap returns the detail.
func (e *VerifyError) Unwrap() error { return e.Err }

// Is reports whether target is e's Reason.
func (e *VerifyError) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

func verr(r Reason, format string, args ...any) *VerifyError {
	return &VerifyError{Reason: r, Err: fmt.Errorf(format, args...)}
}

// Verifier checks enveloped signatures of the eHealth profile (the one Enveloped writes). The zero value
// with Roots set is ready to use; a Verifier is safe for concurrent use when its fields are not changed.
type Verifier struct {
	// Roots are the trusted root CAs. Required: a nil pool trusts nothing (the system roots are never used).
	Roots *x509.CertPool
	// Intermediates are extra intermediate CAs, for signers whose X509Data lacks part of the chain. Optional.
	Intermediates *x509.CertPool
	// Now gives the time at which certificates must be valid; nil means time.Now.
	Now func() time.Time
	// MinRSABits is the smallest RSA modulus accepted; 0 means 2048.
	MinRSABits int
	// MaxBytes bounds the document size; 0 means 4 MiB.
	MaxBytes int
}

// Verified describes a signature that Verify accepted.
type Verified struct {
	// Element is the signed element as the signature covers it: the root element in exclusive canonical
	// form, without the ds:Signature (it is what the digest was computed over, re-parsed). Read the request
	// from Element only, never from the bytes given to Verify: that is the defence against signature
	// wrapping.
	Element *etree.Element
	// Signer is the certificate whose key made the signature (the first X509Certificate).
	Signer *x509.Certificate
	// Chain is the verified chain, Signer first, ending with the trusted root from Verifier.Roots.
	Chain []*x509.Certificate
	// ReferenceID is the root Id the signature references.
	ReferenceID string
	// SignatureMethod is the signature method URI (AlgRSASHA256, AlgECDSASHA256 or AlgECDSASHA384).
	SignatureMethod string
}

// Verify checks the enveloped signature of doc, a request as Enveloped produces it. In order:
//
//   - doc is well-formed UTF-8 XML with no DOCTYPE and no duplicate attributes, and its root has an Id;
//   - it holds exactly one ds:Signature, and it is the last child of the root;
//   - no other attribute in the document has the root Id as value (compared case-insensitively, as the Java
//     connector resolves references);
//   - the Signature has the profile's shape: SignedInfo (exc-c14n without prefix list; rsa-sha256,
//     ecdsa-sha256 or ecdsa-sha384; exactly one Reference, URI="#<root Id>", transforms enveloped-signature
//     then exc-c14n, digest SHA-256), SignatureValue, and KeyInfo with one X509Data of X509Certificate
//     elements, signer first; no Object;
//   - the certificates chain up to Roots at Now (any key usage), and the signature method fits the key;
//   - goxmldsig validates the digest and the signature (ECDSA values are raw r||s as XML-DSig requires);
//     the element it returns is Verified.Element.
//
// Every failure is a *VerifyError. Verify never panics on any input.
//
// Known limitation: goxmldsig v1.6.1 canonicalizes three rare constructs differently from the
// specification (and from xmlsec1 and Santuario): an element carrying prefixed attributes from two or more
// namespaces (sorted by local name instead of namespace URI), literal tab, newline or carriage-return
// characters in attribute values (not normalized to spaces), and an xmlns="" that undoes no default
// namespace (rendered when it should not be). Correctly signed documents with those fail with BadDigest.
// Requests marshalled by encoding/xml do not contain them.
func (v *Verifier) Verify(doc []byte) (*Verified, error) {
	maxBytes := v.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 4 << 20
	}
	if len(doc) > maxBytes {
		return nil, verr(Malformed, "document is %d bytes, more than the limit of %d", len(doc), maxBytes)
	}
	doc = bytes.TrimPrefix(doc, []byte("\xEF\xBB\xBF")) // a UTF-8 byte-order mark
	d := etree.NewDocument()
	d.ReadSettings = readSettings
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, verr(Malformed, "not well-formed XML: %w", err)
	}
	root := d.Root()
	if root == nil {
		return nil, verr(Malformed, "no root element")
	}
	for _, t := range d.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, verr(Malformed, "a DOCTYPE is not allowed")
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, verr(Malformed, "text outside the root element")
			}
		}
	}
	return v.verify(root, root, root)
}

// VerifyElement checks the enveloped signature of el, an element inside a larger parsed document (a request
// inside a SOAP Body, say), with the same rules as Verify applied to el as the signed root. Namespace
// declarations in scope from el's ancestors are taken into account; el is not modified.
func (v *Verifier) VerifyElement(el *etree.Element) (*Verified, error) {
	if el == nil {
		return nil, verr(Malformed, "nil element")
	}
	top := el
	for top.Parent() != nil && top.Parent().Parent() != nil {
		top = top.Parent()
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, verr(Malformed, "namespaces: %w", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, verr(Malformed, "namespaces: %w", err)
	}
	return v.verify(detached, top, el)
}

const (
	maxElements = 2000
	maxCerts    = 10
)

// verify checks root, which belongs to us (it may be modified). scan is the top element of the document
// root comes from and orig the element root was detached from (both are root itself for Verify): the
// duplicate-Id scan covers the whole document.
func (v *Verifier) verify(root, scan, orig *etree.Element) (*Verified, error) {
	id, err := rootID(root)
	if err != nil {
		return nil, &VerifyError{Reason: Malformed, Err: err}
	}

	// One pass over the document: size, duplicate attributes, duplicate Id values.
	count := 0
	stack := []*etree.Element{scan}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if count++; count > maxElements {
			return nil, verr(Malformed, "more than %d elements", maxElements)
		}
		if dup := duplicateAttr(el); dup != "" {
			return nil, verr(Malformed, "duplicate attribute %s on <%s>", dup, el.FullTag())
		}
		for _, a := range el.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") || (el == orig && a.Space == "" && a.Key == "Id") {
				continue
			}
			if strings.EqualFold(a.Value, id) {
				return nil, verr(Wrapped, "the root Id %q is also the value of %s on <%s>", id, a.FullKey(), el.FullTag())
			}
		}
		for i := len(el.Child) - 1; i >= 0; i-- {
			if c, ok := el.Child[i].(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}

	var sigs []*etree.Element
	collectSignatures(root, &sigs)
	switch {
	case len(sigs) == 0:
		return nil, verr(MissingSignature, "no ds:Signature in <%s>", root.FullTag())
	case len(sigs) > 1:
		return nil, verr(Wrapped, "%d ds:Signature elements; exactly one is allowed", len(sigs))
	}
	sigEl := sigs[0]
	if sigEl.Parent() != root {
		return nil, verr(Wrapped, "ds:Signature is not a child of the signed root element <%s>", root.FullTag())
	}
	if last := lastChildElement(root); last != sigEl {
		return nil, verr(Wrapped, "ds:Signature is not the last child of <%s>", root.FullTag())
	}

	p, err := parseSignature(sigEl, id)
	if err != nil {
		return nil, err
	}

	// Trust: the chain from X509Data, checked with crypto/x509.
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if v.Roots == nil {
		return nil, verr(UntrustedChain, "the Verifier has no Roots")
	}
	leaf := p.certs[0]
	inter := x509.NewCertPool()
	if v.Intermediates != nil {
		inter = v.Intermediates.Clone()
	}
	for _, c := range p.certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, &VerifyError{Reason: Expired, Err: err}
		}
		return nil, &VerifyError{Reason: UntrustedChain, Err: err}
	}

	// The signature method must fit the key.
	alg, err := v.methodFor(p.method, leaf.PublicKey)
	if err != nil {
		return nil, err
	}
	if alg.ecdsaSize > 0 {
		if len(p.sigValue) != 2*alg.ecdsaSize {
			return nil, verr(BadSignature, "ECDSA SignatureValue is %d bytes, want r||s of %d bytes", len(p.sigValue), 2*alg.ecdsaSize)
		}
		der, err := ecdsasig.RawToDER(p.sigValue)
		if err != nil {
			return nil, verr(BadSignature, "ECDSA SignatureValue: %w", err)
		}
		// goxmldsig checks ECDSA signatures with crypto/x509, which wants DER; the SignatureValue is not
		// covered by the signature, so rewriting it in our private copy changes nothing that is signed.
		p.sigValueEl.SetText(base64.StdEncoding.EncodeToString(der))
	}

	vc := &dsig.ValidationContext{
		CertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{leaf}},
		IdAttribute:      "Id",
		Clock:            dsig.NewFakeClockAt(now),
	}
	el, err := vc.Validate(root)
	if err != nil {
		// Find out which of the two checks failed.
		if sigErr := checkSignedInfo(sigEl, leaf.PublicKey, p.sigValue, alg); sigErr != nil {
			return nil, &VerifyError{Reason: BadSignature, Err: sigErr}
		}
		if err.Error() == "Signature could not be verified" {
			return nil, &VerifyError{Reason: BadDigest, Err: errors.New("the Reference digest does not match the content")}
		}
		return nil, &VerifyError{Reason: Malformed, Err: err}
	}
	// Belt and braces: what goxmldsig verified must be our root.
	if got, err := rootID(el); err != nil || got != id || el.Tag != root.Tag {
		return nil, verr(Wrapped, "the verified element is not the signed root")
	}
	return &Verified{Element: el, Signer: leaf, Chain: chains[0], ReferenceID: id, SignatureMethod: p.method}, nil
}

func collectSignatures(el *etree.Element, out *[]*etree.Element) {
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e.Tag == "Signature" && e.NamespaceURI() == dsig.Namespace {
			*out = append(*out, e)
		}
		for _, c := range e.ChildElements() {
			stack = append(stack, c)
		}
	}
}

// lastChildElement returns the last child element, or nil when non-whitespace text or a comment or
// processing instruction follows it (those would sit after the Signature).
func lastChildElement(el *etree.Element) *etree.Element {
	for i := len(el.Child) - 1; i >= 0; i-- {
		switch t := el.Child[i].(type) {
		case *etree.Element:
			return t
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil
			}
		default:
			return nil
		}
	}
	return nil
}

type parsedSignature struct {
	method     string
	sigValue   []byte
	sigValueEl *etree.Element
	certs      []*x509.Certificate
}

// dsChildren returns the element children of el, requiring each to be in the XML-DSig namespace, and
// refuses non-whitespace text.
func dsChildren(el *etree.Element) ([]*etree.Element, error) {
	var out []*etree.Element
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t.NamespaceURI() != dsig.Namespace {
				return nil, verr(Malformed, "<%s> inside <%s> is not in the XML-DSig namespace", t.FullTag(), el.Tag)
			}
			out = append(out, t)
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, verr(Malformed, "text inside <%s>", el.Tag)
			}
		}
	}
	return out, nil
}

func expectTags(el *etree.Element, children []*etree.Element, tags ...string) error {
	if len(children) != len(tags) {
		got := make([]string, len(children))
		for i, c := range children {
			got[i] = c.Tag
		}
		r := Malformed
		for _, c := range children {
			if c.Tag == "Object" || c.Tag == "Reference" {
				r = Wrapped
			}
		}
		return verr(r, "<%s> has children %v, want %v", el.Tag, got, tags)
	}
	for i, c := range children {
		if c.Tag != tags[i] {
			return verr(Malformed, "<%s> child %d is <%s>, want <%s>", el.Tag, i+1, c.Tag, tags[i])
		}
	}
	return nil
}

// onlyAttrs refuses attributes other than the allowed ones (namespace declarations are always allowed).
func onlyAttrs(el *etree.Element, allowed ...string) error {
outer:
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		for _, k := range allowed {
			if a.Space == "" && a.Key == k {
				continue outer
			}
		}
		return verr(Malformed, "unexpected attribute %s on <%s>", a.FullKey(), el.Tag)
	}
	return nil
}

func algorithmAttr(el *etree.Element) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == "Algorithm" {
			return a.Value
		}
	}
	return ""
}

// parseSignature checks the profile's shape of ds:Signature and extracts what the verification needs.
func parseSignature(sigEl *etree.Element, id string) (*parsedSignature, error) {
	if err := onlyAttrs(sigEl, "Id"); err != nil {
		return nil, err
	}
	kids, err := dsChildren(sigEl)
	if err != nil {
		return nil, err
	}
	if err := expectTags(sigEl, kids, "SignedInfo", "SignatureValue", "KeyInfo"); err != nil {
		return nil, err
	}
	signedInfo, sigValueEl, keyInfo := kids[0], kids[1], kids[2]

	// SignedInfo
	if err := onlyAttrs(signedInfo, "Id"); err != nil {
		return nil, err
	}
	si, err := dsChildren(signedInfo)
	if err != nil {
		return nil, err
	}
	if err := expectTags(signedInfo, si, "CanonicalizationMethod", "SignatureMethod", "Reference"); err != nil {
		return nil, err
	}
	c14n, method, ref := si[0], si[1], si[2]
	if alg := algorithmAttr(c14n); alg != AlgExcC14N {
		return nil, verr(WrongAlgorithm, "CanonicalizationMethod %q, want %q", alg, AlgExcC14N)
	}
	if len(c14n.ChildElements()) != 0 {
		return nil, verr(WrongAlgorithm, "CanonicalizationMethod with an InclusiveNamespaces prefix list")
	}
	p := &parsedSignature{method: algorithmAttr(method)}
	switch p.method {
	case AlgRSASHA256, AlgECDSASHA256, AlgECDSASHA384:
	default:
		return nil, verr(WrongAlgorithm, "SignatureMethod %q is not rsa-sha256, ecdsa-sha256 or ecdsa-sha384", p.method)
	}
	if len(method.ChildElements()) != 0 {
		return nil, verr(WrongAlgorithm, "SignatureMethod with parameters")
	}

	// Reference
	if err := onlyAttrs(ref, "URI", "Id"); err != nil {
		return nil, err
	}
	uri := ref.SelectAttr("URI")
	if uri == nil || uri.Space != "" || uri.Value != "#"+id {
		got := "(none)"
		if uri != nil {
			got = fmt.Sprintf("%q", uri.Value)
		}
		return nil, verr(Wrapped, "Reference URI is %s, want %q (the root Id)", got, "#"+id)
	}
	rk, err := dsChildren(ref)
	if err != nil {
		return nil, err
	}
	if err := expectTags(ref, rk, "Transforms", "DigestMethod", "DigestValue"); err != nil {
		return nil, err
	}
	tk, err := dsChildren(rk[0])
	if err != nil {
		return nil, err
	}
	if len(tk) != 2 || tk[0].Tag != "Transform" || tk[1].Tag != "Transform" ||
		algorithmAttr(tk[0]) != AlgEnveloped || algorithmAttr(tk[1]) != AlgExcC14N {
		algs := make([]string, len(tk))
		for i, t := range tk {
			algs[i] = algorithmAttr(t)
		}
		return nil, verr(WrongAlgorithm, "Transforms %q, want [enveloped-signature, exc-c14n]", algs)
	}
	if len(tk[0].ChildElements()) != 0 {
		return nil, verr(WrongAlgorithm, "enveloped-signature transform with parameters")
	}
	// An InclusiveNamespaces prefix list on the exc-c14n transform is tolerated (goxmldsig honours it); it
	// only decides which namespace declarations are rendered.
	for _, c := range tk[1].ChildElements() {
		if c.Tag != "InclusiveNamespaces" || c.NamespaceURI() != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
			return nil, verr(WrongAlgorithm, "unexpected <%s> in the exc-c14n transform", c.Tag)
		}
	}
	if alg := algorithmAttr(rk[1]); alg != AlgSHA256 {
		return nil, verr(WrongAlgorithm, "DigestMethod %q, want %q", alg, AlgSHA256)
	}
	if dv, err := decodeB64(rk[2].Text()); err != nil || len(dv) != 32 {
		return nil, verr(Malformed, "DigestValue is not a base64 SHA-256 digest")
	}

	// SignatureValue
	if err := onlyAttrs(sigValueEl, "Id"); err != nil {
		return nil, err
	}
	if len(sigValueEl.ChildElements()) != 0 {
		return nil, verr(Malformed, "SignatureValue has child elements")
	}
	p.sigValue, err = decodeB64(sigValueEl.Text())
	if err != nil || len(p.sigValue) == 0 {
		return nil, verr(Malformed, "SignatureValue is not base64")
	}
	p.sigValueEl = sigValueEl

	// KeyInfo / X509Data / X509Certificate+
	if err := onlyAttrs(keyInfo, "Id"); err != nil {
		return nil, err
	}
	ki, err := dsChildren(keyInfo)
	if err != nil {
		return nil, err
	}
	if err := expectTags(keyInfo, ki, "X509Data"); err != nil {
		return nil, err
	}
	xd, err := dsChildren(ki[0])
	if err != nil {
		return nil, err
	}
	if len(xd) == 0 {
		return nil, verr(Malformed, "X509Data holds no certificate")
	}
	if len(xd) > maxCerts {
		return nil, verr(Malformed, "X509Data holds more than %d certificates", maxCerts)
	}
	for _, c := range xd {
		if c.Tag != "X509Certificate" {
			return nil, verr(Malformed, "X509Data holds <%s>; only X509Certificate is allowed", c.Tag)
		}
		der, err := decodeB64(c.Text())
		if err != nil {
			return nil, verr(Malformed, "X509Certificate is not base64")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, verr(Malformed, "X509Certificate: %w", err)
		}
		p.certs = append(p.certs, cert)
	}
	return p, nil
}

// decodeB64 decodes base64 text that may contain XML white space (line breaks are common).
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// methodFor checks that the signature method fits the signer's key.
func (v *Verifier) methodFor(method string, pub crypto.PublicKey) (algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		min := v.MinRSABits
		if min <= 0 {
			min = 2048
		}
		if k.N.BitLen() < min {
			return algorithm{}, verr(WrongAlgorithm, "RSA key of %d bits, want at least %d", k.N.BitLen(), min)
		}
		if method != AlgRSASHA256 {
			return algorithm{}, verr(WrongAlgorithm, "SignatureMethod %q with an RSA key", method)
		}
		return algorithm{uri: method, hash: crypto.SHA256}, nil
	case *ecdsa.PublicKey:
		var size int
		switch k.Curve {
		case elliptic.P256():
			size = 32
		case elliptic.P384():
			size = 48
		default:
			return algorithm{}, verr(WrongAlgorithm, "ECDSA key on %s; want P-256 or P-384", k.Curve.Params().Name)
		}
		switch method {
		case AlgECDSASHA256:
			return algorithm{uri: method, hash: crypto.SHA256, ecdsaSize: size}, nil
		case AlgECDSASHA384:
			return algorithm{uri: method, hash: crypto.SHA384, ecdsaSize: size}, nil
		}
		return algorithm{}, verr(WrongAlgorithm, "SignatureMethod %q with an ECDSA key", method)
	}
	return algorithm{}, verr(WrongAlgorithm, "unsupported signer key %T", pub)
}

// checkSignedInfo verifies the SignatureValue over the exclusive canonical form of SignedInfo. It is used
// only to tell a bad signature from a bad digest after goxmldsig rejected a document.
func checkSignedInfo(sigEl *etree.Element, pub crypto.PublicKey, sigValue []byte, alg algorithm) error {
	ctx, err := etreeutils.NSBuildParentContext(sigEl)
	if err != nil {
		return err
	}
	ctx, err = ctx.SubContext(sigEl)
	if err != nil {
		return err
	}
	var si *etree.Element
	for _, c := range sigEl.ChildElements() {
		if c.Tag == "SignedInfo" {
			si = c
		}
	}
	if si == nil {
		return errors.New("no SignedInfo")
	}
	detached, err := etreeutils.NSDetatch(ctx, si)
	if err != nil {
		return err
	}
	canonical, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	if err != nil {
		return err
	}
	h := alg.hash.New()
	h.Write(canonical)
	return checkSignature(pub, h.Sum(nil), sigValue, alg)
}
