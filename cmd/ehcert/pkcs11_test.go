package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/internal/testenv"
)

// softHSMModule finds SoftHSM2's PKCS#11 module.
func softHSMModule(t *testing.T) string {
	for _, p := range []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/opt/homebrew/lib/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if testenv.Forced() {
		t.Fatal("SoftHSM2's module libsofthsm2.so not found")
	}
	t.Skip("SKIP interop: SoftHSM2's module libsofthsm2.so not found")
	return ""
}

// softHSMEID puts the citizen's eID keys and certificates on a new SoftHSM2 token labelled BELPIC with user PIN
// 1234, as OpenSC shows a Belgian eID. It returns the environment the binary needs (SOFTHSM2_CONF).
func softHSMEID(t *testing.T, eid *ehealthtest.EID) (module string, env []string) {
	util := testenv.Require(t, "softhsm2-util")
	tool := testenv.Require(t, "pkcs11-tool")
	module = softHSMModule(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	env = []string{"SOFTHSM2_CONF=" + conf}
	exe := func(name string, args ...string) {
		t.Helper()
		c := exec.Command(name, args...)
		c.Env = append(os.Environ(), env...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	exe(util, "--init-token", "--free", "--label", "BELPIC", "--pin", "1234", "--so-pin", "5678")
	for i, k := range []struct {
		label string
		key   *ehealthtest.Key
	}{{"Authentication", eid.Authentication}, {"Signature", eid.Signature}} {
		id := fmt.Sprintf("%02x", i+2)
		der, err := x509.MarshalPKCS8PrivateKey(k.key.Signer)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(dir, k.label+".key")
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
		exe(util, "--import", keyFile, "--token", "BELPIC", "--label", k.label, "--id", id, "--pin", "1234")
		certFile := filepath.Join(dir, k.label+".crt")
		os.WriteFile(certFile, k.key.Certificate().Raw, 0o600)
		exe(tool, "--module", module, "--token-label", "BELPIC", "--login", "--pin", "1234", "--write-object", certFile,
			"--type", "cert", "--label", k.label, "--id", id)
	}
	ca := eid.Authentication.Chain()[len(eid.Authentication.Chain())-1]
	caFile := filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, ca.Raw, 0o600)
	exe(tool, "--module", module, "--token-label", "BELPIC", "--login", "--pin", "1234", "--write-object", caFile,
		"--type", "cert", "--label", "CA", "--id", "04")
	return module, env
}

// TestPKCS11 signs with an eID on a PKCS#11 token (SoftHSM2): a wrong PIN gives exit code 5 and sends nothing;
// the right PIN works.
func TestPKCS11(t *testing.T) {
	p := newPlatform(t)
	module, env := softHSMEID(t, p.srv.Citizen())
	args := []string{"--env", p.srv.URL, "--ca-file", p.caFile, "--pkcs11-module", module, "--pkcs11-token", "BELPIC",
		"certra", "GetCertificateInfoForCitizen"}

	r := runCLI(t, append(env, "EHCERT_PIN=0000"), args...)
	if r.code != exitCredentials {
		t.Fatalf("wrong PIN: exit code %d, want %d:\n%s", r.code, exitCredentials, r)
	}
	t.Logf("wrong PIN:\n%s", r.stderr)
	if !strings.Contains(r.stderr, "PIN") || strings.Contains(r.stderr, "0000") {
		t.Errorf("wrong PIN message:\n%s", r)
	}
	if n := len(p.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent with a wrong PIN", n)
	}

	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte("1234\n"), 0o600)
	r = runCLI(t, env, append([]string{"--pin-file", pinFile}, args...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "GetCertificateInfoForCitizenResponse") {
		t.Fatalf("right PIN:\n%s", r)
	}
	reqs := p.srv.Requests()
	if len(reqs) != 1 || reqs[0].Signer == nil || reqs[0].Signer.Subject.SerialNumber != ehealthtest.DefaultCitizenSSIN {
		t.Errorf("the request was not signed by the citizen's eID: %+v", reqs)
	}
}
