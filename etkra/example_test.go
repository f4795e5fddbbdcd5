package etkra_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etkra"
	gen "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/soap"
)

// Every EtkRA operation is signed with the eHealth authentication key. Without a Signer the client refuses the
// call before anything goes on the network; in a real program Signer is a sign.Keyring.
func ExampleClient_StartETKRegistration() {
	c := &etkra.Client{Endpoint: ehealth.Production.EtkRA}
	req := &gen.StartETKRegistrationRequest{PublicEncryptionKey: []byte("DER SubjectPublicKeyInfo")}
	_, err := c.StartETKRegistration(context.Background(), req)
	var missing *soap.MissingSignerError
	if errors.As(err, &missing) {
		fmt.Println("sign with:", missing.Key)
	}
	// Output:
	// sign with: eHealth authentication key
}
