package sign_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/sign/internal/excc14n"
)

// The signature-wrapping corpus (testdata/wrapping) holds documents derived from one valid signed
// GetActorQualitiesRequest (valid.xml). Many carry a signature that is cryptographically valid, made with
// the trusted test key, so that their rejection shows the profile checks at work and not merely a failed
// digest. MANIFEST lists each file with the Reason the Verifier must give.

const wrapDir = "testdata/wrapping"

type wrapCase struct {
	file, reason, what string
	doc                string
}

// parts of the base document.
type baseDoc struct {
	open, content, sig, close string
	id                        string
}

const evilContent = `<SSIN xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Type="SSIN">85073100134</SSIN>`

func splitSigned(t testing.TB, signed []byte) baseDoc {
	t.Helper()
	s := string(signed)
	i := strings.Index(s, "<ds:Signature")
	j := strings.Index(s, "</ds:Signature>") + len("</ds:Signature>")
	k := strings.Index(s, ">") + 1
	if i < 0 || j < i || k <= 0 {
		t.Fatal("unexpected signed document")
	}
	d := baseDoc{open: s[:k], content: s[k:i], sig: s[i:j], close: s[j:]}
	el := etree.NewDocument()
	if err := el.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	d.id = el.Root().SelectAttrValue("Id", "")
	return d
}

// forger makes signatures with arbitrary SignedInfo content, signed by a trusted key.
type forger struct {
	t   testing.TB
	key sign.Key
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func digestOf(t testing.TB, element string) string {
	t.Helper()
	c, _, err := excc14n.AppendRoot(nil, []byte(element))
	if err != nil {
		t.Fatalf("canonicalize: %v", err)
	}
	d := sha256.Sum256(c)
	return b64(d[:])
}

func reference(uri string, transforms []string, digestAlg, digest string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<ds:Reference URI="%s"><ds:Transforms>`, uri)
	for _, tr := range transforms {
		fmt.Fprintf(&b, `<ds:Transform Algorithm="%s"></ds:Transform>`, tr)
	}
	fmt.Fprintf(&b, `</ds:Transforms><ds:DigestMethod Algorithm="%s"></ds:DigestMethod><ds:DigestValue>%s</ds:DigestValue></ds:Reference>`, digestAlg, digest)
	return b.String()
}

var profileTransforms = []string{sign.AlgEnveloped, sign.AlgExcC14N}

// signature builds a ds:Signature whose SignedInfo is written in canonical form (so the bytes signed are
// the bytes embedded) with the given c14n element, method and references.
func (f *forger) signature(c14nElement, method string, hash crypto.Hash, refs ...string) string {
	si := `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + c14nElement +
		`<ds:SignatureMethod Algorithm="` + method + `"></ds:SignatureMethod>` + strings.Join(refs, "") + `</ds:SignedInfo>`
	var digest []byte
	switch hash {
	case crypto.SHA1:
		d := sha1.Sum([]byte(si))
		digest = d[:]
	default:
		d := sha256.Sum256([]byte(si))
		digest = d[:]
	}
	sv, err := f.key.Sign(rand.Reader, digest, hash)
	if err != nil {
		f.t.Fatal(err)
	}
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + si + `<ds:SignatureValue>` + b64(sv) +
		`</ds:SignatureValue>` + keyInfo(f.key) + `</ds:Signature>`
}

func keyInfo(k sign.Key) string {
	var b strings.Builder
	b.WriteString(`<ds:KeyInfo><ds:X509Data>`)
	for _, c := range k.Chain() {
		b.WriteString(`<ds:X509Certificate>` + b64(c.Raw) + `</ds:X509Certificate>`)
	}
	b.WriteString(`</ds:X509Data></ds:KeyInfo>`)
	return b.String()
}

const excC14N = `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod>`

func wrappingCases(t testing.TB, p *testPKI) (valid string, cases []wrapCase) {
	t.Helper()
	unsigned := requestFiles(t)["GetActorQualities"]
	signed, err := sign.Enveloped(p.Keys["rsa"], unsigned)
	if err != nil {
		t.Fatal(err)
	}
	d := splitSigned(t, signed)
	if d.open+d.content+d.sig+d.close != string(signed) {
		t.Fatal("split does not add up")
	}
	f := &forger{t: t, key: p.Keys["rsa"]}
	rootDigest := digestOf(t, d.open+d.content+d.close)
	evilOpen := strings.Replace(d.open, d.id, "_evil", 1)
	ssinWithID := strings.Replace(d.content, `Type="SSIN"`, `Id="_ssin" Type="SSIN"`, 1)
	with := func(sig string) string { return d.open + d.content + sig + d.close }

	evilSigned, err := sign.Enveloped(p.Keys["evil"], []byte(d.open+evilContent+d.close))
	if err != nil {
		t.Fatal(err)
	}
	evilSig := splitSigned(t, evilSigned).sig
	expiredSigned, err := sign.Enveloped(p.Keys["expired"], unsigned)
	if err != nil {
		t.Fatal(err)
	}
	rsa2Cert := b64(p.Keys["rsa2"].Chain()[0].Raw)
	ourCert := b64(p.Keys["rsa"].Chain()[0].Raw)

	withComments := func() string {
		// exc-c14n#WithComments over content that carries a comment, signed correctly for that transform.
		doc := etree.NewDocument()
		content := strings.Replace(d.content, "71715100070", "71715100070<!--c-->", 1)
		if err := doc.ReadFromString(d.open + content + d.close); err != nil {
			t.Fatal(err)
		}
		c, err := dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("").Canonicalize(doc.Root())
		if err != nil {
			t.Fatal(err)
		}
		dg := sha256.Sum256(c)
		return d.open + content + f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256,
			reference("#"+d.id, []string{sign.AlgEnveloped, string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId)}, sign.AlgSHA256, b64(dg[:]))) + d.close
	}

	cases = []wrapCase{
		{"01-original-nested-duplicate-id.xml", "Wrapped",
			"evil content in the root, the signed original (same Id) nested inside an extension element",
			d.open + evilContent + `<Extension>` + string(signed) + `</Extension>` + d.close},
		{"02-original-in-object.xml", "Wrapped",
			"root renamed to Id _evil with evil content; the signed original moved into ds:Object of the Signature",
			evilOpen + evilContent + strings.Replace(d.sig, "</ds:Signature>",
				`<ds:Object>`+d.open+d.content+d.close+`</ds:Object></ds:Signature>`, 1) + d.close},
		{"03-original-in-header.xml", "Wrapped",
			"root renamed to Id _evil; the signed original, Signature and all, placed in a header element before the evil content",
			evilOpen + `<Header>` + string(signed) + `</Header>` + evilContent + d.close},
		{"04-second-signature-copy.xml", "Wrapped",
			"a valid Signature followed by a copy of itself",
			with(d.sig + d.sig)},
		{"05-attacker-signature-first.xml", "Wrapped",
			"evil content signed by an attacker, the original Signature kept as the last child",
			d.open + evilContent + evilSig + d.sig + d.close},
		{"06-reference-to-inner-element.xml", "Wrapped",
			"valid signature (trusted key) whose Reference points at the SSIN element, not the root; root content changed elsewhere",
			d.open + ssinWithID + `<Extra>evil</Extra>` + f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256,
				reference("#_ssin", []string{sign.AlgExcC14N}, sign.AlgSHA256, digestOf(t, ssinWithID))) + d.close},
		{"07-reference-uri-empty.xml", "Wrapped",
			`valid signature (trusted key) with Reference URI="" (whole document)`,
			with(f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256, reference("", profileTransforms, sign.AlgSHA256, rootDigest)))},
		{"08-reference-uri-external.xml", "Wrapped",
			"Reference URI pointing outside the document",
			with(f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256,
				reference("http://attacker.invalid/GetActorQualitiesRequest.xml", profileTransforms, sign.AlgSHA256, rootDigest)))},
		{"09-reference-uri-whitespace.xml", "Wrapped",
			"Reference URI with a leading space before #Id (whitespace trick)",
			with(f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256, reference(" #"+d.id, profileTransforms, sign.AlgSHA256, rootDigest)))},
		{"10-two-references.xml", "Wrapped",
			"valid signature (trusted key) with two References: the root and the SSIN element",
			d.open + ssinWithID + f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256,
				reference("#"+d.id, profileTransforms, sign.AlgSHA256, digestOf(t, d.open+ssinWithID+d.close)),
				reference("#_ssin", []string{sign.AlgExcC14N}, sign.AlgSHA256, digestOf(t, ssinWithID))) + d.close},
		{"11-transform-with-comments.xml", "WrongAlgorithm",
			"valid signature (trusted key) whose transform is exc-c14n#WithComments over content with a comment",
			withComments()},
		{"12-transforms-without-enveloped.xml", "WrongAlgorithm",
			"transforms changed: exc-c14n only, no enveloped-signature",
			with(f.signature(excC14N, sign.AlgRSASHA256, crypto.SHA256, reference("#"+d.id, []string{sign.AlgExcC14N}, sign.AlgSHA256, rootDigest)))},
		{"13-transform-xslt.xml", "WrongAlgorithm",
			"an XSLT transform added (a classic denial-of-service and rewriting vector)",
			with(strings.Replace(d.sig, `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform>`,
				`<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/></ds:Transform><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform>`, 1))},
		{"14-signature-first-child.xml", "Wrapped",
			"the Signature moved to be the first child of the root (xmlsec1 accepts this; the profile does not)",
			d.open + d.sig + d.content + d.close},
		{"15-signature-inside-child.xml", "Wrapped",
			"the Signature moved inside the SSIN element",
			d.open + strings.Replace(d.content, "</SSIN>", d.sig+"</SSIN>", 1) + d.close},
		{"16-comment-hides-signature.xml", "MissingSignature",
			"content changed and the original Signature turned into a comment",
			d.open + evilContent + "<!--" + strings.ReplaceAll(d.sig, "--", "- -") + "-->" + d.close},
		{"17-comment-after-signature.xml", "Wrapped",
			"a comment after the Signature, so the Signature is not the last child",
			d.open + d.content + d.sig + "<!-- appended -->" + d.close},
		{"18-comment-split-changed-text.xml", "BadDigest",
			"SSIN text changed around an inserted comment (7171510007<!---->1)",
			d.open + strings.Replace(d.content, "71715100070", "7171510007<!---->1", 1) + d.sig + d.close},
		{"19-whitespace-in-content.xml", "BadDigest",
			"white space inserted in the signed content (a pretty-printer's work)",
			d.open + "\n  " + d.content + "\n" + d.sig + d.close},
		{"20-duplicate-id-case-variant.xml", "Wrapped",
			"an inner element carrying the root Id in upper case (the Java connector resolves Ids case-insensitively)",
			d.open + strings.Replace(d.content, `Type="SSIN"`, `Id="`+strings.ToUpper(d.id)+`" Type="SSIN"`, 1) + d.sig + d.close},
		{"21-duplicate-id-attribute.xml", "Malformed",
			"the root carries Id twice (encoding/xml would keep the last one, libxml2 refuses the document)",
			strings.Replace(d.open, `Id="`, `Id="_evil" Id="`, 1) + d.content + d.sig + d.close},
		{"22-doctype-entity.xml", "Malformed",
			"a DOCTYPE with an internal entity used in the content",
			`<!DOCTYPE GetActorQualitiesRequest [<!ENTITY ssin "71715100070">]>` + d.open +
				strings.Replace(d.content, "71715100070", "&ssin;", 1) + d.sig + d.close},
		{"23-namespace-confusion.xml", "MissingSignature",
			"content changed; the Signature's ds prefix rebound to another namespace",
			d.open + evilContent + strings.Replace(d.sig, `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `xmlns:ds="urn:not-xmldsig"`, 1) + d.close},
		{"24-rsa-sha1.xml", "WrongAlgorithm",
			"valid signature (trusted key) with rsa-sha1",
			with(f.signature(excC14N, "http://www.w3.org/2000/09/xmldsig#rsa-sha1", crypto.SHA1,
				reference("#"+d.id, profileTransforms, sign.AlgSHA256, rootDigest)))},
		{"25-keyinfo-keyvalue.xml", "Malformed",
			"KeyInfo carrying a bare KeyValue instead of the X509Data chain",
			with(strings.Replace(d.sig, d.sig[strings.Index(d.sig, "<ds:KeyInfo>"):strings.Index(d.sig, "</ds:KeyInfo>")],
				`<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>`, 1))},
		{"26-untrusted-signer.xml", "UntrustedChain",
			"content changed and re-signed by an attacker whose root CA has the same name as the trusted one",
			string(evilSigned)},
		{"27-swapped-certificate.xml", "BadSignature",
			"the signer certificate replaced by another trusted certificate",
			with(strings.Replace(d.sig, ourCert, rsa2Cert, 1))},
		{"28-signedinfo-inclusive-namespaces.xml", "WrongAlgorithm",
			"CanonicalizationMethod of SignedInfo with an InclusiveNamespaces prefix list",
			with(f.signature(`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="ds"></ec:InclusiveNamespaces></ds:CanonicalizationMethod>`,
				sign.AlgRSASHA256, crypto.SHA256, reference("#"+d.id, profileTransforms, sign.AlgSHA256, rootDigest)))},
		{"29-duplicate-signedinfo.xml", "Malformed",
			"two SignedInfo elements (encoding/xml unmarshalling would merge them)",
			with(strings.Replace(d.sig, "<ds:SignatureValue>",
				d.sig[strings.Index(d.sig, "<ds:SignedInfo>"):strings.Index(d.sig, "<ds:SignatureValue>")]+"<ds:SignatureValue>", 1))},
		{"30-expired-signer.xml", "Expired",
			"signed with a certificate that expired in 2021",
			string(expiredSigned)},
		{"31-tampered-content.xml", "BadDigest",
			"the SSIN changed after signing",
			d.open + evilContent + d.sig + d.close},
		{"32-no-signature.xml", "MissingSignature",
			"the Signature removed",
			d.open + d.content + d.close},
	}
	return string(signed), cases
}

func generateWrappingCorpus(t *testing.T, p *testPKI) {
	valid, cases := wrappingCases(t, p)
	if err := os.RemoveAll(wrapDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(wrapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var manifest strings.Builder
	manifest.WriteString("# Signature-wrapping corpus: <file> <expected sign.Reason> <what it is>.\n")
	manifest.WriteString("# Generated by `go test ./sign -run TestGenerateTestdata -update` (wrapping_test.go) from valid.xml.\n")
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(wrapDir, c.file), []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, "%s %s %s\n", c.file, c.reason, c.what)
	}
	if err := os.WriteFile(filepath.Join(wrapDir, "valid.xml"), []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wrapDir, "MANIFEST"), []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type manifestEntry struct{ file, reason, what string }

func readManifest(t testing.TB) []manifestEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(wrapDir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []manifestEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		if len(parts) != 3 {
			t.Fatalf("bad MANIFEST line %q", line)
		}
		out = append(out, manifestEntry{parts[0], parts[1], parts[2]})
	}
	return out
}

var reasonsByName = map[string]sign.Reason{
	"Malformed": sign.Malformed, "MissingSignature": sign.MissingSignature, "Wrapped": sign.Wrapped,
	"WrongAlgorithm": sign.WrongAlgorithm, "BadDigest": sign.BadDigest, "BadSignature": sign.BadSignature,
	"UntrustedChain": sign.UntrustedChain, "Expired": sign.Expired,
}

// TestWrappingCorpus: every committed wrapping shape is rejected, with the expected reason, while the
// document they derive from verifies.
func TestWrappingCorpus(t *testing.T) {
	p := loadPKI(t)
	v := p.verifier()
	valid, err := os.ReadFile(filepath.Join(wrapDir, "valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(valid); err != nil {
		t.Fatalf("valid.xml rejected: %v", err)
	}
	entries := readManifest(t)
	if len(entries) < 10 {
		t.Fatalf("corpus has %d shapes, want at least 10", len(entries))
	}
	listed := map[string]bool{"valid.xml": true}
	for _, e := range entries {
		listed[e.file] = true
		want, ok := reasonsByName[e.reason]
		if !ok {
			t.Errorf("%s: unknown reason %q", e.file, e.reason)
			continue
		}
		doc, err := os.ReadFile(filepath.Join(wrapDir, e.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(doc)
		if err == nil {
			t.Errorf("%s (%s): accepted, signer %s", e.file, e.what, got.Signer.Subject)
			continue
		}
		var ve *sign.VerifyError
		if !errors.As(err, &ve) {
			t.Errorf("%s: error %T is not a *sign.VerifyError: %v", e.file, err, err)
			continue
		}
		if !errors.Is(err, want) {
			t.Errorf("%s (%s): reason %s, want %s (%v)", e.file, e.what, ve.Reason, want, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(wrapDir, "*.xml"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not in MANIFEST", f)
		}
	}
}

// TestWrappingCorpusIsCurrent guards against a corpus that no longer matches its generator: every shape
// regenerates byte for byte (all its signatures are RSA PKCS#1 v1.5, which is deterministic).
func TestWrappingCorpusIsCurrent(t *testing.T) {
	p := loadPKI(t)
	valid, cases := wrappingCases(t, p)
	got, err := os.ReadFile(filepath.Join(wrapDir, "valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != valid {
		t.Fatalf("valid.xml differs from what the generator makes; run go test ./sign -run TestGenerateTestdata -update")
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(wrapDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, []byte(c.doc)) {
			t.Errorf("%s differs from its generator", c.file)
		}
	}
}

// TestWrappingCorpusXmlsec records, without asserting, what xmlsec1 (a general XML-DSig verifier) makes of
// each shape: several are valid XML-DSig and only the eHealth profile rules them out.
func TestWrappingCorpusXmlsec(t *testing.T) {
	testenv.Require(t, "xmlsec1")
	p := loadPKI(t)
	for _, e := range readManifest(t) {
		path, _ := filepath.Abs(filepath.Join(wrapDir, e.file))
		ok := xmlsecVerify(t, p, path, "urn:be:fgov:ehealth:certra:protocol:v2:GetActorQualitiesRequest") == nil
		verdict := "rejects"
		if ok {
			verdict = "ACCEPTS"
		}
		t.Logf("xmlsec1 %s %s (%s)", verdict, e.file, e.what)
	}
}

func xmlsecVerify(t testing.TB, p *testPKI, path, idNode string) error {
	t.Helper()
	cmd := exec.Command("xmlsec1", "--verify", "--trusted-pem", filepath.Join(p.Dir, "root.pem"),
		"--id-attr:Id", idNode, path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmlsec1: %v\n%s", err, out)
	}
	return nil
}
