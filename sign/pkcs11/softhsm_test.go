//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
)

// The tests make their own SoftHSM2 tokens in a temporary directory (SOFTHSM2_CONF points at a config
// written there), so no global setup is needed. Two tokens:
//
//	ehcert-eid: "Authentication" RSA-2048, "Signature" ECDSA P-384 with CKA_ALWAYS_AUTHENTICATE (a current
//	            eID), "Signature RSA" RSA-2048 with CKA_ALWAYS_AUTHENTICATE (an older eID),
//	            "Authentication EC" ECDSA P-384, and the certificates "CA" and "Root".
//	ehcert-pin: "Authentication" RSA-2048, for the wrong-PIN tests.
//
// Every key has a certificate object with its label and CKA_ID, issued by a test CA made here.

const (
	userPIN  = "4711"
	soPIN    = "87654321"
	eidToken = "ehcert-eid"
	pinToken = "ehcert-pin"
)

var (
	hsmModule string
	hsmErr    error // why SoftHSM2 could not be set up
	rootPEM   string
	hsmRoot   *x509.Certificate
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "ehcert-softhsm-")
		if err != nil {
			hsmErr = err
			return m.Run()
		}
		defer os.RemoveAll(dir)
		hsmErr = setupSoftHSM(dir)
		return m.Run()
	}()
	os.Exit(code)
}

func softHSMModule() (string, error) {
	if p := os.Getenv("SOFTHSM2_MODULE"); p != "" {
		return p, nil
	}
	for _, p := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib64/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so", "/opt/homebrew/lib/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("libsofthsm2.so not found (set SOFTHSM2_MODULE)")
}

// requireSoftHSM skips (or, with EHCERT_INTEROP=1, fails) when SoftHSM2 is missing, and fails when it is
// present but could not be set up.
func requireSoftHSM(t *testing.T) {
	t.Helper()
	testenv.Require(t, "softhsm2-util")
	if hsmErr != nil {
		t.Fatalf("SoftHSM2 setup: %v", hsmErr)
	}
}

func setupSoftHSM(dir string) error {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return err
	}
	mod, err := softHSMModule()
	if err != nil {
		return err
	}
	hsmModule = mod
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		return err
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	for _, label := range []string{eidToken, pinToken} {
		out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", soPIN, "--pin", userPIN).CombinedOutput()
		if err != nil {
			return fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
		}
	}

	// A test PKI: root → CA → the token keys.
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hsmRoot = issue(&x509.Certificate{Subject: pkix.Name{CommonName: "SoftHSM Test Root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, rootKey.Public(), nil, rootKey)
	ca := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "SoftHSM Test Citizen CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, caKey.Public(), hsmRoot, rootKey)
	rootPEM = filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hsmRoot.Raw}), 0o600); err != nil {
		return err
	}

	m, err := acquireModule(mod)
	if err != nil {
		return err
	}
	defer m.release()
	keys := map[string][]struct {
		label      string
		id         byte
		ec         bool
		alwaysAuth bool
	}{
		eidToken: {{"Authentication", 2, false, false}, {"Signature", 3, true, true}, {"Signature RSA", 4, false, true}, {"Authentication EC", 5, true, false}},
		pinToken: {{"Authentication", 2, false, false}},
	}
	for tokenLabel, list := range keys {
		slot, err := findSlot(m.ctx, tokenLabel)
		if err != nil {
			return err
		}
		s, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			return err
		}
		if err := m.ctx.Login(s, p11.CKU_USER, userPIN); err != nil {
			return err
		}
		for _, k := range list {
			pub, err := generate(m.ctx, s, k.label, []byte{k.id}, k.ec, k.alwaysAuth)
			if err != nil {
				return fmt.Errorf("generate %s: %w", k.label, err)
			}
			cert := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Test Citizen (" + k.label + ")", SerialNumber: "71715100070"},
				KeyUsage: x509.KeyUsageDigitalSignature}, pub, ca, caKey)
			if err := storeCert(m.ctx, s, k.label, []byte{k.id}, cert); err != nil {
				return err
			}
		}
		if tokenLabel == eidToken {
			if err := storeCert(m.ctx, s, "CA", []byte{0x10}, ca); err != nil {
				return err
			}
			if err := storeCert(m.ctx, s, "Root", []byte{0x11}, hsmRoot); err != nil {
				return err
			}
		}
		_ = m.ctx.Logout(s)
		_ = m.ctx.CloseSession(s)
	}
	return nil
}

var serial int64 = 100

func issue(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) *x509.Certificate {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		panic(err) // test setup only
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func findSlot(ctx *p11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, err
	}
	for _, s := range slots {
		if info, err := ctx.GetTokenInfo(s); err == nil && info.Label == label {
			return s, nil
		}
	}
	return 0, fmt.Errorf("token %q not found", label)
}

var oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}

// generate makes a key pair on the token with the PKCS#11 API and returns the public key.
func generate(ctx *p11.Ctx, s p11.SessionHandle, label string, id []byte, ec, alwaysAuth bool) (crypto.PublicKey, error) {
	common := func(class uint) []*p11.Attribute {
		return []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
	}
	pubT := append(common(p11.CKO_PUBLIC_KEY), p11.NewAttribute(p11.CKA_VERIFY, true))
	privT := append(common(p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, alwaysAuth))
	var mech *p11.Mechanism
	if ec {
		params, _ := asn1.Marshal(oidP384)
		pubT = append(pubT, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC), p11.NewAttribute(p11.CKA_EC_PARAMS, params))
		privT = append(privT, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC))
		mech = p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)
	} else {
		pubT = append(pubT, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA), p11.NewAttribute(p11.CKA_MODULUS_BITS, 2048),
			p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		privT = append(privT, p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA))
		mech = p11.NewMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
	}
	pubH, _, err := ctx.GenerateKeyPair(s, []*p11.Mechanism{mech}, pubT, privT)
	if err != nil {
		return nil, err
	}
	if ec {
		a, err := ctx.GetAttributeValue(s, pubH, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
		if err != nil {
			return nil, err
		}
		var point []byte
		if _, err := asn1.Unmarshal(a[0].Value, &point); err != nil {
			return nil, err
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P384(), point)
	}
	a, err := ctx.GetAttributeValue(s, pubH, []*p11.Attribute{p11.NewAttribute(p11.CKA_MODULUS, nil), p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil)})
	if err != nil {
		return nil, err
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(a[0].Value), E: int(new(big.Int).SetBytes(a[1].Value).Int64())}, nil
}

func storeCert(ctx *p11.Ctx, s p11.SessionHandle, label string, id []byte, c *x509.Certificate) error {
	_, err := ctx.CreateObject(s, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_CERTIFICATE),
		p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_ID, id),
		p11.NewAttribute(p11.CKA_SUBJECT, c.RawSubject),
		p11.NewAttribute(p11.CKA_VALUE, c.Raw),
	})
	return err
}

// countingPIN returns a PIN callback that counts its calls and answers with *pin.
func countingPIN(pin *string, calls *atomic.Int32) func(context.Context, string) ([]byte, error) {
	return func(_ context.Context, prompt string) ([]byte, error) {
		calls.Add(1)
		return []byte(*pin), nil
	}
}

func request(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "requests", name+"Request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func xmlsecVerify(t *testing.T, op ehealth.Operation, signed []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signed.xml")
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmlsec1", "--verify", "--trusted-pem", rootPEM, "--id-attr:Id", op.Namespace+":"+op.Request, path).CombinedOutput()
	if err != nil {
		t.Errorf("xmlsec1 rejects the %s request: %v\n%s", op.Name, err, out)
	}
}

// TestSoftHSMSignatures: RSA-2048 and ECDSA P-384 keys on a token, with and without
// CKA_ALWAYS_AUTHENTICATE, sign requests that xmlsec1 and our Verifier accept; the PIN is asked once for
// the whole session, however many signatures.
func TestSoftHSMSignatures(t *testing.T) {
	requireSoftHSM(t)
	testenv.Require(t, "xmlsec1")
	pin := userPIN
	var calls atomic.Int32
	tok, err := Open(Config{Module: hsmModule, TokenLabel: eidToken, PIN: countingPIN(&pin, &calls)})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if calls.Load() != 0 {
		t.Fatal("Open asked for the PIN")
	}
	auth, err := tok.EIDAuthentication()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := tok.EIDSignature()
	if err != nil {
		t.Fatal(err)
	}
	sigRSA, err := tok.Key("Signature RSA")
	if err != nil {
		t.Fatal(err)
	}
	authEC, err := tok.Key("Authentication EC")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(hsmRoot)
	v := &sign.Verifier{Roots: roots}
	for _, c := range []struct {
		key  sign.Key
		name string
		ops  []ehealth.Operation
	}{
		{auth, "Authentication (RSA-2048)", []ehealth.Operation{ehealth.GetActorQualities, ehealth.GetCertificateInfoForCitizen}},
		{sig, "Signature (P-384, always authenticate)", []ehealth.Operation{ehealth.GenerateCertificate, ehealth.Revoke, ehealth.GenerateCertificate}},
		{sigRSA, "Signature RSA (always authenticate)", []ehealth.Operation{ehealth.GenerateCertificate, ehealth.Revoke}},
		{authEC, "Authentication EC (P-384)", []ehealth.Operation{ehealth.GetActorQualities}},
	} {
		chain := c.key.Chain()
		if len(chain) != 2 || chain[1].Subject.CommonName != "SoftHSM Test Citizen CA" {
			t.Errorf("%s: chain of %d, want the key's certificate and the CA (root excluded)", c.name, len(chain))
		}
		for _, op := range c.ops {
			signed, err := sign.Enveloped(c.key, request(t, op.Name))
			if err != nil {
				t.Fatalf("%s, %s: %v", c.name, op.Name, err)
			}
			xmlsecVerify(t, op, signed)
			got, err := v.Verify(signed)
			if err != nil {
				t.Fatalf("%s, %s: Verify: %v", c.name, op.Name, err)
			}
			if !got.Signer.Equal(chain[0]) {
				t.Errorf("%s: signed by %s", c.name, got.Signer.Subject)
			}
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("PIN callback called %d times for 8 signatures with 4 keys, want 1", n)
	}

	// Through the Keyring, as the clients use it.
	ring := &sign.Keyring{EIDAuthentication: auth, EIDSignature: sig}
	signed, err := ring.SignRequest(context.Background(), ehealth.GenerateCertificate, request(t, "GenerateCertificate"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(signed); err != nil || !got.Signer.Equal(sig.Chain()[0]) {
		t.Errorf("keyring: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("PIN callback called %d times, want 1", n)
	}
	if s := fmt.Sprint(tok, auth); strings.Contains(s, userPIN) {
		t.Errorf("String() shows the PIN: %s", s)
	}

	// A new Token asks again; a closed one refuses to sign.
	tok.Close()
	if _, err := sign.Enveloped(auth, request(t, "GetActorQualities")); !errors.Is(err, ErrClosed) {
		t.Errorf("closed token: %v", err)
	}
	if err := tok.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSoftHSMWrongPIN: a wrong PIN is ErrPINIncorrect (wrapping CKR_PIN_INCORRECT), never shows the PIN,
// is not kept, and the next signature asks again.
func TestSoftHSMWrongPIN(t *testing.T) {
	requireSoftHSM(t)
	pin := "0000"
	var calls atomic.Int32
	tok, err := Open(Config{Module: hsmModule, TokenLabel: pinToken, PIN: countingPIN(&pin, &calls)})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	key, err := tok.EIDAuthentication()
	if err != nil {
		t.Fatal(err)
	}
	_, err = sign.Enveloped(key, request(t, "GetActorQualities"))
	if !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("wrong PIN: %v, want ErrPINIncorrect", err)
	}
	var rv p11.Error
	if !errors.As(err, &rv) || uint(rv) != p11.CKR_PIN_INCORRECT {
		t.Errorf("the error does not wrap CKR_PIN_INCORRECT: %v", err)
	}
	if strings.Contains(err.Error(), pin) {
		t.Errorf("the error shows the PIN: %v", err)
	}
	pin = userPIN
	signed, err := sign.Enveloped(key, request(t, "GetActorQualities"))
	if err != nil {
		t.Fatalf("after a wrong PIN, the right one: %v", err)
	}
	if len(signed) == 0 || calls.Load() != 2 {
		t.Errorf("PIN asked %d times, want 2", calls.Load())
	}
}

// TestSoftHSMAlwaysAuthenticate shows why the context-specific login is needed: SoftHSM2 refuses C_Sign with
// a CKA_ALWAYS_AUTHENTICATE key after a plain user login (FACTS §6a).
func TestSoftHSMAlwaysAuthenticate(t *testing.T) {
	requireSoftHSM(t)
	pin := userPIN
	var calls atomic.Int32
	tok, err := Open(Config{Module: hsmModule, TokenLabel: eidToken, PIN: countingPIN(&pin, &calls)})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	key, err := tok.EIDSignature()
	if err != nil {
		t.Fatal(err)
	}
	tk := findTokenKey(t, tok, "Signature")
	tok.mu.Lock()
	defer tok.mu.Unlock()
	if err := tok.login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tk.findPrivate(); err != nil {
		t.Fatal(err)
	}
	if !tk.alwaysAuth {
		t.Fatal("CKA_ALWAYS_AUTHENTICATE not seen on the Signature key")
	}
	c := tok.mod.ctx
	if err := c.SignInit(tok.session, []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}, tk.handle); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sign(tok.session, make([]byte, 48))
	if !isRV(err, p11.CKR_USER_NOT_LOGGED_IN) {
		t.Errorf("C_Sign without context-specific login: %v, want CKR_USER_NOT_LOGGED_IN", err)
	}
	tok.resetSession()
	_ = key
}

// findTokenKey looks up the tokenKey behind a label, for white-box checks.
func findTokenKey(t *testing.T, tok *Token, label string) *tokenKey {
	t.Helper()
	certs, err := tok.certificates()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if c.label == label {
			return &tokenKey{t: tok, label: label, id: c.id, cert: c.cert, ecSize: 48}
		}
	}
	t.Fatalf("no certificate %q", label)
	return nil
}

func TestSoftHSMErrors(t *testing.T) {
	requireSoftHSM(t)
	pin := userPIN
	var calls atomic.Int32

	if _, err := Open(Config{Module: hsmModule, TokenLabel: "no such token"}); !errorsAs[*TokenNotFoundError](err) {
		t.Errorf("unknown label: %v", err)
	}
	_, err := Open(Config{Module: hsmModule})
	var tnf *TokenNotFoundError
	if !errors.As(err, &tnf) || len(tnf.Available) < 2 {
		t.Errorf("two tokens and no choice: %v", err)
	}
	if _, err := Open(Config{Module: "/nonexistent/libpkcs11.so"}); err == nil {
		t.Error("missing module accepted")
	}

	tok, err := Open(Config{Module: hsmModule, TokenLabel: eidToken, PIN: countingPIN(&pin, &calls)})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	var knf *KeyNotFoundError
	if _, err := tok.Key("Nonrepudiation"); !errors.As(err, &knf) || len(knf.Available) < 5 {
		t.Errorf("unknown key label: %v", err)
	}

	// A cancelled context stops the signature before the PIN prompt.
	key, err := tok.EIDAuthentication()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sign.EnvelopedContext(ctx, key, request(t, "GetActorQualities")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if calls.Load() != 0 {
		t.Error("PIN asked under a cancelled context")
	}

	noPIN, err := Open(Config{Module: hsmModule, TokenLabel: pinToken})
	if err != nil {
		t.Fatal(err)
	}
	defer noPIN.Close()
	k, err := noPIN.EIDAuthentication()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Enveloped(k, request(t, "GetActorQualities")); !errors.Is(err, ErrNoPIN) {
		t.Errorf("no PIN callback: %v", err)
	}
}

func errorsAs[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestDefaultModule(t *testing.T) {
	p, err := DefaultModule()
	if err != nil {
		var nf *ModuleNotFoundError
		if !errors.As(err, &nf) || len(nf.Searched) == 0 {
			t.Fatalf("DefaultModule: %v", err)
		}
		t.Logf("OpenSC not installed: %v", err)
		return
	}
	t.Logf("OpenSC module: %s", p)
}
