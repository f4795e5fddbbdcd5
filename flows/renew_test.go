package flows_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
)

// createPerson runs a create process to the end and returns its result.
func (e *env) createPerson() *flows.Result {
	e.t.Helper()
	res, err := flows.Create(context.Background(), flows.DirStore(e.t.TempDir()), personRequest(), e.deps)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestRenew(t *testing.T) {
	e := newEnv(t)
	old := e.createPerson()
	ctx := context.Background()

	// Too early: the platform says the certificate is not replaceable; nothing is requested.
	_, err := flows.Renew(ctx, flows.DirStore(t.TempDir()), flows.RenewRequest{Keystore: old.Keystore}, e.deps)
	var nr *flows.NotReplaceableError
	if !errors.As(err, &nr) || nr.ReplacementPeriodStart == nil {
		t.Fatalf("early renewal: %v", err)
	}
	if count(e.srv.Requests(), "GenerateContract") != 1 {
		t.Fatal("a contract was requested for an early renewal")
	}

	// In the replacement period (the last 90 days).
	e.srv.Clock().Set(old.Certificate.NotAfter.Add(-30 * 24 * time.Hour))
	store := flows.DirStore(t.TempDir())
	authBefore, sigBefore := e.authSigs.n.Load(), e.sigSigs.n.Load()
	res, err := flows.Renew(ctx, store, flows.RenewRequest{Keystore: old.Keystore}, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Activated {
		t.Fatal("the new ETK was not activated")
	}
	if e.sigSigs.n.Load()-sigBefore != 1 || e.authSigs.n.Load() != authBefore {
		t.Errorf("eID signatures: %d with Signature, %d with Authentication; want 1 and 0",
			e.sigSigs.n.Load()-sigBefore, e.authSigs.n.Load()-authBefore)
	}
	if res.Certificate.Subject.String() != old.Certificate.Subject.String() {
		t.Fatalf("renewed DN %s, want %s", res.Certificate.Subject, old.Certificate.Subject)
	}
	if res.Certificate.Equal(old.Certificate) {
		t.Fatal("same certificate")
	}
	newReg, ok := e.srv.Registration(mustHexBytes(t, pkiHex(res.Certificate)))
	if !ok || newReg.ETKStatus != "VALID_ACTIVE" || newReg.Status != "VALID_ACTIVE" {
		t.Fatalf("new registration %+v", newReg)
	}
	if pkiHex(old.Certificate) != hexOf(newReg.Replaces) {
		t.Errorf("the new certificate replaces %X", newReg.Replaces)
	}
	oldReg, _ := e.srv.Registration(mustHexBytes(t, pkiHex(old.Certificate)))
	if oldReg.ETKStatus == "VALID_ACTIVE" || oldReg.ETKStatus == "WAIT_FOR_ACTIVATION" {
		t.Fatalf("old ETK still %s", oldReg.ETKStatus)
	}

	// The keystore keeps the old keys: the old encryption key under its serial, the old authentication key
	// under authentication-<serial>.
	ks, err := keystore.Decode(res.Keystore, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := ks.Authentication()
	if !auth.Certificate().Equal(res.Certificate) {
		t.Fatal("authentication is not the new certificate")
	}
	if k, ok := ks.Key("authentication-" + old.Certificate.SerialNumber.String()); !ok || !k.Certificate().Equal(old.Certificate) {
		t.Fatal("old authentication key missing")
	}
	for _, serial := range []string{old.EncryptionSerial, res.EncryptionSerial} {
		if _, ok := ks.Key(serial); !ok {
			t.Fatalf("encryption key %s missing", serial)
		}
	}
	if len(ks.EncryptionKeys()) != 2 {
		t.Fatalf("%d encryption keys", len(ks.EncryptionKeys()))
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	res := e.createPerson()
	ctx := context.Background()
	store := flows.DirStore(t.TempDir())
	var shown flows.Contract
	e.deps.Accept = func(_ context.Context, c flows.Contract) (bool, error) { shown = c; return true, nil }
	// A reason outside the four allowed: a *RequestError naming the field, before anything is shown, signed,
	// sent or saved.
	sent, sigs, authSigs := len(e.srv.Requests()), e.sigSigs.n.Load(), e.authSigs.n.Load()
	_, err := flows.Revoke(ctx, store, flows.RevokeRequest{Certificate: res.Certificate, Reason: "bogus"}, e.deps)
	var re *flows.RequestError
	if !errors.As(err, &re) || re.Field != "Reason" {
		t.Fatalf("bad reason: err = %v (%T), want a *flows.RequestError for Reason", err, err)
	}
	if n := len(e.srv.Requests()); n != sent {
		t.Errorf("bad reason: %d requests sent", n-sent)
	}
	if e.sigSigs.n.Load() != sigs || e.authSigs.n.Load() != authSigs || shown.DN != "" {
		t.Error("bad reason: a contract was shown or something was signed")
	}
	if _, err := flows.Status(ctx, store); !errors.Is(err, flows.ErrNoProcess) {
		t.Errorf("bad reason: a process was saved: %v", err)
	}
	sigs = e.sigSigs.n.Load()
	r, err := flows.Revoke(ctx, store, flows.RevokeRequest{Certificate: res.Certificate, Reason: flows.ReasonCessationOfOperation}, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if !shown.Revocation || shown.RevocationReason != flows.ReasonCessationOfOperation || shown.HTML() == "" {
		t.Fatalf("contract shown: %+v", shown)
	}
	if r.RevokedPublicKeyIdentifier != pkiHex(res.Certificate) {
		t.Fatalf("revoked %s", r.RevokedPublicKeyIdentifier)
	}
	if e.sigSigs.n.Load()-sigs != 1 {
		t.Fatal("revoke not signed exactly once with the eID Signature key")
	}
	reg, _ := e.srv.Registration(mustHexBytes(t, pkiHex(res.Certificate)))
	if reg.Status != "REVOKED" {
		t.Fatalf("status %s", reg.Status)
	}
}

// A revocation whose answer is lost: the re-send is refused (already revoked) and the process asks the
// platform, with the eID Authentication key, whether the certificate is revoked.
func TestRevokeLostResponse(t *testing.T) {
	e := newEnv(t)
	res := e.createPerson()
	store := flows.DirStore(t.TempDir())
	e.srv.Inject("Revoke", ehealthtest.Fault{Kind: ehealthtest.DropAfter})
	_, err := flows.Revoke(context.Background(), store, flows.RevokeRequest{PublicKeyIdentifier: pkiHex(res.Certificate), Reason: flows.ReasonKeyCompromise}, e.deps)
	var se *flows.StepError
	if !errors.As(err, &se) || se.Step != "revoke" || !se.Retryable {
		t.Fatalf("err = %v", err)
	}
	if _, err := flows.Resume(context.Background(), store, e.deps); err != nil {
		t.Fatal(err)
	}
	reg, _ := e.srv.Registration(mustHexBytes(t, pkiHex(res.Certificate)))
	if reg.Status != "REVOKED" {
		t.Fatalf("status %s", reg.Status)
	}
}

func TestForeigner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	store := flows.DirStore(t.TempDir())
	var v flows.Validation
	d := *e.deps
	d.EIDAuthentication, d.EIDSignature = nil, nil // a foreigner has no Belgian eID
	d.StopWhenPending = true
	d.ShowValidation = func(_ context.Context, got flows.Validation) error { v = got; return nil }
	req := flows.ForeignerRequest{SSINBis: foreignerSSIN, FirstName: "Jean", LastName: "Dupont", Contact: contact()}
	_, err := flows.Foreigner(ctx, store, req, &d)
	var pe *flows.PendingError
	if !errors.As(err, &pe) || pe.ValidationURL == "" || pe.ValidationURL != v.URL || v.Expires.IsZero() {
		t.Fatalf("err = %v, validation %+v", err, v)
	}
	st, _ := flows.Status(ctx, store)
	if st.ValidationURL != v.URL || st.ValidationExpires == nil {
		t.Fatalf("status %+v", st)
	}
	e.srv.Clock().Advance(72 * time.Hour)
	if err := e.srv.ConfirmForeigner(v.URL); err != nil {
		t.Fatal(err)
	}
	res, err := flows.Resume(ctx, store, &d)
	if err != nil {
		t.Fatal(err)
	}
	e.checkDone(store, res, "SSIN", foreignerSSIN, "")
	if want := "OU=DUPONT JEAN"; !containsRDN(res.Certificate, "DUPONT JEAN") {
		t.Fatalf("subject %s lacks %s", res.Certificate.Subject, want)
	}
}

// foreignerSSIN is an SSIN-bis (month + 40) with a valid check: 85 41 01 234 + check.
var foreignerSSIN = func() string {
	base := "854101234"
	n := 0
	for _, c := range base {
		n = (n*10 + int(c-'0')) % 97
	}
	c := 97 - n
	return base + string(rune('0'+c/10)) + string(rune('0'+c%10))
}()

// The user decides when the new ETK becomes the one senders use.
func TestRenewDeferredActivation(t *testing.T) {
	e := newEnv(t)
	old := e.createPerson()
	e.srv.Clock().Set(old.Certificate.NotAfter.Add(-30 * 24 * time.Hour))
	ctx := context.Background()
	store := flows.DirStore(t.TempDir())
	res, err := flows.Renew(ctx, store, flows.RenewRequest{Keystore: old.Keystore, DeferActivation: true}, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := flows.Status(ctx, store)
	if res.Activated || !st.Done || !st.ToBeActivated {
		t.Fatalf("result activated=%v, status %+v", res.Activated, st)
	}
	newPKI := mustHexBytes(t, pkiHex(res.Certificate))
	if reg, _ := e.srv.Registration(newPKI); reg.ETKStatus != "WAIT_FOR_ACTIVATION" {
		t.Fatalf("new ETK %s before Activate", reg.ETKStatus)
	}
	if reg, _ := e.srv.Registration(mustHexBytes(t, pkiHex(old.Certificate))); reg.ETKStatus != "VALID_ACTIVE" {
		t.Fatalf("old ETK %s before Activate", reg.ETKStatus)
	}
	// A week later. A lost answer first: the retry is told the ETK is already active, which is fine.
	e.srv.Clock().Advance(7 * 24 * time.Hour)
	e.srv.Inject("ActivateETK", ehealthtest.Fault{Kind: ehealthtest.DropAfter})
	var se *flows.StepError
	if _, err := flows.Activate(ctx, store, e.deps); !errors.As(err, &se) || se.Step != "activate" || !se.Retryable {
		t.Fatalf("Activate with a lost answer: %v", err)
	}
	res, err = flows.Activate(ctx, store, e.deps)
	if err != nil || !res.Activated {
		t.Fatalf("Activate: %v, %+v", err, res)
	}
	if reg, _ := e.srv.Registration(newPKI); reg.ETKStatus != "VALID_ACTIVE" {
		t.Fatalf("new ETK %s after Activate", reg.ETKStatus)
	}
	calls := count(e.srv.Requests(), "ActivateETK")
	if _, err := flows.Activate(ctx, store, e.deps); err != nil || count(e.srv.Requests(), "ActivateETK") != calls {
		t.Fatalf("second Activate: %v (sent again: %v)", err, count(e.srv.Requests(), "ActivateETK") != calls)
	}
}

// Resuming with another password does not decrypt the pending keys; nothing is lost and the right password
// finishes the process.
func TestResumeWrongPassword(t *testing.T) {
	e := newEnv(t)
	store := flows.DirStore(t.TempDir())
	e.deps.StopWhenPending = true
	req := flows.CreateRequest{Contact: contact(), Organization: &flows.OrganizationRequest{Type: "CBE", ID: "0820563481", Name: "Acme"}}
	if _, err := flows.Create(context.Background(), store, req, e.deps); !flows.IsPending(err) {
		t.Fatal(err)
	}
	st, _ := flows.Status(context.Background(), store)
	if err := e.srv.Approve(mustHexBytes(t, st.PublicKeyIdentifier)); err != nil {
		t.Fatal(err)
	}
	wrong := *e.deps
	wrong.Password = "not the password"
	_, err := flows.Resume(context.Background(), store, &wrong)
	var se *flows.StepError
	if !errors.Is(err, flows.ErrWrongPassword) || !errors.As(err, &se) || se.Retryable || se.Step != "keystore" {
		t.Fatalf("wrong password: %v", err)
	}
	res, err := flows.Resume(context.Background(), store, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	e.checkDone(store, res, "CBE", "0820563481", "")
}

// A keystore the password does not open is refused as the Keystore field, with keystore.ErrWrongPassword as the
// cause, so that callers can tell a wrong password from a malformed file.
func TestRenewWrongKeystorePassword(t *testing.T) {
	ks, err := keystore.Encode(rand.Reader, &keystore.Keystore{}, []byte("the old password"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = flows.Renew(context.Background(), flows.DirStore(t.TempDir()), flows.RenewRequest{Keystore: ks},
		&flows.Deps{Password: "another password"})
	var re *flows.RequestError
	if !errors.As(err, &re) || re.Field != "Keystore" || !errors.Is(err, keystore.ErrWrongPassword) {
		t.Fatalf("err = %v (%T), want a *flows.RequestError for Keystore wrapping keystore.ErrWrongPassword", err, err)
	}
}
