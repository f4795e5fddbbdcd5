package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/ehcert/ehcert/sign/internal/excc14n"
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
//   - the SignatureValue (raw r||s for ECDSA, as XML-DSig requires) verifies over the exclusive canonical
//     form of SignedInfo, and the profile checks hold on that canonical SignedInfo too (what is signed is
//     what is checked);
//   - the SHA-256 digest of the exclusive canonical form of the root without its Signature matches the
//     signed DigestValue; that canonical form, parsed, is Verified.Element.
//
// Both canonical forms are computed from the bytes of doc by the canonicalizer the signer uses, which
// follows the exclusive C14N specification as xmlsec1 and Apache Santuario do (goxmldsig v1.6.1 does not in
// three places, so it is not used here). Every failure is a *VerifyError. Verify never panics on any input.
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
	return v.verify(root, root, root, doc)
}

// VerifyElement checks the enveloped signature of el, an element inside a larger parsed document (a request
// inside a SOAP Body, say), with the same rules as Verify applied to el as the signed root. Namespace
// declarations in scope from el's ancestors are taken into account; el is not modified.
//
// The canonical forms are computed from el serialized again, and a parsed tree has lost one distinction
// that canonicalization makes: a tab or newline in an attribute value written literally becomes a space,
// written as a character reference (&#9;, &#10;) it stays. When el has such attribute values, both readings
// are tried and the element is accepted when one of them matches the signature (Verified.Element is then
// that canonical form); a document mixing both writings fails with BadDigest. Verify, which reads the
// bytes, has no such limit.
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
	return v.verify(detached, top, el, nil)
}

const (
	maxElements = 2000
	maxCerts    = 10
)

// verify checks root, which belongs to us. scan is the top element of the document root comes from and orig
// the element root was detached from (both are root itself for Verify): the duplicate-Id scan covers the
// whole document. doc holds the bytes root was parsed from; nil means root is serialized again
// (VerifyElement).
func (v *Verifier) verify(root, scan, orig *etree.Element, doc []byte) (*Verified, error) {
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
	if alg.ecdsaSize > 0 && len(p.sigValue) != 2*alg.ecdsaSize {
		return nil, verr(BadSignature, "ECDSA SignatureValue is %d bytes, want r||s of %d bytes", len(p.sigValue), 2*alg.ecdsaSize)
	}

	sigIdx := slices.Index(root.ChildElements(), sigEl)
	var sources [][]byte
	if doc != nil {
		sources = [][]byte{doc}
	} else {
		src, err := appendTree(nil, root, false)
		if err != nil {
			return nil, err
		}
		sources = [][]byte{src}
		if attrHasWhitespace(root) {
			if src, err = appendTree(nil, root, true); err != nil {
				return nil, err
			}
			sources = append(sources, src)
		}
	}
	var firstErr error
	for _, src := range sources {
		el, err := checkSigned(src, root, sigEl, sigIdx, id, p, leaf.PublicKey, alg)
		if err == nil {
			return &Verified{Element: el, Signer: leaf, Chain: chains[0], ReferenceID: id, SignatureMethod: p.method}, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// checkSigned does the cryptography on src, the bytes of the document whose root element is root (sigEl,
// its Signature, is its element child number sigIdx): it verifies the SignatureValue over the exclusive
// canonical form of SignedInfo, reads the Reference from that canonical form, and compares its digest with
// the one of the canonical root without its Signature. It returns that canonical root, parsed.
func checkSigned(src []byte, root, sigEl *etree.Element, sigIdx int, id string, p *parsedSignature, pub crypto.PublicKey, alg algorithm) (*etree.Element, error) {
	si, res, err := excc14n.Canonicalize(nil, src, &excc14n.Options{Apex: []int{sigIdx, 0}})
	if err != nil {
		return nil, verr(Malformed, "cannot canonicalize: %w", err)
	}
	if res.ApexQName != p.siEl.FullTag() {
		return nil, verr(Malformed, "canonicalization found <%s> where the document has <%s>", res.ApexQName, p.siEl.FullTag())
	}
	h := alg.hash.New()
	h.Write(si)
	if err := checkSignature(pub, h.Sum(nil), p.sigValue, alg); err != nil {
		return nil, &VerifyError{Reason: BadSignature, Err: err}
	}

	// The signed SignedInfo is its canonical form: the Reference is read from there.
	signed, err := parseXML(si)
	if err != nil {
		return nil, verr(Malformed, "canonical SignedInfo: %w", err)
	}
	ref, err := parseSignedInfo(signed, id)
	if err != nil {
		return nil, err
	}
	if ref.method != p.method || !bytes.Equal(ref.digest, p.digest) || !slices.Equal(ref.prefixes, p.prefixes) {
		return nil, verr(Malformed, "the signed SignedInfo differs from the one in the document")
	}

	c, res, err := excc14n.Canonicalize(nil, src, &excc14n.Options{Omit: []int{sigIdx}, InclusivePrefixes: ref.prefixes})
	if err != nil {
		return nil, verr(Malformed, "cannot canonicalize: %w", err)
	}
	if res.RootQName != root.FullTag() || res.OmittedQName != sigEl.FullTag() {
		return nil, verr(Malformed, "canonicalization does not find <%s> and its <%s>", root.FullTag(), sigEl.FullTag())
	}
	digest := sha256.Sum256(c)
	if !bytes.Equal(digest[:], ref.digest) {
		return nil, verr(BadDigest, "the Reference digest does not match the content")
	}
	el, err := parseXML(c)
	if err != nil {
		return nil, verr(Malformed, "canonical form: %w", err)
	}
	// Belt and braces: what was verified must be our root.
	if got, err := rootID(el); err != nil || got != id || el.Tag != root.Tag {
		return nil, verr(Wrapped, "the verified element is not the signed root")
	}
	return el, nil
}

// parseXML parses a canonical form (an element).
func parseXML(b []byte) (*etree.Element, error) {
	d := etree.NewDocument()
	d.ReadSettings = readSettings
	if err := d.ReadFromBytes(b); err != nil {
		return nil, err
	}
	if d.Root() == nil {
		return nil, errors.New("no element")
	}
	return d.Root(), nil
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

// signedInfo is what the profile lets SignedInfo say.
type signedInfo struct {
	method   string   // SignatureMethod
	digest   []byte   // DigestValue of the one Reference
	prefixes []string // InclusiveNamespaces PrefixList of the exc-c14n transform, if any
}

type parsedSignature struct {
	signedInfo
	siEl     *etree.Element
	sigValue []byte
	certs    []*x509.Certificate
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

// parseSignedInfo checks the profile's shape of ds:SignedInfo (in the document, and again in its signed
// canonical form) and extracts what the verification needs.
func parseSignedInfo(siEl *etree.Element, id string) (*signedInfo, error) {
	if siEl.Tag != "SignedInfo" || siEl.NamespaceURI() != dsig.Namespace {
		return nil, verr(Malformed, "<%s> is not ds:SignedInfo", siEl.FullTag())
	}
	if err := onlyAttrs(siEl, "Id"); err != nil {
		return nil, err
	}
	si, err := dsChildren(siEl)
	if err != nil {
		return nil, err
	}
	if err := expectTags(siEl, si, "CanonicalizationMethod", "SignatureMethod", "Reference"); err != nil {
		return nil, err
	}
	c14n, method, ref := si[0], si[1], si[2]
	if alg := algorithmAttr(c14n); alg != AlgExcC14N {
		return nil, verr(WrongAlgorithm, "CanonicalizationMethod %q, want %q", alg, AlgExcC14N)
	}
	if len(c14n.ChildElements()) != 0 {
		return nil, verr(WrongAlgorithm, "CanonicalizationMethod with an InclusiveNamespaces prefix list")
	}
	out := &signedInfo{method: algorithmAttr(method)}
	switch out.method {
	case AlgRSASHA256, AlgECDSASHA256, AlgECDSASHA384:
	default:
		return nil, verr(WrongAlgorithm, "SignatureMethod %q is not rsa-sha256, ecdsa-sha256 or ecdsa-sha384", out.method)
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
	if err := onlyAttrs(rk[0]); err != nil {
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
	// An InclusiveNamespaces prefix list on the exc-c14n transform is honoured: it only decides which
	// namespace declarations are rendered.
	switch params := tk[1].ChildElements(); {
	case len(params) > 1:
		return nil, verr(WrongAlgorithm, "exc-c14n transform with %d parameters", len(params))
	case len(params) == 1:
		in := params[0]
		if in.Tag != "InclusiveNamespaces" || in.NamespaceURI() != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
			return nil, verr(WrongAlgorithm, "unexpected <%s> in the exc-c14n transform", in.Tag)
		}
		if err := onlyAttrs(in, "PrefixList"); err != nil {
			return nil, err
		}
		for _, pfx := range strings.Fields(in.SelectAttrValue("PrefixList", "")) {
			if pfx != "#default" && (strings.ContainsAny(pfx, ":#") || len(pfx) > 256) {
				return nil, verr(WrongAlgorithm, "InclusiveNamespaces PrefixList entry %q", pfx)
			}
			out.prefixes = append(out.prefixes, pfx)
		}
	}
	if alg := algorithmAttr(rk[1]); alg != AlgSHA256 {
		return nil, verr(WrongAlgorithm, "DigestMethod %q, want %q", alg, AlgSHA256)
	}
	if out.digest, err = decodeB64(rk[2].Text()); err != nil || len(out.digest) != 32 || len(rk[2].ChildElements()) != 0 {
		return nil, verr(Malformed, "DigestValue is not a base64 SHA-256 digest")
	}
	return out, nil
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
	signedInfoEl, sigValueEl, keyInfo := kids[0], kids[1], kids[2]
	si, err := parseSignedInfo(signedInfoEl, id)
	if err != nil {
		return nil, err
	}
	p := &parsedSignature{signedInfo: *si, siEl: signedInfoEl}

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

// duplicateAttr returns the name of an attribute that el carries twice, or "". (etree keeps duplicates
// with PreserveDuplicateAttrs; libxml2 and the platform refuse such documents.)
func duplicateAttr(el *etree.Element) string {
	if len(el.Attr) <= 8 {
		for i, a := range el.Attr {
			for _, b := range el.Attr[:i] {
				if a.Space == b.Space && a.Key == b.Key {
					return a.FullKey()
				}
			}
		}
		return ""
	}
	seen := make(map[[2]string]bool, len(el.Attr))
	for _, a := range el.Attr {
		k := [2]string{a.Space, a.Key}
		if seen[k] {
			return a.FullKey()
		}
		seen[k] = true
	}
	return ""
}

// readSettings are the etree settings for untrusted input: UTF-8 only (the pass-through default of etree
// would misread other encodings), duplicate attributes kept so that they can be refused.
var readSettings = etree.ReadSettings{
	CharsetReader: func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q is not supported (UTF-8 only)", charset)
	},
	PreserveDuplicateAttrs: true,
	MaxDepth:               256,
}

// rootID returns the value of the root's unprefixed Id attribute.
func rootID(root *etree.Element) (string, error) {
	for _, a := range root.Attr {
		if a.Space == "" && a.Key == "Id" {
			if a.Value == "" {
				return "", ErrNoID
			}
			if !isPlainNCName(a.Value) {
				return "", ErrBadID
			}
			return a.Value, nil
		}
	}
	return "", ErrNoID
}

// appendTree serializes el, a detached element that carries the namespace declarations in scope, as a
// document for the canonicalizer. Comments are left out (the canonical form has none). encoding/xml, under
// etree, does not normalize white space in attribute values, so a tab or newline there may come from a
// literal character (which canonicalization turns into a space) or from a character reference (which it
// keeps); literalWS writes them literally, otherwise as references.
func appendTree(dst []byte, el *etree.Element, literalWS bool) ([]byte, error) {
	type item struct {
		el   *etree.Element
		next int // index of the next child to write; -1: start tag not written yet
	}
	stack := []item{{el: el, next: -1}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		e := top.el
		if top.next < 0 {
			dst = append(dst, '<')
			dst = append(dst, e.FullTag()...)
			for _, a := range e.Attr {
				dst = append(dst, ' ')
				dst = append(dst, a.FullKey()...)
				dst = append(dst, `="`...)
				dst = appendEscaped(dst, a.Value, true, literalWS)
				dst = append(dst, '"')
			}
			dst = append(dst, '>')
			top.next = 0
		}
		if top.next >= len(e.Child) {
			dst = append(dst, "</"...)
			dst = append(dst, e.FullTag()...)
			dst = append(dst, '>')
			stack = stack[:len(stack)-1]
			continue
		}
		t := e.Child[top.next]
		top.next++
		switch t := t.(type) {
		case *etree.Element:
			stack = append(stack, item{el: t, next: -1})
		case *etree.CharData:
			dst = appendEscaped(dst, t.Data, false, false)
		case *etree.ProcInst:
			dst = append(dst, "<?"...)
			dst = append(dst, t.Target...)
			if t.Inst != "" {
				dst = append(dst, ' ')
				dst = append(dst, t.Inst...)
			}
			dst = append(dst, "?>"...)
		case *etree.Comment:
		default:
			return nil, verr(Malformed, "unexpected %T inside <%s>", t, e.FullTag())
		}
	}
	return dst, nil
}

// appendEscaped escapes character data or an attribute value.
func appendEscaped(dst []byte, s string, attr, literalWS bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>' && !attr:
			dst = append(dst, "&gt;"...)
		case c == '"' && attr:
			dst = append(dst, "&quot;"...)
		case c == '\r':
			dst = append(dst, "&#xD;"...)
		case c == '\t' && attr && !literalWS:
			dst = append(dst, "&#x9;"...)
		case c == '\n' && attr && !literalWS:
			dst = append(dst, "&#xA;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// attrHasWhitespace reports an attribute value with a tab or newline in el or below.
func attrHasWhitespace(el *etree.Element) bool {
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, a := range e.Attr {
			if strings.ContainsAny(a.Value, "\t\n") {
				return true
			}
		}
		stack = append(stack, e.ChildElements()...)
	}
	return false
}
