package flows

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "work")
	s := DirStore(dir)
	if _, err := s.Get(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	if err := s.Put(ctx, "x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(dir, "x"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", fi.Mode(), err)
	}
	if b, err := s.Get(ctx, "x"); err != nil || string(b) != "hello" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	for _, bad := range []string{"", "..", "../x", "a/b", `a\b`, "."} {
		if err := s.Put(ctx, bad, nil); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
	}
	if err := s.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "x"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "y", []byte("z")); err == nil {
		t.Fatal("Put with a cancelled context wrote")
	}
	if _, err := os.Stat(filepath.Join(dir, "y")); !os.IsNotExist(err) {
		t.Fatal("file written despite cancelled context")
	}
}

// PutFiles writes every file of every group (mode 0600, directory 0700), replaces existing ones, leaves no
// temporary file, and writes nothing when a name is invalid or ctx is done.
func TestDirStorePutFiles(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "work")
	s := DirStore(dir)
	if err := s.Put(ctx, "b", []byte("old")); err != nil {
		t.Fatal(err)
	}
	err := s.PutFiles(ctx, []File{{Name: "a", Data: []byte("1")}, {Name: "b", Data: []byte("2")}}, nil, []File{{Name: "c", Data: []byte("3")}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "1", "b": "2", "c": "3"} {
		if b, err := s.Get(ctx, name); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", name, fi.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("files left behind: %v", entries)
	}
	if err := s.PutFiles(ctx, []File{{Name: "d", Data: []byte("4")}}, []File{{Name: "../e", Data: nil}}); err == nil {
		t.Error("PutFiles accepted an invalid name")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.PutFiles(cctx, []File{{Name: "d", Data: []byte("4")}, {Name: "e", Data: []byte("5")}}); err == nil {
		t.Error("PutFiles with a cancelled context wrote")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("a refused PutFiles wrote: %v", entries)
	}
	// A missing directory is created, 0700.
	s2 := DirStore(filepath.Join(t.TempDir(), "new"))
	if err := s2.PutFiles(ctx, []File{{Name: "a", Data: []byte("1")}, {Name: "b", Data: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(string(s2)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v", fi.Mode(), err)
	}
}

func TestDirStoreLock(t *testing.T) {
	s := DirStore(t.TempDir())
	unlock, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := s.Lock(context.Background()); !errors.As(err, &le) {
		t.Fatalf("second Lock: %v", err)
	}
	unlock()
	unlock2, err := s.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
}

func testKEK(t testing.TB, password string) *kek {
	k, err := deriveKEK(password, bytes.Repeat([]byte{7}, 16), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyFileRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := testKEK(t, "s3cret")
	pemBytes, err := sealKey(rand.Reader, k, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		t.Fatalf("not an encrypted PKCS#8 PEM:\n%s", pemBytes)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	if bytes.Contains(pemBytes, der[len(der)-64:]) {
		t.Fatal("key material in clear")
	}
	got, err := openKey("k", pemBytes, func(salt []byte, iter int) (*kek, error) { return deriveKEK("s3cret", salt, iter) })
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(got) {
		t.Fatal("key changed")
	}
	_, err = openKey("k", pemBytes, func(salt []byte, iter int) (*kek, error) { return deriveKEK("wrong", salt, iter) })
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	var kfe *KeyFileError
	for _, bad := range [][]byte{nil, []byte("garbage"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}})} {
		if _, err := openKey("k", bad, nil); !errors.As(err, &kfe) {
			t.Errorf("openKey(%q): %v", bad, err)
		}
	}
}

// The pending key files are standard: openssl reads them with the keystore password.
func TestKeyFileOpenSSL(t *testing.T) {
	openssl := testenv.Require(t, "openssl")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := sealKey(rand.Reader, testKEK(t, "pässword"), key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "auth-key.pem")
	os.WriteFile(f, pemBytes, 0o600)
	cmd := exec.Command(openssl, "pkey", "-in", f, "-passin", "env:PW", "-pubout")
	cmd.Env = append(os.Environ(), "PW=pässword")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	block, _ := pem.Decode(out)
	if block == nil {
		t.Fatalf("openssl output: %s", out)
	}
	want, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if !bytes.Equal(block.Bytes, want) {
		t.Fatal("openssl decrypted another key")
	}
	// And the other way round: a key openssl encrypted opens here.
	plain := filepath.Join(t.TempDir(), "plain.pem")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	cmd = exec.Command(openssl, "pkcs8", "-topk8", "-in", plain, "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-iter", "2000", "-passout", "env:PW")
	cmd.Env = append(os.Environ(), "PW=pässword")
	enc, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl pkcs8: %v", err)
	}
	got, err := openKey("k", enc, func(salt []byte, iter int) (*kek, error) { return deriveKEK("pässword", salt, iter) })
	if err != nil || !key.Equal(got) {
		t.Fatalf("openKey(openssl output): %v", err)
	}
}

func TestCheckDigits(t *testing.T) {
	for _, c := range []struct {
		alg, id string
		ok      bool
	}{
		{"modulo 97", "0820563481", true}, // eHealth platform's CBE
		{"MOD97", "0820563481", true},
		{"modulo 97", "0820563482", false},
		{"modulo 97", "0406798006", true},
		{"modulo 97", "71000436", true}, // 710004 mod 97 = 61, 97-61 = 36
		{"modulo 97", "71000437", false},
		{"modulo 97", "7a000436", false},
	} {
		ok, known := checkDigits(c.alg, c.id)
		if !known || ok != c.ok {
			t.Errorf("checkDigits(%q, %q) = %v, %v; want %v", c.alg, c.id, ok, known, c.ok)
		}
	}
	if _, known := checkDigits("luhn-ish", "1"); known {
		t.Error("unknown algorithm reported as known")
	}
}

func TestJavaRegex(t *testing.T) {
	for _, c := range []struct {
		re   string
		in   string
		want bool
	}{
		// The cookbook's example: Java's matches() anchors the whole alternation.
		{`^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$`, "71000436", true},
		{`^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$`, "72000436", true},
		{`^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$`, "7100043", false},
		{`^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$`, "710004361", false},
		{`[0-9]{10}`, "0820563481", true},
		{`[0-9]{10}`, "x0820563481", false}, // matches() is a whole-input match
		{`\p{Digit}{8}`, "12345678", true},
		{`[\p{Upper}\p{Digit}_]{1,30}`, "APP_1", true},
		{`[\p{Upper}\p{Digit}_]{1,30}`, "app", false},
		{`\d++`, "123", true},
		{`(?>12)3`, "123", true},
		{`\QA.B\E`, "A.B", true},
		{`\QA.B\E`, "AxB", false},
	} {
		re, err := compileJavaRegex(c.re)
		if err != nil {
			t.Errorf("compileJavaRegex(%q): %v", c.re, err)
			continue
		}
		if got := re.MatchString(c.in); got != c.want {
			t.Errorf("%q on %q = %v, want %v (RE2 %s)", c.re, c.in, got, c.want, re)
		}
	}
	for _, bad := range []string{`(?=1)1`, `(a)\1`, `[a-z&&[^b]]`, `[abc`} {
		if _, err := compileJavaRegex(bad); err == nil {
			t.Errorf("compileJavaRegex(%q) accepted", bad)
		}
	}
}

func TestValidateIdentifier(t *testing.T) {
	typ := orgType{IdentifierType: "NIHII-HOSPITAL", ValidationRegEx: `^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$`, CheckDigits: []string{"modulo 97"}}
	if _, err := validateIdentifier(typ, "71000436"); err != nil {
		t.Errorf("valid: %v", err)
	}
	var ie *InvalidIdentifierError
	for _, bad := range []string{"71000437", "81000436"} {
		if _, err := validateIdentifier(typ, bad); !errors.As(err, &ie) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	typ.ValidationRegEx = `(?=7)\d+`
	skipped, err := validateIdentifier(typ, "71000436")
	if err != nil || len(skipped) != 1 || !strings.Contains(skipped[0], "lookaround") {
		t.Errorf("untranslatable regex: %v, %v", skipped, err)
	}
}

func TestStateRecordErrors(t *testing.T) {
	ctx := context.Background()
	s := &MemStore{}
	if _, err := Status(ctx, s); !errors.Is(err, ErrNoProcess) {
		t.Fatalf("empty store: %v", err)
	}
	s.Put(ctx, FileState, []byte(`{"version": 99, "kind": "create"}`))
	var ve *StateVersionError
	if _, err := Resume(ctx, s, nil); !errors.As(err, &ve) || ve.Version != 99 {
		t.Fatalf("newer version: %v", err)
	}
	var se *StateError
	for _, bad := range []string{`{`, `{"version": 1}`, `{"version": 1, "kind": "mystery"}`, `{"version": 1, "kind": "create", "step": "nope"}`} {
		s.Put(ctx, FileState, []byte(bad))
		if _, err := Resume(ctx, s, nil); !errors.As(err, &se) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestStepsAreUnique(t *testing.T) {
	for _, k := range []Kind{KindCreate, KindRenew, KindRevoke, KindForeigner} {
		seen := map[string]bool{}
		for _, s := range Steps(k) {
			if seen[s] {
				t.Errorf("%s: step %s twice", k, s)
			}
			seen[s] = true
		}
		if len(seen) == 0 {
			t.Errorf("%s: no steps", k)
		}
	}
	if n := len(Steps(KindCreate)); n != 15 {
		t.Errorf("create has %d steps", n)
	}
}

func TestDepsRedacted(t *testing.T) {
	d := Deps{Password: "hunter2"}
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", d), fmt.Sprintf("%#v", d), fmt.Sprintf("%v", &d)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password in %q", s)
		}
	}
}
