package ehealthtest_test

import (
	"context"
	"fmt"
	"log"
	"testing"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
)

// In a test of your own, NewServer starts the platform on a loopback port and closes it when the test ends.
// The test citizen's software eID signs the requests.
func ExampleNewServer() {
	testQualities := func(t *testing.T) {
		srv := ehealthtest.NewServer(t, ehealthtest.WithIssueAfterPolls(2))
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
		if len(resp.OrganizationAuthorization) != 1 {
			t.Errorf("qualities: %+v", resp)
		}
	}
	_ = testQualities // func TestQualities(t *testing.T) in your _test.go file
}

// Outside tests (a demo, a simulator), NewUnstartedServer and Start run the same platform.
func ExampleNewUnstartedServer() {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	eid := srv.Citizen()
	c := &certra.Client{SOAP: &soap.Client{HTTPClient: srv.Client()}, Endpoint: srv.Environment().CertRA, Signer: eid.Keyring()}
	resp, err := c.GetActorQualities(context.Background(), &gen.GetActorQualitiesRequest{
		SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("natural person:", *resp.NaturalPersonAuthorization)
	for _, o := range resp.OrganizationAuthorization {
		fmt.Println("organisation:", o.Identifier.Type, o.Identifier.Value)
	}
	// Output:
	// natural person: true
	// organisation: CBE 0123456749
}

// A citizen whose eID has ECDSA P-384 keys, like current Belgian cards: the same client signs with
// ecdsa-sha384, and the platform verifies it.
func ExampleServer_NewCitizenWithKeyType() {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	eid := srv.NewCitizenWithKeyType(ehealthtest.ECDSAP384, "90010100123", "Bob", "Janssens")
	c := &certra.Client{SOAP: &soap.Client{HTTPClient: srv.Client()}, Endpoint: srv.Environment().CertRA, Signer: eid.Keyring()}
	resp, err := c.GetActorQualities(context.Background(), &gen.GetActorQualitiesRequest{
		SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("eID keys:", eid.KeyType())
	fmt.Println("natural person:", *resp.NaturalPersonAuthorization)
	// Output:
	// eID keys: ECDSA P-384
	// natural person: true
}
