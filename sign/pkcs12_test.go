package sign_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
)

const p12Password = "Test-Only-Passw0rd"

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "P12PASS="+p12Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// connectorLikeKeystore builds, with OpenSSL and the JDK's keytool, a keystore with two key entries like the
// connector's: "authentication" (RSA, with its chain) and an encryption key named by a decimal serial.
func connectorLikeKeystore(t *testing.T, p *testPKI) string {
	testenv.Require(t, "openssl")
	testenv.Require(t, "keytool")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ks.p12"), filepath.Join(dir, "enc.p12")
	runTool(t, "openssl", "pkcs12", "-export", "-name", "authentication", "-inkey", filepath.Join(p.Dir, "rsa.key"),
		"-in", filepath.Join(p.Dir, "rsa.chain.pem"), "-out", a, "-passout", "env:P12PASS")
	runTool(t, "openssl", "pkcs12", "-export", "-name", "1234567890123", "-inkey", filepath.Join(p.Dir, "p256.key"),
		"-in", filepath.Join(p.Dir, "p256.chain.pem"), "-out", b, "-passout", "env:P12PASS")
	runTool(t, "keytool", "-importkeystore", "-noprompt", "-srckeystore", b, "-srcstoretype", "PKCS12", "-srcstorepass:env", "P12PASS",
		"-destkeystore", a, "-deststoretype", "PKCS12", "-deststorepass:env", "P12PASS")
	return a
}

func TestLoadPKCS12ConnectorKeystore(t *testing.T) {
	p := loadPKI(t)
	data, err := os.ReadFile(connectorLikeKeystore(t, p))
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadPKCS12(data, []byte(p12Password), "")
	if err != nil {
		t.Fatalf("default alias: %v", err)
	}
	if !k.Chain()[0].Equal(p.Keys["rsa"].Chain()[0]) || len(k.Chain()) != 2 || !k.Chain()[1].Equal(p.CA) {
		t.Errorf("authentication entry: wrong chain (%d certificates)", len(k.Chain()))
	}
	signed, err := sign.Enveloped(k, requestFiles(t)["StartETKRegistration"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.verifier().Verify(signed); err != nil {
		t.Error(err)
	}

	enc, err := sign.LoadPKCS12(data, []byte(p12Password), "1234567890123")
	if err != nil {
		t.Fatal(err)
	}
	if !enc.Chain()[0].Equal(p.Keys["p256"].Chain()[0]) {
		t.Error("alias 1234567890123 gave the wrong key")
	}
	if _, err := sign.LoadPKCS12(data, []byte(p12Password), "AUTHENTICATION"); err != nil {
		t.Errorf("aliases compare case-insensitively: %v", err)
	}

	var nf *sign.AliasNotFoundError
	_, err = sign.LoadPKCS12(data, []byte(p12Password), "missing")
	if !errors.As(err, &nf) || len(nf.Available) != 2 {
		t.Errorf("missing alias: %v", err)
	}

	_, err = sign.LoadPKCS12(data, []byte("wrong"), "")
	if !errors.Is(err, sign.ErrIncorrectPassword) || !errors.Is(err, keystore.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), p12Password) {
		t.Errorf("the error mentions a password: %v", err)
	}
}

// TestLoadPKCS12SingleKey: a keystore with one unnamed key is read without an alias.
func TestLoadPKCS12SingleKey(t *testing.T) {
	p := loadPKI(t)
	k := p.Keys["p384"]
	der, err := pkcs12.Modern.Encode(mustSigner(t, p, "p384"), k.Chain()[0], k.Chain()[1:], p12Password)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sign.LoadPKCS12(der, []byte(p12Password), "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Chain()[0].Equal(k.Chain()[0]) {
		t.Error("wrong certificate")
	}
	if _, err := sign.LoadPKCS12(der, []byte(p12Password), "authentication"); !errorsAs[*sign.AliasNotFoundError](err) {
		t.Errorf("explicit alias on an unnamed key: %v", err)
	}
}

// TestLoadPKCS12KeytoolTrustedEntry: a connector-style keystore to which keytool added a trusted-certificate
// entry (the JDK attribute go-pkcs12 refuses) loads, and the trusted CA completes the key's chain.
func TestLoadPKCS12KeytoolTrustedEntry(t *testing.T) {
	p := loadPKI(t)
	path := connectorLikeKeystore(t, p)
	runTool(t, "keytool", "-importcert", "-noprompt", "-alias", "CN=ehcert Test Citizen CA,O=ehcert tests,C=BE",
		"-file", filepath.Join(p.Dir, "ca.pem"), "-keystore", path, "-storetype", "PKCS12", "-storepass:env", "P12PASS")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadPKCS12(data, []byte(p12Password), "")
	if err != nil {
		t.Fatalf("keystore with a keytool trusted entry: %v", err)
	}
	if len(k.Chain()) == 0 {
		t.Fatal("no chain")
	}
	if _, err := sign.Enveloped(k, []byte(`<R xmlns="urn:x" Id="_a"/>`)); err != nil {
		t.Fatalf("sign with the loaded key: %v", err)
	}
}

func mustSigner(t *testing.T, p *testPKI, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
