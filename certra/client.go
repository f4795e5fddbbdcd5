// Package certra is the typed client of the eHealth CertRA v2 service (certificate registration authority):
// one method per operation, taking the generated request of package gen/certra and returning the generated
// response.
//
// Every method fills in the request's Id ("_" + a random UUID, unless already set) and IssueInstant (now),
// marshals it once, has the Signer sign those bytes, and sends the signer's output unchanged through package
// soap. Errors are those of package soap (*soap.StatusError, *soap.Fault, ...) plus *soap.MissingSignerError when
// a signed operation is called without a Signer; nothing is sent in that case.
package certra

import (
	"context"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/internal/reqstamp"
	"github.com/ehcert/ehcert/soap"
)

// Client calls CertRA v2. A zero Client is usable for the unsigned operations against acceptance.
type Client struct {
	// SOAP is the transport; nil means a soap.Client with http.DefaultClient and no tracing headers.
	SOAP *soap.Client
	// Endpoint is the CertRA v2 URL; "" means ehealth.Acceptance.CertRA.
	Endpoint string
	// Signer signs requests (package sign's Keyring implements it). It may be nil only when just unsigned
	// operations are called: a signed operation with a nil Signer fails with *soap.MissingSignerError before
	// anything is sent.
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
	return ehealth.Acceptance.CertRA
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

// GetActorQualities asks for which entities (the person, organisations) the signer of the request may manage
// certificates. Signed with the eID Authentication key of the person whose SSIN is in the request.
func (c *Client) GetActorQualities(ctx context.Context, req *gen.GetActorQualitiesRequest) (*gen.GetActorQualitiesResponse, error) {
	return call[gen.GetActorQualitiesResponse](ctx, c, ehealth.GetActorQualities, req)
}

// GetGenericOrganizationTypes lists the organisation types a certificate can be requested for. Unsigned.
func (c *Client) GetGenericOrganizationTypes(ctx context.Context, req *gen.GetGenericOrganizationTypesRequest) (*gen.GetGenericOrganizationTypesResponse, error) {
	return call[gen.GetGenericOrganizationTypesResponse](ctx, c, ehealth.GetGenericOrganizationTypes, req)
}

// GetExistingApplicationIds lists the application ids already used by an organisation. Unsigned; the response
// has no Status.
func (c *Client) GetExistingApplicationIds(ctx context.Context, req *gen.GetExistingApplicationIdsRequest) (*gen.GetExistingApplicationIdsResponse, error) {
	return call[gen.GetExistingApplicationIdsResponse](ctx, c, ehealth.GetExistingApplicationIds, req)
}

// GenerateContract returns the contract (DN, signer, legal text) for a new certificate. Unsigned.
func (c *Client) GenerateContract(ctx context.Context, req *gen.GenerateContractRequest) (*gen.GenerateContractResponse, error) {
	return call[gen.GenerateContractResponse](ctx, c, ehealth.GenerateContract, req)
}

// GenerateCertificate submits the eHealth CSR with the accepted contract. Signed with the eID Signature key.
func (c *Client) GenerateCertificate(ctx context.Context, req *gen.GenerateCertificateRequest) (*gen.GenerateCertificateResponse, error) {
	return call[gen.GenerateCertificateResponse](ctx, c, ehealth.GenerateCertificate, req)
}

// GetCertificate fetches the issued certificate chain (leaf first, root excluded). Unsigned. While the
// certificate is not delivered the error is a *soap.StatusError with Pending() true.
func (c *Client) GetCertificate(ctx context.Context, req *gen.GetCertificateRequest) (*gen.GetCertificateResponse, error) {
	return call[gen.GetCertificateResponse](ctx, c, ehealth.GetCertificate, req)
}

// GenerateRevocationContract returns the contract for revoking a certificate. Unsigned.
func (c *Client) GenerateRevocationContract(ctx context.Context, req *gen.GenerateRevocationContractRequest) (*gen.GenerateRevocationContractResponse, error) {
	return call[gen.GenerateRevocationContractResponse](ctx, c, ehealth.GenerateRevocationContract, req)
}

// Revoke revokes a certificate with the revocation contract. Signed with the eID Signature key.
func (c *Client) Revoke(ctx context.Context, req *gen.RevokeRequest) (*gen.RevokeResponse, error) {
	return call[gen.RevokeResponse](ctx, c, ehealth.Revoke, req)
}

// SubmitCSRForForeigner submits a CSR for a person without a Belgian eID; the response holds the URL where the
// request is validated. Unsigned.
func (c *Client) SubmitCSRForForeigner(ctx context.Context, req *gen.SubmitCSRForForeignerRequest) (*gen.SubmitCSRForForeignerResponse, error) {
	return call[gen.SubmitCSRForForeignerResponse](ctx, c, ehealth.SubmitCSRForForeigner, req)
}

// GetCertificateInfoForCitizen lists the certificates of the signer. Signed with the eID Authentication key.
func (c *Client) GetCertificateInfoForCitizen(ctx context.Context, req *gen.GetCertificateInfoForCitizenRequest) (*gen.GetCertificateInfoForCitizenResponse, error) {
	return call[gen.GetCertificateInfoForCitizenResponse](ctx, c, ehealth.GetCertificateInfoForCitizen, req)
}

// GetCertificateInfoForAuthenticationCertificate describes the eHealth certificate whose key signs the request.
// Signed with the eHealth authentication key.
func (c *Client) GetCertificateInfoForAuthenticationCertificate(ctx context.Context, req *gen.GetCertificateInfoForAuthenticationCertificateRequest) (*gen.GetCertificateInfoForAuthenticationCertificateResponse, error) {
	return call[gen.GetCertificateInfoForAuthenticationCertificateResponse](ctx, c, ehealth.GetCertificateInfoForAuthenticationCertificate, req)
}
