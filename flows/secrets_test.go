package flows_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
)

// secretForms returns the ways a private key could leak into text: its private exponent and primes in
// decimal, hex and base64, and slices of its PKCS#8 encoding.
func secretForms(t *testing.T, k *rsa.PrivateKey) []string {
	t.Helper()
	var out []string
	for _, n := range append([]*big.Int{k.D}, k.Primes...) {
		b := n.Bytes()
		out = append(out, n.String()[:40], hex.EncodeToString(b)[:40], strings.ToUpper(hex.EncodeToString(b)[:40]),
			base64.StdEncoding.EncodeToString(b)[:40], base64.RawURLEncoding.EncodeToString(b)[:40])
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// Any 48-byte window of the key's DER after the public part, as base64 or hex.
	for i := len(der) / 2; i+48 <= len(der); i += 97 {
		out = append(out, base64.StdEncoding.EncodeToString(der[i : i+48])[4:40], hex.EncodeToString(der[i : i+48])[:40])
	}
	return out
}

// All log output of create processes, at debug level, and every error they return: no password, no PEM
// private key, no private key material. The state records hold none either.
func TestNoSecretsInLogsAndState(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.deps.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var texts []string
	dir := filepath.Join(t.TempDir(), "work")
	store := flows.DirStore(dir)
	// A lost answer and a retry exercise the error and recovery paths too.
	e.srv.Inject("CompleteETKRegistration", ehealthtest.Fault{Kind: ehealthtest.DropAfter})
	_, err := flows.Create(context.Background(), store, personRequest(), e.deps)
	if err == nil {
		t.Fatal("no error from the injected fault")
	}
	texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%+v", *e.deps), fmt.Sprintf("%#v", e.deps))
	state, _ := os.ReadFile(filepath.Join(dir, flows.FileState))
	res, err := flows.Resume(context.Background(), store, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "ETK fetched from the depot") {
		t.Error("the lost ETK was not fetched from the depot")
	}
	e.checkDone(store, res, "SSIN", ehealthtest.DefaultCitizenSSIN, "")
	finalState, _ := os.ReadFile(filepath.Join(dir, flows.FileState))

	ks, err := keystore.Decode(res.Keystore, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	var forms []string
	for _, k := range ks.Keys {
		forms = append(forms, secretForms(t, k.Key.(*rsa.PrivateKey))...)
	}
	for name, text := range map[string]string{"logs": logs.String(), "errors": strings.Join(texts, "\n"),
		"state while running": string(state), "final state": string(finalState)} {
		if text == "" {
			t.Errorf("%s: empty", name)
		}
		if strings.Contains(text, testPassword) {
			t.Errorf("%s: the password appears", name)
		}
		if strings.Contains(text, "PRIVATE KEY") {
			t.Errorf("%s: a PEM private key appears", name)
		}
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("%s: private key material %q appears", name, f)
			}
		}
	}
	if logs.Len() < 500 {
		t.Errorf("suspiciously little logging (%d bytes): the test would prove nothing", logs.Len())
	}
}
