package ehealthtest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // rsa-sha1 and sha1 digests of the profile-breaking signatures
	_ "crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
)

// Signed requests that break the eHealth signature profile in one way each, for the platform's signature checks.
// resign recomputes digests and the SignatureValue with the algorithms the document names, so a document that
// breaks the profile (rsa-sha1, a Reference to an inner element, ...) still carries a signature that is
// cryptographically right: when the platform refuses it, the profile check refused it.

const (
	algExcC14N         = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algExcC14NComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	algC14N10          = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	algEnveloped       = ehealth.NSXMLDSig + "enveloped-signature"
	algXSLT            = "http://www.w3.org/TR/1999/REC-xslt-19991116"
	algSHA1            = ehealth.NSXMLDSig + "sha1"
	algSHA256          = "http://www.w3.org/2001/04/xmlenc#sha256"
	algRSASHA1         = ehealth.NSXMLDSig + "rsa-sha1"
	algRSASHA256       = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
)

// errCaptured stops a client after signing: captureSigner keeps the signed request instead of sending it.
var errCaptured = errors.New("signed request captured, not sent")

// captureSigner signs a request as sign.Keyring does and keeps the signed bytes; the client then fails with
// errCaptured, so the request is never sent.
type captureSigner struct {
	key    sign.Key
	signed []byte
}

func (c *captureSigner) SignRequest(ctx context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	b, err := sign.EnvelopedContext(ctx, c.key, payload)
	if err != nil {
		return nil, err
	}
	c.signed = b
	return nil, errCaptured
}

// signedDoc is a signed request being changed.
type signedDoc struct {
	doc  *etree.Document
	root *etree.Element
	sig  *etree.Element // the ds:Signature sign.Enveloped appended
	key  crypto.Signer  // the key resign signs with
}

func parseSigned(t *testing.T, b []byte, key crypto.Signer) *signedDoc {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("signed request: %v", err)
	}
	d := &signedDoc{doc: doc, root: doc.Root(), key: key}
	d.sig = dsChild(d.root, "Signature")
	if d.sig == nil {
		t.Fatalf("no ds:Signature in %s", b)
	}
	return d
}

func (d *signedDoc) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := d.doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dsChild returns the first child element of el named {xmldsig}tag, or nil.
func dsChild(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ehealth.NSXMLDSig {
			return c
		}
	}
	return nil
}

func dsChildren(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ehealth.NSXMLDSig {
			out = append(out, c)
		}
	}
	return out
}

// signedInfo, reference return parts of the Signature (the first Reference).
func (d *signedDoc) signedInfo() *etree.Element { return dsChild(d.sig, "SignedInfo") }
func (d *signedDoc) reference() *etree.Element  { return dsChild(d.signedInfo(), "Reference") }

// inner returns the first child element of the root (SSIN, EHealthCSR, PublicEncryptionKey ...), giving it the
// Id "_inner" so that a Reference can point at it.
func (d *signedDoc) inner() *etree.Element {
	el := d.root.ChildElements()[0]
	el.CreateAttr("Id", "_inner")
	return el
}

// resolve finds what a Reference URI designates: "" the whole document (its root), "#x" the element whose Id
// is x.
func (d *signedDoc) resolve(uri string) *etree.Element {
	if uri == "" {
		return d.root
	}
	if uri[0] != '#' {
		return nil
	}
	for _, el := range d.doc.FindElements("//*") {
		if a := el.SelectAttr("Id"); a != nil && a.Space == "" && a.Value == uri[1:] {
			return el
		}
	}
	return nil
}

// canonical serialises el (with the namespaces in scope) by the canonicalization algorithm alg.
func canonical(t *testing.T, el *etree.Element, alg, prefixList string) []byte {
	t.Helper()
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	var c dsig.Canonicalizer
	switch alg {
	case algExcC14N:
		c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList)
	case algExcC14NComments:
		c = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixList)
	case algC14N10, "":
		c = dsig.MakeC14N10RecCanonicalizer()
	default:
		t.Fatalf("resign: cannot canonicalize with %s", alg)
	}
	b, err := c.Canonicalize(detached)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// prefixListOf returns the PrefixList of an InclusiveNamespaces child of a c14n method or transform.
func prefixListOf(el *etree.Element) string {
	for _, c := range el.ChildElements() {
		if c.Tag == "InclusiveNamespaces" {
			return c.SelectAttrValue("PrefixList", "")
		}
	}
	return ""
}

func hashOf(t *testing.T, alg string) crypto.Hash {
	t.Helper()
	switch alg {
	case algSHA1, algRSASHA1:
		return crypto.SHA1
	case algSHA256, algRSASHA256:
		return crypto.SHA256
	}
	t.Fatalf("resign: unknown algorithm %s", alg)
	return 0
}

// resign recomputes every Reference's DigestValue (the enveloped-signature and c14n transforms it names, over what
// its URI designates) and the SignatureValue (SignedInfo canonicalized as it names, RSA PKCS#1 v1.5 with the hash
// of its SignatureMethod) with d.key.
func (d *signedDoc) resign(t *testing.T) {
	t.Helper()
	si := d.signedInfo()
	for _, ref := range dsChildren(si, "Reference") {
		target := d.resolve(ref.SelectAttrValue("URI", ""))
		if target == nil {
			t.Fatalf("resign: Reference URI %q designates nothing", ref.SelectAttrValue("URI", ""))
		}
		enveloped, c14n, prefixes := false, "", ""
		if tr := dsChild(ref, "Transforms"); tr != nil {
			for _, x := range dsChildren(tr, "Transform") {
				if alg := x.SelectAttrValue("Algorithm", ""); alg == algEnveloped {
					enveloped = true
				} else {
					c14n, prefixes = alg, prefixListOf(x)
				}
			}
		}
		parent, idx := d.sig.Parent(), d.sig.Index()
		if enveloped {
			parent.RemoveChildAt(idx)
		}
		content := canonical(t, target, c14n, prefixes)
		if enveloped {
			parent.InsertChildAt(idx, d.sig)
		}
		h := hashOf(t, dsChild(ref, "DigestMethod").SelectAttrValue("Algorithm", "")).New()
		h.Write(content)
		dsChild(ref, "DigestValue").SetText(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	cm := dsChild(si, "CanonicalizationMethod")
	signed := canonical(t, si, cm.SelectAttrValue("Algorithm", ""), prefixListOf(cm))
	hash := hashOf(t, dsChild(si, "SignatureMethod").SelectAttrValue("Algorithm", ""))
	if _, ok := d.key.Public().(*rsa.PublicKey); !ok {
		t.Fatalf("resign: only RSA keys, not %T", d.key.Public())
	}
	h := hash.New()
	h.Write(signed)
	sv, err := d.key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		t.Fatalf("resign: %v", err)
	}
	dsChild(d.sig, "SignatureValue").SetText(base64.StdEncoding.EncodeToString(sv))
}

// setAlgorithm sets the Algorithm of the named ds child of el.
func setAlgorithm(el *etree.Element, tag, alg string) {
	dsChild(el, tag).CreateAttr("Algorithm", alg)
}

// setChain replaces the X509Data certificates by chain (leaf first).
func (d *signedDoc) setChain(chain []*x509.Certificate) {
	xd := dsChild(dsChild(d.sig, "KeyInfo"), "X509Data")
	for _, c := range xd.ChildElements() {
		xd.RemoveChild(c)
	}
	for _, c := range chain {
		xd.CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(c.Raw))
	}
}
