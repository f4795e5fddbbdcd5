package ehealthtest_test

import (
	"testing"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
)

// testQualities is a test of your own: in your _test.go file it would be func TestQualities(t *testing.T).
// NewServer starts the platform on a loopback port and closes it when the test ends; the test citizen's
// software eID signs the requests. (TestExampleNewServer runs it.)
func testQualities(t *testing.T) {
	srv := ehealthtest.NewServer(t)
	eid := srv.Citizen()
	c := &certra.Client{
		SOAP:     &soap.Client{HTTPClient: srv.Client()},
		Endpoint: srv.Environment().CertRA,
		Signer:   eid.Keyring(),
	}
	resp, err := c.GetActorQualities(t.Context(), &gen.GetActorQualitiesRequest{
		SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NaturalPersonAuthorization == nil || !*resp.NaturalPersonAuthorization {
		t.Errorf("the test citizen has no natural person authorisation: %+v", resp)
	}
	if len(resp.OrganizationAuthorization) != 1 ||
		resp.OrganizationAuthorization[0].Identifier.Value != ehealthtest.DefaultOrganization.ID {
		t.Errorf("qualities: %+v", resp)
	}
}

// In a test of your own, NewServer starts the platform and closes it when the test ends: this whole file is the
// example, testQualities the test.
func ExampleNewServer() {
	var _ func(*testing.T) = testQualities // func TestQualities(t *testing.T) in your _test.go file
}
