package sign_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/sign"
)

// FuzzVerify feeds arbitrary bytes to the Verifier: it must never panic, and anything it accepts must come
// with a signer and an element. The committed seeds (testdata/fuzz/FuzzVerify) are signed requests and
// wrapping shapes; the wrapping corpus is added at run time too.
func FuzzVerify(f *testing.F) {
	p := loadPKI(f)
	files, _ := filepath.Glob(filepath.Join(wrapDir, "*.xml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	v := p.verifier()
	check := func(t *testing.T, got *sign.Verified, err error) {
		if err != nil {
			if _, ok := err.(*sign.VerifyError); !ok {
				t.Fatalf("error %T is not a *sign.VerifyError: %v", err, err)
			}
			return
		}
		if got.Element == nil || got.Signer == nil || len(got.Chain) < 2 || got.ReferenceID == "" {
			t.Fatalf("accepted with incomplete result %+v", got)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := v.Verify(doc)
		check(t, got, err)
		// The same document through the tree path: parsed by etree, verified in place.
		d := etree.NewDocument()
		d.ReadSettings.PreserveDuplicateAttrs = true
		if d.ReadFromBytes(doc) == nil && d.Root() != nil {
			got2, err2 := v.VerifyElement(d.Root())
			check(t, got2, err2)
			if err == nil && err2 != nil && !bytes.Contains(doc, []byte("\t")) && !bytes.Contains(doc, []byte("\n")) {
				t.Fatalf("Verify accepts, VerifyElement rejects: %v", err2)
			}
		}
	})
}

func generateFuzzSeeds(t *testing.T, p *testPKI) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, doc []byte) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", doc)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reqs := requestFiles(t)
	for _, k := range []string{"rsa", "p256", "p384"} {
		for _, op := range []string{"GetActorQualities", "GenerateCertificate", "GetCertificateInfoForAuthenticationCertificate"} {
			signed, err := sign.Enveloped(p.Keys[k], reqs[op])
			if err != nil {
				t.Fatal(err)
			}
			write("signed-"+k+"-"+op, signed)
		}
	}
	for _, n := range []string{"02-original-in-object.xml", "06-reference-to-inner-element.xml", "13-transform-xslt.xml",
		"22-doctype-entity.xml", "27-swapped-certificate.xml"} {
		b, err := os.ReadFile(filepath.Join(wrapDir, n))
		if err != nil {
			t.Fatal(err)
		}
		write("wrapping-"+n, b)
	}
	write("empty", nil)
	write("not-xml", []byte("<<<>>>&&&"))
}
