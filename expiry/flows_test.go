package expiry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/soap"
)

// platform is a local eHealth platform, the Deps of its default citizen, and online clients for Check that
// follow the platform's clock.
type platform struct {
	srv    *ehealthtest.Server
	deps   *flows.Deps
	certra *certra.Client
	depot  *etkdepot.Client
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	srv := ehealthtest.NewServer(t, ehealthtest.WithLogf(func(string, ...any) {}))
	eid := srv.Citizen()
	clock := srv.Clock()
	hc := &soap.Client{HTTPClient: srv.Client()}
	p := &platform{srv: srv}
	p.deps = &flows.Deps{
		Environment:       srv.Environment(),
		SOAP:              hc,
		EIDAuthentication: eid.Authentication,
		EIDSignature:      eid.Signature,
		Password:          testPassword,
		Accept:            func(context.Context, flows.Contract) (bool, error) { return true, nil },
		PollInterval:      -1,
		Now:               clock.Now,
		KDFIterations:     1000,
	}
	p.certra = &certra.Client{SOAP: hc, Endpoint: srv.Environment().CertRA, Now: clock.Now}
	p.depot = &etkdepot.Client{
		BaseURL: srv.Environment().ETKDepot, HTTPClient: srv.Client(), Now: clock.Now,
		ValidateETK: func(raw []byte, want etkdepot.Identity) error {
			e, err := etk.Parse(raw)
			if err != nil {
				return err
			}
			return e.Validate(etk.ValidateOptions{Time: clock.Now(), Roots: srv.Roots(), SignerRoots: srv.Roots(),
				Expect: &etk.Identity{Type: want.Type, Value: want.Value, ApplicationID: want.ApplicationID}})
		},
	}
	return p
}

func (p *platform) check(t *testing.T, path, password string, online bool) *expiry.Report {
	t.Helper()
	opts := expiry.Options{KeystorePath: path, Password: []byte(password), Now: p.srv.Clock().Now()}
	if online {
		opts.CertRA, opts.Depot = p.certra, p.depot
	}
	r, err := expiry.Check(context.Background(), opts)
	if err != nil && password == testPassword {
		t.Fatal(err)
	}
	text, doc := outputs(t, r)
	validateJSON(t, doc)
	if testing.Verbose() {
		t.Logf("at %s:\n%s", opts.Now.Format(time.DateOnly), text)
	}
	if strings.Contains(text, password) || strings.Contains(string(doc), password) {
		t.Fatal("the password is in the output")
	}
	return r
}

// TestFlowsKeystores checks keystores made by the create and renew processes against the local platform at
// chosen (simulated) dates, online (CertRA and the ETK Depot) and offline, reaching every exit code.
func TestFlowsKeystores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs full create and renew processes")
	}
	p := newPlatform(t)
	ctx := context.Background()
	org := ehealthtest.DefaultOrganization

	dir := t.TempDir()
	res, err := flows.Create(ctx, flows.DirStore(dir), flows.CreateRequest{
		Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID},
		Contact:      flows.Contact{EmailPrivate: "ops@example.test", PhonePrivate: "+32 2 000 00 00"},
	}, p.deps)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := res.Certificate.NotAfter
	clock := p.srv.Clock()

	// Just issued: OK online, the depot publishes this keystore's ETK and CertRA gives the replacement date.
	r := p.check(t, dir, testPassword, true)
	if r.Status != expiry.OK || r.ExitCode != 0 {
		t.Fatalf("new certificate: %v %+v", r.Status, r.Findings)
	}
	if r.CertRA == nil || r.CertRA.CertificateStatus != "VALID_ACTIVE" || r.CertRA.ETKStatus != "VALID_ACTIVE" || r.CertRA.Replaceable {
		t.Errorf("CertRA %+v", r.CertRA)
	}
	if r.Depot == nil || !r.Depot.Published || r.Depot.MatchesAlias != res.EncryptionSerial || !r.Depot.MatchesCurrent {
		t.Errorf("depot %+v", r.Depot)
	}
	auth := r.Items[0]
	if auth.Replacement == nil || auth.Replacement.Source != expiry.SourceCertRA || auth.Replacement.Open ||
		!auth.Replacement.StartsAt.Equal(notAfter.Add(-90*24*time.Hour).UTC().Truncate(time.Second)) {
		t.Errorf("replacement %+v (not after %v)", auth.Replacement, notAfter)
	}

	// 45 days before expiry: WARNING; CertRA says replaceable, and the sentence says to renew this keystore.
	clock.Set(notAfter.Add(-45 * 24 * time.Hour))
	r = p.check(t, dir, testPassword, true)
	if r.Status != expiry.Warning || r.ExitCode != 1 || !r.Items[0].Replacement.Open || !r.CertRA.Replaceable {
		t.Fatalf("45 days left: %v %+v %+v", r.Status, r.Items[0].Replacement, r.Findings)
	}
	wantCmd := "ehcert renew --keystore " + filepath.Join(dir, "keystore.p12")
	if !strings.Contains(r.Action, wantCmd) {
		t.Errorf("action %q lacks %q", r.Action, wantCmd)
	}

	// 5 days before expiry: CRITICAL, online and offline.
	clock.Set(notAfter.Add(-5 * 24 * time.Hour))
	if r = p.check(t, dir, testPassword, true); r.Status != expiry.Critical || r.ExitCode != 2 {
		t.Fatalf("5 days left, online: %v %+v", r.Status, r.Findings)
	}
	if r = p.check(t, dir, testPassword, false); r.Status != expiry.Critical || r.CertRA != nil {
		t.Fatalf("5 days left, offline: %v", r.Status)
	}

	// Expired: CRITICAL, even though the platform no longer answers for this certificate.
	clock.Set(notAfter.Add(24 * time.Hour))
	if r = p.check(t, dir, testPassword, true); r.Status != expiry.Critical || !strings.Contains(r.Action, "ehcert create") {
		t.Fatalf("expired: %v %q", r.Status, r.Action)
	}

	// A wrong password: UNKNOWN.
	if r = p.check(t, dir, "wrong password", false); r.Status != expiry.Unknown || r.ExitCode != 3 {
		t.Fatalf("wrong password: %v", r.Status)
	}

	// Renewed 30 days before expiry; checked after the old certificate expired: OK, the old entries are
	// listed as previous, and the depot publishes the new ETK.
	clock.Set(notAfter.Add(-30 * 24 * time.Hour))
	renewDir := t.TempDir()
	renewed, err := flows.Renew(ctx, flows.DirStore(renewDir), flows.RenewRequest{Keystore: res.Keystore}, p.deps)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(notAfter.Add(10 * 24 * time.Hour))
	r = p.check(t, renewDir, testPassword, true)
	if r.Status != expiry.OK {
		t.Fatalf("renewed: %v %+v", r.Status, r.Findings)
	}
	if r.Depot.MatchesAlias != renewed.EncryptionSerial || !r.Depot.MatchesCurrent {
		t.Errorf("renewed depot %+v, want %s", r.Depot, renewed.EncryptionSerial)
	}
	var previous []string
	for _, it := range r.Items {
		if !it.Current {
			previous = append(previous, it.Alias)
		}
	}
	if len(previous) != 2 || !contains(previous, res.EncryptionSerial) || !contains(previous, "authentication-"+res.Certificate.SerialNumber.String()) {
		t.Errorf("previous entries %v", previous)
	}

	// The previous keystore, still installed somewhere after the renewal: CRITICAL, expired, and the depot
	// publishes an ETK it does not hold.
	old := filepath.Join(t.TempDir(), "old.p12")
	if err := os.WriteFile(old, res.Keystore, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Set(notAfter.Add(-2 * 24 * time.Hour))
	r = p.check(t, old, testPassword, true)
	if r.Status != expiry.Critical || r.Depot == nil || r.Depot.MatchesAlias != "" {
		t.Fatalf("old keystore after renewal: %v %+v %+v", r.Status, r.Depot, r.Findings)
	}
	found := false
	for _, f := range r.Findings {
		found = found || strings.Contains(f.Message, "is not one of this keystore's keys")
	}
	if !found {
		t.Errorf("no finding about the depot's ETK: %+v", r.Findings)
	}
}

// TestFlowsPendingActivation: a renewal stopped before ActivateETK leaves a keystore whose new ETK waits for
// activation while the depot still publishes the previous one: WARNING, and the action is to resume.
func TestFlowsPendingActivation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs full create and renew processes")
	}
	p := newPlatform(t)
	ctx := context.Background()
	res, err := flows.Create(ctx, flows.DirStore(t.TempDir()), flows.CreateRequest{
		Contact: flows.Contact{EmailPrivate: "ops@example.test", PhonePrivate: "+32 2 000 00 00"},
	}, p.deps)
	if err != nil {
		t.Fatal(err)
	}
	p.srv.Clock().Set(res.Certificate.NotAfter.Add(-60 * 24 * time.Hour))
	stop := errors.New("stopped before activation")
	deps := *p.deps
	deps.Hooks.AfterStep = func(step string) error {
		if step == "keystore-etk" {
			return stop
		}
		return nil
	}
	dir := t.TempDir()
	if _, err := flows.Renew(ctx, flows.DirStore(dir), flows.RenewRequest{Keystore: res.Keystore}, &deps); !errors.Is(err, stop) {
		t.Fatalf("renew: %v", err)
	}
	r := p.check(t, dir, testPassword, true)
	if r.Status != expiry.Warning {
		t.Fatalf("pending activation: %v %+v", r.Status, r.Findings)
	}
	if r.CertRA.ETKStatus != "WAIT_FOR_ACTIVATION" || r.Depot.MatchesCurrent || r.Depot.MatchesAlias != res.EncryptionSerial {
		t.Errorf("CertRA %+v depot %+v", r.CertRA, r.Depot)
	}
	if !strings.Contains(r.Action, "ehcert resume --workdir "+dir+".") {
		t.Errorf("action %q", r.Action)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
