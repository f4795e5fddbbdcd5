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

// TestExampleNewServer runs the body of ExampleNewServer (example_newserver_test.go): an example without
// output is only compiled, so this is what makes the documented test an executed one.
func TestExampleNewServer(t *testing.T) {
	testQualities(t)
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
