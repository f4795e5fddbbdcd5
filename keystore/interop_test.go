package keystore

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

// Passwords reach the tools through the environment (keytool -storepass:env, openssl -passin env:), never argv.
const passEnv = "EHCERT_TEST_KSPASS"

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), passEnv+"="+testPassword, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFixture(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ehealth.p12")
	if err := WriteFile(p, rand.Reader, getFixture(t).ks, []byte(testPassword)); err != nil {
		t.Fatal(err)
	}
	return p
}

// keytool lists our keystore as the connector's: two PrivateKeyEntry (authentication and the serial) and the
// chain as trustedCertEntry named by the RFC 2253 subject.
func TestKeytoolListsOurKeystore(t *testing.T) {
	t.Parallel()
	keytool := testenv.Require(t, "keytool")
	p := writeFixture(t)
	out := run(t, keytool, "-list", "-storetype", "PKCS12", "-keystore", p, "-storepass:env", passEnv)
	if !strings.Contains(out, "Your keystore contains 4 entries") {
		t.Errorf("keytool -list:\n%s", out)
	}
	entries := map[string]string{}
	re := regexp.MustCompile(`(?m)^(.*), [^,]+ \d+, \d+, (PrivateKeyEntry|trustedCertEntry),\s*$`)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		entries[m[1]] = m[2]
	}
	// The JDK lists aliases in lower case.
	want := map[string]string{
		"authentication":               "PrivateKeyEntry",
		wantEncAlias:                   "PrivateKeyEntry",
		strings.ToLower(wantAuthAlias): "trustedCertEntry",
		strings.ToLower(wantCAAlias):   "trustedCertEntry",
	}
	for alias, typ := range want {
		if entries[alias] != typ {
			t.Errorf("alias %q: %q, want %q\n%s", alias, entries[alias], typ, out)
		}
	}
	verbose := run(t, keytool, "-list", "-v", "-alias", "authentication", "-storetype", "PKCS12", "-keystore", p, "-storepass:env", passEnv)
	if !strings.Contains(verbose, "Certificate chain length: 2") {
		t.Errorf("authentication chain:\n%s", verbose)
	}
}

// The JDK decrypts our keys: keytool -importkeystore copies every entry (keys included) into a keystore it
// writes itself, which we read back with the same keys.
func TestKeytoolCopiesOurKeysAndWeReadTheCopy(t *testing.T) {
	t.Parallel()
	keytool := testenv.Require(t, "keytool")
	p := writeFixture(t)
	dst := filepath.Join(t.TempDir(), "copy.p12")
	run(t, keytool, "-importkeystore", "-noprompt",
		"-srckeystore", p, "-srcstoretype", "PKCS12", "-srcstorepass:env", passEnv,
		"-destkeystore", dst, "-deststoretype", "PKCS12", "-deststorepass:env", passEnv)
	ks, err := ReadFile(dst, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeFixture(t, ks, 2)
}

// Decode reads a keystore that keytool made with two key pairs (RSA and EC) and a trusted certificate, in the
// JDK's default and legacy encodings.
func TestDecodeKeytoolMultiKeyKeystore(t *testing.T) {
	t.Parallel()
	keytool := testenv.Require(t, "keytool")
	f := getFixture(t)
	caPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{false, true} {
		name := "default"
		var jflags []string
		if legacy {
			name = "legacy"
			jflags = []string{"-J-Dkeystore.pkcs12.legacy"}
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "keytool.p12")
			gen := func(alias, alg, size, dname string) {
				args := append([]string{"-genkeypair", "-alias", alias, "-keyalg", alg, "-keysize", size, "-dname", dname,
					"-validity", "30", "-storetype", "PKCS12", "-keystore", p, "-storepass:env", passEnv, "-keypass:env", passEnv}, jflags...)
				run(t, keytool, args...)
			}
			gen("authentication", "RSA", "2048", `CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE`)
			gen("123456789012345678901234567890", "EC", "384", "CN=etk,C=BE")
			run(t, keytool, append([]string{"-importcert", "-noprompt", "-alias", wantCAAlias, "-file", caPEM,
				"-storetype", "PKCS12", "-keystore", p, "-storepass:env", passEnv}, jflags...)...)

			ks, err := ReadFile(p, []byte(testPassword))
			if err != nil {
				t.Fatal(err)
			}
			if len(ks.Keys) != 2 || len(ks.Trusted) != 1 {
				t.Fatalf("%d keys, %d trusted", len(ks.Keys), len(ks.Trusted))
			}
			auth, ok := ks.Authentication()
			if !ok {
				t.Fatal("no authentication entry")
			}
			if _, ok := auth.Key.(*rsa.PrivateKey); !ok || len(auth.Chain) != 1 {
				t.Errorf("authentication: %v", auth)
			}
			if got, _ := TrustedAlias(auth.Chain[0]); got != `CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE` {
				t.Errorf("keytool subject reads back as %s", got)
			}
			etk, ok := ks.Key("123456789012345678901234567890")
			if !ok {
				t.Fatal("EC entry missing")
			}
			if _, ok := etk.Key.(*ecdsa.PrivateKey); !ok {
				t.Errorf("EC key type %T", etk.Key)
			}
			if !ks.Trusted[0].Certificate.Equal(f.ca) || !strings.EqualFold(ks.Trusted[0].Alias, wantCAAlias) {
				t.Errorf("trusted entry %q", ks.Trusted[0].Alias)
			}
			if _, err := ReadFile(p, []byte("wrong")); err != ErrWrongPassword {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// openssl pkcs12 -info reads our keystore: MAC, both keys, all certificates, the aliases.
func TestOpenSSLReadsOurKeystore(t *testing.T) {
	t.Parallel()
	openssl := testenv.Require(t, "openssl")
	p := writeFixture(t)
	out := run(t, openssl, "pkcs12", "-info", "-nodes", "-in", p, "-passin", "env:"+passEnv)
	for _, want := range []string{
		"MAC: sha256, Iteration 10000",
		"PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256",
		"Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256",
		"friendlyName: authentication",
		"friendlyName: " + wantEncAlias,
		"friendlyName: " + wantAuthAlias,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl output lacks %q", want)
		}
	}
	if n := strings.Count(out, "-----BEGIN PRIVATE KEY-----"); n != 2 {
		t.Errorf("%d private keys", n)
	}
	if n := strings.Count(out, "-----BEGIN CERTIFICATE-----"); n != 5 {
		t.Errorf("%d certificates (want leaf, CA, encryption certificate and 2 trusted)", n)
	}
	if t.Failed() {
		t.Logf("openssl output without keys:\n%s", redactPEMKeys(out))
	}
	cmd := exec.Command(openssl, "pkcs12", "-info", "-nokeys", "-in", p, "-passin", "env:"+passEnv)
	cmd.Env = append(os.Environ(), passEnv+"=wrong")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("openssl accepted a wrong password:\n%s", out)
	}
}

func redactPEMKeys(s string) string {
	re := regexp.MustCompile(`(?s)-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----`)
	return re.ReplaceAllString(s, "[private key]")
}

// Decode reads what openssl pkcs12 -export writes, modern and -legacy (RC2-40 certificates, 3DES key, SHA-1 MAC).
func TestDecodeOpenSSLExport(t *testing.T) {
	t.Parallel()
	openssl := testenv.Require(t, "openssl")
	f := getFixture(t)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(f.authKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certFile := write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: f.auth.Raw})
	caFile := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Raw})
	for _, mode := range []string{"modern", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			p := filepath.Join(dir, mode+".p12")
			args := []string{"pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-certfile", caFile,
				"-name", "authentication", "-out", p, "-passout", "env:" + passEnv}
			if mode == "legacy" {
				args = append(args, "-legacy")
			}
			run(t, openssl, args...)
			if mode == "legacy" {
				info := run(t, openssl, "pkcs12", "-legacy", "-info", "-noout", "-in", p, "-passin", "env:"+passEnv)
				if !strings.Contains(info, "pbeWithSHA1And40BitRC2-CBC") || !strings.Contains(info, "MAC: sha1") {
					t.Errorf("openssl -legacy did not write the legacy algorithms:\n%s", info)
				}
			}
			ks, err := ReadFile(p, []byte(testPassword))
			if err != nil {
				t.Fatal(err)
			}
			a, ok := ks.Authentication()
			if !ok || !a.Key.(*rsa.PrivateKey).Equal(f.authKey) || len(a.Chain) != 2 || !a.Chain[1].Equal(f.ca) {
				t.Fatalf("authentication entry: %v", ks.Keys)
			}
		})
	}
}
