package flows_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/keystore"
	"software.sslmate.com/src/go-pkcs12"
)

// renewedKeystore runs a create and a renew and returns the path of the renewed keystore and the aliases it
// must hold.
func renewedKeystore(t *testing.T) (path string, keyAliases, trusted []string) {
	t.Helper()
	e := newEnv(t)
	old := e.createPerson()
	e.srv.Clock().Set(old.Certificate.NotAfter.Add(-10 * 24 * time.Hour))
	dir := filepath.Join(t.TempDir(), "work")
	res, err := flows.Renew(context.Background(), flows.DirStore(dir), flows.RenewRequest{Keystore: old.Keystore}, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, flows.FileKeystore)
	ks, err := keystore.ReadFile(path, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	keyAliases = []string{"authentication", "authentication-" + old.Certificate.SerialNumber.String(), old.EncryptionSerial, res.EncryptionSerial}
	var got []string
	for _, k := range ks.Keys {
		got = append(got, k.Alias)
	}
	if !sameSet(got, keyAliases) {
		t.Fatalf("key aliases %v, want %v", got, keyAliases)
	}
	for _, te := range ks.Trusted {
		trusted = append(trusted, te.Alias)
	}
	if len(trusted) < 2 {
		t.Fatalf("trusted entries %v: want the certificates of both chains", trusted)
	}
	return path, keyAliases, trusted
}

func sameSet(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// The Java connector loads the keystore with the JDK: keytool lists every alias, key entries as
// PrivateKeyEntry (the JDK folds aliases to lower case).
func TestKeystoreKeytool(t *testing.T) {
	keytool := testenv.Require(t, "keytool")
	path, keys, trusted := renewedKeystore(t)
	cmd := exec.Command(keytool, "-list", "-keystore", path, "-storetype", "PKCS12", "-storepass:env", "KSPW")
	cmd.Env = append(os.Environ(), "KSPW="+testPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("keytool -list: %v\n%s", err, out)
	}
	text := string(out)
	for _, a := range keys {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(strings.ToLower(a)) + `, .*PrivateKeyEntry`).MatchString(text) {
			t.Errorf("keytool does not list key entry %q:\n%s", a, text)
		}
	}
	if n := strings.Count(text, "trustedCertEntry"); n != len(trusted) {
		t.Errorf("keytool lists %d trusted entries, want %d:\n%s", n, len(trusted), text)
	}
}

// openssl reads it too, with every key and certificate under its friendlyName.
func TestKeystoreOpenSSL(t *testing.T) {
	openssl := testenv.Require(t, "openssl")
	path, keys, trusted := renewedKeystore(t)
	cmd := exec.Command(openssl, "pkcs12", "-in", path, "-passin", "env:KSPW", "-nodes", "-info")
	cmd.Env = append(os.Environ(), "KSPW="+testPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		// The output holds private keys: show only the first line of it.
		first, _, _ := strings.Cut(string(out), "\n")
		t.Fatalf("openssl pkcs12: %v: %s", err, first)
	}
	names := map[string]int{}
	for _, m := range regexp.MustCompile(`friendlyName: (.*)`).FindAllStringSubmatch(string(out), -1) {
		names[strings.TrimSpace(m[1])]++
	}
	for _, a := range keys {
		if names[a] < 1 {
			t.Errorf("openssl shows no bag named %q (names: %v)", a, keysOf(names))
		}
	}
	for _, a := range trusted {
		if names[a] < 1 {
			t.Errorf("openssl shows no trusted certificate named %q", a)
		}
	}
	if n := strings.Count(string(out), "-----BEGIN PRIVATE KEY-----"); n != len(keys) {
		t.Errorf("openssl decrypted %d private keys, want %d", n, len(keys))
	}
}

func keysOf(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// oidJavaTrusted is the JDK's trusted-key-usage bag attribute ("anyExtendedKeyUsage" trust) that keytool and the
// connector write on trusted-certificate entries.
const oidJavaTrusted = "2.16.840.1.113894.746875.1.1"

// go-pkcs12 (an independent reader) and the keystore a process writes. Its ToPEM fails on one thing only, the
// documented limitation of FACTS §9a: it does not know the JDK trusted-certificate attribute that the trusted
// entries carry (and must carry, for keytool and the connector). The same keystore re-encoded without its trusted
// entries reads in full: each key under its alias (friendlyName "authentication" and the decimal serial of the
// encryption certificate), with its certificate; and the trusted entries alone read as a go-pkcs12 trust store.
func TestKeystoreGoPKCS12(t *testing.T) {
	e := newEnv(t)
	res, err := flows.Create(context.Background(), flows.DirStore(t.TempDir()), orgRequest("GOPKCS12"), e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(res.EncryptionSerial) {
		t.Fatalf("encryption alias %q is not a decimal serial", res.EncryptionSerial)
	}

	// As written: the one error is the JDK attribute.
	_, err = pkcs12.ToPEM(res.Keystore, testPassword)
	if err == nil || !strings.Contains(err.Error(), "unknown attribute with OID "+oidJavaTrusted) {
		t.Fatalf("go-pkcs12 ToPEM of the keystore: %v; want only its documented refusal of the JDK trusted attribute %s", err, oidJavaTrusted)
	}

	ks, err := keystore.Decode(res.Keystore, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Trusted) == 0 {
		t.Fatal("no trusted entries: the keystore should carry the chain as trusted certificates")
	}
	want := map[string]*x509.Certificate{} // alias -> certificate of the key entry
	for _, k := range ks.Keys {
		want[k.Alias] = k.Certificate()
	}
	if len(want) != 2 || want[flows.AliasAuthentication] == nil || want[res.EncryptionSerial] == nil {
		t.Fatalf("key aliases %v, want %q and %q", keysOfCerts(want), flows.AliasAuthentication, res.EncryptionSerial)
	}
	if !want[flows.AliasAuthentication].Equal(res.Certificate) {
		t.Fatal("the authentication entry does not hold the delivered certificate")
	}

	// Without the trusted entries: every key and certificate, under its alias.
	noTrust, err := keystore.Encode(rand.Reader, &keystore.Keystore{Keys: ks.Keys, Trusted: nil}, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := pkcs12.ToPEM(noTrust, testPassword)
	if err != nil {
		t.Fatalf("go-pkcs12 ToPEM without trusted entries: %v", err)
	}
	keyIDs, certIDs := map[string]string{}, map[string]string{}
	for _, b := range blocks {
		alias := b.Headers["friendlyName"]
		switch b.Type {
		case "PRIVATE KEY":
			if _, ok := want[alias]; !ok {
				t.Errorf("go-pkcs12 reads a key named %q", alias)
				continue
			}
			keyIDs[alias] = b.Headers["localKeyId"]
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				t.Fatalf("key %q: %v", alias, err)
			}
			got, _ := x509.MarshalPKIXPublicKey(k.Public())
			if string(got) != string(want[alias].RawSubjectPublicKeyInfo) {
				t.Errorf("key %q is not the key of its certificate", alias)
			}
		case "CERTIFICATE":
			if c, ok := want[alias]; ok {
				if string(b.Bytes) != string(c.Raw) {
					t.Errorf("certificate %q differs", alias)
				}
				certIDs[alias] = b.Headers["localKeyId"]
			}
		default:
			t.Errorf("unexpected PEM block %s", b.Type)
		}
	}
	for alias := range want {
		if keyIDs[alias] == "" || keyIDs[alias] != certIDs[alias] {
			t.Errorf("alias %q: go-pkcs12 reads key id %q, certificate id %q", alias, keyIDs[alias], certIDs[alias])
		}
	}

	// The trusted entries alone: go-pkcs12 reads them as a trust store (it knows the attribute there).
	trustOnly, err := keystore.Encode(rand.Reader, &keystore.Keystore{Trusted: ks.Trusted}, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pkcs12.DecodeTrustStore(trustOnly, testPassword)
	if err != nil {
		t.Fatalf("go-pkcs12 DecodeTrustStore of the trusted entries: %v", err)
	}
	if len(certs) != len(ks.Trusted) {
		t.Errorf("go-pkcs12 reads %d trusted certificates, want %d", len(certs), len(ks.Trusted))
	}
	for _, c := range certs {
		found := false
		for _, te := range ks.Trusted {
			found = found || te.Certificate.Equal(c)
		}
		if !found {
			t.Errorf("go-pkcs12 reads a trusted certificate %q that the keystore does not hold", c.Subject)
		}
	}
}

func keysOfCerts(m map[string]*x509.Certificate) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
