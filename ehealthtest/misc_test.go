package ehealthtest_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
)

// IssueDelay holds an approved certificate back until the platform's clock has moved.
func TestIssueDelay(t *testing.T) {
	e := newEnv(t, func(o *ehealthtest.Options) { o.IssueDelay = 2 * time.Hour })
	r, err := e.requestCertificate(e.eid, subjectSpec{})
	if err != nil {
		t.Fatal(err)
	}
	c := e.certra(nil)
	_, err = c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: r.resp.PublicKeyIdentifier})
	if !soap.IsPending(err) {
		t.Fatalf("before the delay: %v", err)
	}
	e.srv.Clock().Advance(2 * time.Hour)
	chain := e.getCertificate(r.resp.PublicKeyIdentifier)
	if d := chain[0].NotBefore.Sub(clockNow(e.srv)); d > time.Minute || d < -time.Minute {
		t.Errorf("NotBefore %v is not the platform's now", chain[0].NotBefore)
	}
}

// The handler can be mounted in a server of one's own.
func TestHandlerMounted(t *testing.T) {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	checkResponses(t, srv)
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	c := &certra.Client{SOAP: &soap.Client{HTTPClient: ts.Client()}, Endpoint: ehealth.CustomEnvironment(ts.URL).CertRA}
	resp, err := c.GetGenericOrganizationTypes(t.Context(), &gen.GetGenericOrganizationTypesRequest{})
	if err != nil || len(resp.OrganizationType) == 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil {
		t.Error("a second Start succeeded")
	}
}

func TestCitizens(t *testing.T) {
	srv := newServer(t)
	if _, err := srv.AddCitizen("12345678901", "X", "Y"); err == nil {
		t.Error("an invalid SSIN was accepted")
	}
	if _, err := srv.AddCitizen(ehealthtest.DefaultCitizenSSIN, "X", "Y"); err == nil {
		t.Error("a duplicate SSIN was accepted")
	}
	if _, err := srv.AddCitizen("90010100123", "X", "Y", ehealthtest.Organization{Type: "MARS", ID: "1", Name: "Z"}); err == nil {
		t.Error("an unknown organisation type was accepted")
	}
	bob, err := srv.AddCitizen("90010100123", "Bob", "Janssens", ehealthtest.Organization{Type: "cbe", ID: "234567873", Name: "Bob BV"})
	if err != nil {
		t.Fatal(err)
	}
	if bob.Organizations[0].Type != "CBE" || bob.Organizations[0].ID != "0234567873" {
		t.Errorf("organisation not normalised: %+v", bob.Organizations[0])
	}
	auth, sig := bob.Authentication.Certificate(), bob.Signature.Certificate()
	if auth.Subject.SerialNumber != bob.SSIN || auth.Subject.CommonName != "Bob Janssens (Authentication)" ||
		sig.Subject.CommonName != "Bob Janssens (Signature)" || len(bob.Authentication.Chain()) != 2 {
		t.Errorf("eID certificates: %v / %v", auth.Subject, sig.Subject)
	}
	if len(srv.Citizens()) != 2 {
		t.Errorf("%d citizens", len(srv.Citizens()))
	}
}

// The operator's HTTP side, for a simulator in another process.
func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	hospital := ehealthtest.Organization{Type: "NIHII-HOSPITAL", ID: "71000436", Name: "Test Hospital"}
	r, err := e.requestCertificate(e.eid, subjectSpec{Org: &hospital})
	if err != nil {
		t.Fatal(err)
	}
	hc := e.srv.Client()
	postAdmin := func(path string) int {
		resp, err := hc.Post(e.srv.URL+"/ehealthtest/"+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := postAdmin("approve/" + strings.Repeat("00", 20)); code != http.StatusConflict {
		t.Errorf("unknown PKI: HTTP %d", code)
	}
	if code := postAdmin("approve/xyz"); code != http.StatusBadRequest {
		t.Errorf("bad PKI: HTTP %d", code)
	}
	if code := postAdmin("approve/" + hex.EncodeToString(r.resp.PublicKeyIdentifier)); code != http.StatusOK {
		t.Fatalf("approve: HTTP %d", code)
	}
	e.getCertificate(r.resp.PublicKeyIdentifier)
	resp, err := hc.Get(e.srv.URL + "/ehealthtest/registrations")
	if err != nil {
		t.Fatal(err)
	}
	var regs []struct{ Status, SubjectID string }
	if err := json.NewDecoder(resp.Body).Decode(&regs); err != nil || len(regs) != 1 || regs[0].Status != "VALID_ACTIVE" || regs[0].SubjectID != "71000436" {
		t.Fatalf("registrations: %v %+v", err, regs)
	}
	resp.Body.Close()
	before := clockNow(e.srv)
	if code := postAdmin("clock?advance=48h"); code != http.StatusOK {
		t.Fatalf("clock: HTTP %d", code)
	}
	if d := clockNow(e.srv).Sub(before); d < 48*time.Hour {
		t.Errorf("clock moved by %v", d)
	}
	resp, err = hc.Get(e.srv.URL + "/ehealthtest/roots.pem")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(pemBytes, e.srv.RootsPEM()) {
		t.Error("roots.pem differs")
	}
}
