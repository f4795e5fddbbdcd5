package flows_test

import (
	"context"
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
