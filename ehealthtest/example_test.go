package ehealthtest_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"slices"
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

// A Rewrite fault makes the platform answer as a later version could, here with an element that this client's
// schema does not have: the call succeeds and reads what it knows.
func ExampleServer_Inject_rewrite() {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	srv.Inject("GetActorQualities", ehealthtest.Fault{Kind: ehealthtest.Rewrite,
		Rewrite: func(op string, body []byte) []byte {
			// body is the response element; a new element goes before its end tag.
			i := bytes.LastIndex(body, []byte("</"))
			return slices.Concat(body[:i], []byte(`<DelegationAuthorization>true</DelegationAuthorization>`), body[i:])
		}})
	eid := srv.Citizen()
	c := &certra.Client{SOAP: &soap.Client{HTTPClient: srv.Client()}, Endpoint: srv.Environment().CertRA, Signer: eid.Keyring()}
	resp, err := c.GetActorQualities(context.Background(), &gen.GetActorQualitiesRequest{
		SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN},
	})
	if err != nil {
		log.Fatal(err)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	fmt.Println("natural person:", *resp.NaturalPersonAuthorization)
	fmt.Println("sent the new element:", bytes.Contains(last.Response, []byte("<DelegationAuthorization>")), last.Injected)
	// Output:
	// natural person: true
	// sent the new element: true Rewrite
}
