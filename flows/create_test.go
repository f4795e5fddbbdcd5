package flows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
)

func TestCreateNaturalPerson(t *testing.T) {
	e := newEnv(t)
	store := flows.DirStore(t.TempDir())
	res, err := flows.Create(context.Background(), store, personRequest(), e.deps)
	if err != nil {
		t.Fatal(err)
	}
	e.checkDone(store, res, "SSIN", ehealthtest.DefaultCitizenSSIN, "")
	if len(res.ETK) == 0 {
		t.Fatal("no ETK")
	}
	if etk, _ := store.Get(context.Background(), flows.FileETK); string(etk) != string(res.ETK) {
		t.Fatal("ETK file differs from the result")
	}
	// PIN economy: each eID key signs once.
	if n := e.authSigs.n.Load(); n != 1 {
		t.Errorf("eID Authentication key signed %d times, want 1", n)
	}
	if n := e.sigSigs.n.Load(); n != 1 {
		t.Errorf("eID Signature key signed %d times, want 1", n)
	}
	if n := e.accepted.Load(); n != 1 {
		t.Errorf("contract shown %d times", n)
	}
	// A finished process resumes to its result without a call.
	before := len(e.srv.Requests())
	again, err := flows.Resume(context.Background(), store, e.deps)
	if err != nil || !again.Certificate.Equal(res.Certificate) {
		t.Fatalf("Resume of a finished process: %v", err)
	}
	if len(e.srv.Requests()) != before {
		t.Fatal("Resume of a finished process sent requests")
	}
	// A second process in the same work directory is refused.
	var pe *flows.ProcessExistsError
	if _, err := flows.Create(context.Background(), store, personRequest(), e.deps); !errors.As(err, &pe) || !pe.Done {
		t.Fatalf("second Create: %v", err)
	}
}

func TestCreateOrganization(t *testing.T) {
	org := ehealthtest.DefaultOrganization
	for _, appID := range []string{"", "Mon_App-1"} {
		t.Run("appid="+appID, func(t *testing.T) {
			e := newEnv(t)
			store := flows.DirStore(t.TempDir())
			res, err := flows.Create(context.Background(), store, orgRequest(appID), e.deps)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ToUpper(appID)
			e.checkDone(store, res, org.Type, org.ID, want)
			if !strings.Contains(res.Certificate.Subject.String(), org.Name) {
				t.Errorf("subject %s lacks the organisation name", res.Certificate.Subject)
			}
			if want != "" && !strings.Contains(res.Certificate.Subject.String(), want) {
				t.Errorf("subject %s lacks the application id", res.Certificate.Subject)
			}
			// The same organisation and application id again: refused before anything is signed.
			sigs := e.sigSigs.n.Load()
			_, err = flows.Create(context.Background(), flows.DirStore(t.TempDir()), orgRequest(appID), e.deps)
			var inUse *flows.ApplicationIDInUseError
			var se *flows.StepError
			if !errors.As(err, &inUse) || !errors.As(err, &se) || se.Step != "application-ids" || se.Retryable {
				t.Fatalf("second certificate: %v", err)
			}
			if e.sigSigs.n.Load() != sigs {
				t.Fatal("something was signed with the eID Signature key")
			}
		})
	}
}

func TestCreateInvalidIdentifier(t *testing.T) {
	e := newEnv(t)
	req := flows.CreateRequest{Contact: contact(), Organization: &flows.OrganizationRequest{Type: "CBE", ID: "0820563482", Name: "X"}}
	_, err := flows.Create(context.Background(), flows.DirStore(t.TempDir()), req, e.deps)
	var ie *flows.InvalidIdentifierError
	var se *flows.StepError
	if !errors.As(err, &ie) || !errors.As(err, &se) || se.Step != "organization-types" {
		t.Fatalf("err = %v", err)
	}
	for _, r := range e.srv.Requests() {
		if r.Target == "GenerateContract" || r.Target == "GenerateCertificate" {
			t.Fatalf("%s sent for an invalid identifier", r.Target)
		}
	}
}

func TestCreateContractRefused(t *testing.T) {
	e := newEnv(t)
	store := flows.DirStore(t.TempDir())
	e.deps.Accept = func(context.Context, flows.Contract) (bool, error) { return false, nil }
	_, err := flows.Create(context.Background(), store, personRequest(), e.deps)
	var na *flows.ContractNotAcceptedError
	if !errors.As(err, &na) {
		t.Fatalf("err = %v", err)
	}
	if e.sigSigs.n.Load() != 0 {
		t.Fatal("signed before acceptance")
	}
	if _, err := store.Get(context.Background(), flows.FileAuthKey); !errors.Is(err, flows.ErrNotFound) {
		t.Fatal("key generated before acceptance")
	}
	st, _ := flows.Status(context.Background(), store)
	if st.Next != "accept" || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
	// The user changes their mind: Resume shows the same contract (no new GenerateContract).
	contracts := count(e.srv.Requests(), "GenerateContract")
	e.deps.Accept = func(context.Context, flows.Contract) (bool, error) { return true, nil }
	res, err := flows.Resume(context.Background(), store, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if count(e.srv.Requests(), "GenerateContract") != contracts {
		t.Fatal("a new contract was generated")
	}
	e.checkDone(store, res, "SSIN", ehealthtest.DefaultCitizenSSIN, "")
}

func count(rs []ehealthtest.RecordedRequest, target string) int {
	n := 0
	for _, r := range rs {
		if r.Target == target {
			n++
		}
	}
	return n
}

// An organisation the signer does not manage is validated by an operator, days later. The process stops
// (StopWhenPending) and is resumed after the approval, on the platform's clock.
func TestCreateManualValidation(t *testing.T) {
	e := newEnv(t)
	store := flows.DirStore(t.TempDir())
	e.deps.StopWhenPending = true
	req := flows.CreateRequest{Contact: contact(), Organization: &flows.OrganizationRequest{Type: "CBE", ID: "820563481", Name: "Acme Clinic"}}
	_, err := flows.Create(context.Background(), store, req, e.deps)
	var pe *flows.PendingError
	if !errors.As(err, &pe) || pe.AutomaticallyValidated == nil || *pe.AutomaticallyValidated {
		t.Fatalf("err = %v", err)
	}
	st, err := flows.Status(context.Background(), store)
	if err != nil || st.PendingSince == nil || st.Next != "certificate" || st.PublicKeyIdentifier == "" {
		t.Fatalf("status %+v, %v", st, err)
	}
	// Two days later, still waiting: a resume polls once and stops again.
	e.srv.Clock().Advance(48 * time.Hour)
	if _, err := flows.Resume(context.Background(), store, e.deps); !flows.IsPending(err) {
		t.Fatalf("resume before approval: %v", err)
	}
	st2, _ := flows.Status(context.Background(), store)
	if !st2.PendingSince.Equal(*st.PendingSince) {
		t.Fatal("PendingSince moved")
	}
	// The operator approves on day 3; the next resume finishes.
	e.srv.Clock().Advance(24 * time.Hour)
	pki := mustHexBytes(t, st.PublicKeyIdentifier)
	if err := e.srv.Approve(pki); err != nil {
		t.Fatal(err)
	}
	sigs := e.sigSigs.n.Load()
	res, err := flows.Resume(context.Background(), store, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if e.sigSigs.n.Load() != sigs {
		t.Fatal("the resumed process signed with the eID again")
	}
	e.checkDone(store, res, "CBE", "0820563481", "")
	if count(e.srv.Requests(), "GenerateCertificate") != 1 {
		t.Fatal("GenerateCertificate sent more than once")
	}
}

// Polling (without StopWhenPending) waits until the certificate is delivered, and the end of the caller's
// context turns the wait into a PendingError.
func TestCreatePolling(t *testing.T) {
	e := newEnv(t, ehealthtest.WithIssueAfterPolls(4))
	e.deps.PollInterval = time.Millisecond
	store := flows.DirStore(t.TempDir())
	res, err := flows.Create(context.Background(), store, personRequest(), e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(e.srv.Requests(), "GetCertificate"); n != 4 {
		t.Errorf("%d GetCertificate calls, want 4", n)
	}
	e.checkDone(store, res, "SSIN", ehealthtest.DefaultCitizenSSIN, "")

	// Never approved: the caller's deadline ends the wait.
	e2 := newEnv(t)
	req := flows.CreateRequest{Contact: contact(), Organization: &flows.OrganizationRequest{Type: "CBE", ID: "820563481", Name: "Acme Clinic"}}
	e2.deps.PollInterval = time.Millisecond
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	e2.deps.Hooks.AfterStep = func(step string) error {
		if step == "generate-certificate" {
			// The deadline falls while the process polls.
			time.AfterFunc(100*time.Millisecond, func() { cancel(context.DeadlineExceeded) })
		}
		return nil
	}
	store = flows.DirStore(t.TempDir())
	_, err = flows.Create(ctx, store, req, e2.deps)
	var pe *flows.PendingError
	if !errors.As(err, &pe) || !errors.Is(err, context.Canceled) || pe.Since.IsZero() {
		t.Fatalf("err = %v", err)
	}
	if st, _ := flows.Status(context.Background(), store); st.Next != "certificate" || st.PendingSince == nil {
		t.Fatalf("status %+v", st)
	}
}

func TestCreateRequestErrors(t *testing.T) {
	e := newEnv(t)
	var re *flows.RequestError
	for name, req := range map[string]flows.CreateRequest{
		"no contact":    {},
		"bad type":      {Contact: contact(), Organization: &flows.OrganizationRequest{Type: "NIHII-MARS", ID: "1"}},
		"bad id":        {Contact: contact(), Organization: &flows.OrganizationRequest{Type: "CBE", ID: "12x"}},
		"bad app id":    {Contact: contact(), ApplicationID: "no spaces allowed", Organization: &flows.OrganizationRequest{Type: "CBE", ID: "0820563481"}},
		"person app id": {Contact: contact(), ApplicationID: "X"},
		"ssin org":      {Contact: contact(), Organization: &flows.OrganizationRequest{Type: "SSIN", ID: ehealthtest.DefaultCitizenSSIN}},
	} {
		store := flows.DirStore(t.TempDir())
		if _, err := flows.Create(context.Background(), store, req, e.deps); !errors.As(err, &re) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := flows.Status(context.Background(), store); !errors.Is(err, flows.ErrNoProcess) {
			t.Errorf("%s: a process was saved: %v", name, err)
		}
	}
	// Missing dependencies stop the process before anything is sent.
	d := *e.deps
	d.EIDAuthentication = nil
	_, err := flows.Create(context.Background(), flows.DirStore(t.TempDir()), flows.CreateRequest{Contact: contact(), Signer: flows.Person{SSIN: ehealthtest.DefaultCitizenSSIN, FirstName: "Alice", LastName: "Peeters"}}, &d)
	var md *flows.MissingDependencyError
	if !errors.As(err, &md) {
		t.Fatalf("no eID auth key: %v", err)
	}
}
