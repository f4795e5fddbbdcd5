package etk

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

func writePEM(t *testing.T, path, typ string, ders ...[]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, d := range ders {
		if err := pem.Encode(&buf, &pem.Block{Type: typ, Bytes: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t *testing.T, path string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func runOpenSSL(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := testenv.Require(t, "openssl")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// openssl cms -verify accepts what Build produces, with RSA and ECDSA ETK-RA keys, and returns the
// encryption certificate as content.
func TestBuildOpenSSLVerify(t *testing.T) {
	testenv.Require(t, "openssl")
	p := getPKI(t)
	ecRAKey := ecKey(t, elliptic.P256())
	ecRA := issue(t, raTemplate(caFrom, caUntil), p.raRoot, ecRAKey.Public(), p.raRootKey)
	for _, signer := range []struct {
		name string
		key  crypto.Signer
		cert *x509.Certificate
	}{{"RSA", p.raKey, p.ra}, {"ECDSA", ecRAKey, ecRA}} {
		t.Run(signer.name, func(t *testing.T) {
			s := newSpec(t)
			s.signerKey, s.signerCert = signer.key, signer.cert
			etk := s.build(t)
			dir := t.TempDir()
			in, ca, out := filepath.Join(dir, "etk.der"), filepath.Join(dir, "roots.pem"), filepath.Join(dir, "content.der")
			if err := os.WriteFile(in, etk, 0o600); err != nil {
				t.Fatal(err)
			}
			writePEM(t, ca, "CERTIFICATE", p.raRoot.Raw)
			runOpenSSL(t, "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca, "-binary", "-out", out)
			content, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(content, s.encDER) {
				t.Error("openssl returned another content than the encryption certificate")
			}
			// And openssl refuses it under other anchors.
			writePEM(t, ca, "CERTIFICATE", p.root.Raw)
			cmd := exec.Command(testenv.Require(t, "openssl"), "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca, "-binary", "-out", out)
			if err := cmd.Run(); err == nil {
				t.Error("openssl verified the ETK under unrelated anchors")
			}
		})
	}
}

// ETKs signed by openssl cms -sign (with and without signed attributes, DER and streamed BER with indefinite
// lengths like the real ETK-RA's) parse and validate.
func TestOpenSSLSignedETK(t *testing.T) {
	testenv.Require(t, "openssl")
	p := getPKI(t)
	s := newSpec(t)
	s.build(t) // issues the authentication and encryption certificates
	dir := t.TempDir()
	enc, signer, key, certs := filepath.Join(dir, "enc.der"), filepath.Join(dir, "ra.pem"), filepath.Join(dir, "ra.key"), filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(enc, s.encDER, 0o600); err != nil {
		t.Fatal(err)
	}
	writePEM(t, signer, "CERTIFICATE", p.ra.Raw)
	writeKey(t, key, p.raKey)
	writePEM(t, certs, "CERTIFICATE", s.auth.Raw, p.ca.Raw, p.root.Raw)

	tests := []struct {
		name  string
		extra []string
		want  []string
		ber   bool
	}{
		{name: "signed attributes", extra: []string{"-md", "sha256"}},
		{name: "no signed attributes", extra: []string{"-md", "sha256", "-noattr"}},
		{name: "streamed BER", extra: []string{"-md", "sha384", "-stream"}, ber: true},
		{name: "streamed BER without attributes", extra: []string{"-md", "sha512", "-stream", "-noattr"}, ber: true},
		{name: "signer certificate left out", extra: []string{"-md", "sha256", "-nocerts"}, want: []string{CodeSignatureNotValid}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "etk"+string(rune('0'+i))+".der")
			args := append([]string{"cms", "-sign", "-binary", "-nodetach", "-in", enc, "-signer", signer, "-inkey", key,
				"-certfile", certs, "-outform", "DER", "-out", out}, tc.extra...)
			runOpenSSL(t, args...)
			der, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ber && !bytes.HasPrefix(der, []byte{0x30, 0x80}) {
				t.Errorf("openssl -stream did not produce indefinite lengths: % x", der[:4])
			}
			e, err := Parse(der)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(e.EncryptionCertificate.Raw, s.encDER) {
				t.Error("wrong encryption certificate")
			}
			err = e.Validate(s.opts)
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				got = ve.Codes()
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("codes %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
}
