// Package etkra is the typed client of the eHealth EtkRA v2 service (registration of encryption tokens, ETKs):
// one method per operation, taking the generated request of package gen/etkra and returning the generated
// response. All three operations are signed with the eHealth authentication key.
//
// Every method fills in the request's Id ("_" + a random UUID, unless already set) and IssueInstant (now),
// marshals it once, has the Signer sign those bytes, and sends the signer's output unchanged through package
// soap. Errors are those of package soap (*soap.StatusError, *soap.Fault, ...) plus *soap.MissingSignerError when
// a signed operation is called without a Signer; nothing is sent in that case.
package etkra

import (
	"context"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	gen "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/reqstamp"
	"github.com/ehcert/ehcert/soap"
)

// Client calls EtkRA v2 against acceptance when Endpoint is empty. Every EtkRA operation is signed, so a Signer
// is required.
type Client struct {
	// SOAP is the transport; nil means a soap.Client with http.DefaultClient and no tracing headers.
	SOAP *soap.Client
	// Endpoint is the EtkRA v2 URL; "" means ehealth.Acceptance.EtkRA.
	Endpoint string
	// Signer signs requests with the eHealth authentication key (package sign's Keyring implements it). With a
	// nil Signer every call fails with *soap.MissingSignerError before anything is sent.
	Signer ehealth.RequestSigner
	// Now returns the time used for IssueInstant; nil means time.Now.
	Now func() time.Time
	// NewID returns a request Id; nil means "_" followed by a random (version 4) UUID, as the connector does.
	NewID func() string
}

func (c *Client) soap() *soap.Client {
	if c.SOAP != nil {
		return c.SOAP
	}
	return &soap.Client{}
}

func (c *Client) endpoint() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return ehealth.Acceptance.EtkRA
}

// Do sends req as operation op and decodes the answer into resp. req must be a pointer to the generated request
// struct of op; its Id is set when empty and its IssueInstant is always set to now (truncated to milliseconds, as
// the connector's JAXB printing does), so after Do the caller can read the Id that was sent. The methods of Client
// are Do with the operation and types filled in; the CLI uses Do directly.
func (c *Client) Do(ctx context.Context, op ehealth.Operation, req, resp any) error {
	if err := reqstamp.Stamp(op, req, c.NewID, c.Now); err != nil {
		return err
	}
	return c.soap().Send(ctx, c.endpoint(), op, c.Signer, req, resp)
}

func call[Resp any](ctx context.Context, c *Client, op ehealth.Operation, req any) (*Resp, error) {
	resp := new(Resp)
	if err := c.Do(ctx, op, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// StartETKRegistration registers a public encryption key and returns the challenge that must go into the
// encryption certificate (FACTS §8).
func (c *Client) StartETKRegistration(ctx context.Context, req *gen.StartETKRegistrationRequest) (*gen.StartETKRegistrationResponse, error) {
	return call[gen.StartETKRegistrationResponse](ctx, c, ehealth.StartETKRegistration, req)
}

// CompleteETKRegistration sends the encryption certificate and returns the new ETK and whether it must be
// activated. It must be signed with the same key as StartETKRegistration.
func (c *Client) CompleteETKRegistration(ctx context.Context, req *gen.CompleteETKRegistrationRequest) (*gen.CompleteETKRegistrationResponse, error) {
	return call[gen.CompleteETKRegistrationResponse](ctx, c, ehealth.CompleteETKRegistration, req)
}

// ActivateETK activates a replacement ETK (one whose CompleteETKRegistration answered ToBeActivated=true).
func (c *Client) ActivateETK(ctx context.Context, req *gen.ActivateETKRequest) (*gen.ActivateETKResponse, error) {
	return call[gen.ActivateETKResponse](ctx, c, ehealth.ActivateETK, req)
}
