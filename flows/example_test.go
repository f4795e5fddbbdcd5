package flows_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/soap"
)

// Create a personal eHealth certificate and ETK against a local test platform. Against the real platform,
// use ehealth.Acceptance or ehealth.Production, and the eID keys of the user's card (package sign/pkcs11).
func ExampleCreate() {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	eid := srv.Citizen() // a software eID: its Authentication and Signature keys

	work, err := os.MkdirTemp("", "ehcert-work-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	deps := &flows.Deps{
		Environment:       srv.Environment(),
		SOAP:              &soap.Client{HTTPClient: srv.Client()},
		EIDAuthentication: eid.Authentication,
		EIDSignature:      eid.Signature,
		Password:          "keystore password",
		Accept: func(ctx context.Context, c flows.Contract) (bool, error) {
			// Show c.HTML("en") to the user and ask.
			fmt.Println("contract for", c.DN)
			return true, nil
		},
	}
	store := flows.DirStore(filepath.Join(work, "create"))
	res, err := flows.Create(context.Background(), store, flows.CreateRequest{
		Contact: flows.Contact{EmailPrivate: "alice@example.test", PhonePrivate: "+32 2 000 00 00"},
	}, deps)
	var pending *flows.PendingError
	if errors.As(err, &pending) {
		fmt.Println("waiting for the platform; run flows.Resume later")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("certificate:", res.Certificate.Subject.CommonName)
	fmt.Println("ETK registered:", len(res.ETK) > 0)

	// The keystore is in the work directory, ready for the Java connector.
	ks, err := keystore.ReadFile(filepath.Join(work, "create", flows.FileKeystore), []byte("keystore password"))
	if err != nil {
		log.Fatal(err)
	}
	_, hasAuth := ks.Authentication()
	fmt.Println("keystore: authentication key:", hasAuth, "- encryption keys:", len(ks.EncryptionKeys()))
	// Output:
	// contract for CN=SSIN\=85073003328,OU=eHealth-platform Belgium,OU=ALICE PEETERS,OU=SSIN\=85073003328,O=Federal Government,C=BE
	// certificate: SSIN=85073003328
	// ETK registered: true
	// keystore: authentication key: true - encryption keys: 1
}

// An organisation certificate that an eHealth operator validates by hand, days later: the process stops
// while it waits, and is resumed from its work directory (for instance by a daily job).
func ExampleResume() {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	eid := srv.Citizen()
	work, err := os.MkdirTemp("", "ehcert-work-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)

	deps := &flows.Deps{
		Environment:       srv.Environment(),
		SOAP:              &soap.Client{HTTPClient: srv.Client()},
		EIDAuthentication: eid.Authentication,
		EIDSignature:      eid.Signature,
		Password:          "keystore password",
		Accept:            func(context.Context, flows.Contract) (bool, error) { return true, nil },
		StopWhenPending:   true, // do not poll for days: stop, resume later
	}
	store := flows.DirStore(work)
	// An organisation the signer has no mandate for: manual validation.
	_, err = flows.Create(context.Background(), store, flows.CreateRequest{
		Organization: &flows.OrganizationRequest{Type: "CBE", ID: "0820563481", Name: "Acme Clinic"},
		Contact:      flows.Contact{EmailPrivate: "it@acme.example", PhonePrivate: "+32 2 000 00 00"},
	}, deps)
	fmt.Println("pending:", flows.IsPending(err))

	st, err := flows.Status(context.Background(), store)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next step:", st.Next)

	// ... days later, the operator approves (here: the test platform's hook) ...
	pki, _ := hex.DecodeString(st.PublicKeyIdentifier)
	if err := srv.Approve(pki); err != nil {
		log.Fatal(err)
	}
	res, err := flows.Resume(context.Background(), store, deps)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("certificate:", res.Certificate.Subject.CommonName)
	// Output:
	// pending: true
	// next step: certificate
	// certificate: CBE=0820563481
}
