package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"

	"github.com/ehcert/ehcert/ehealth"
)

// MissingSignerError reports a call of a signed operation without a RequestSigner. Nothing was sent.
type MissingSignerError struct {
	Operation string
	// Key is the key the operation must be signed with.
	Key ehealth.KeyKind
}

// Error describes the failure without request content.
func (e *MissingSignerError) Error() string {
	return fmt.Sprintf("soap: %s must be signed with the %s, but no signer is configured", e.Operation, e.Key)
}

// SignError reports a failure of the RequestSigner (for example a missing key or a token that refused to sign).
// Nothing was sent. Err is the signer's error; errors.As reaches it.
type SignError struct {
	Operation string
	Err       error
}

// Error describes the failure without request content.
func (e *SignError) Error() string { return "soap: signing " + e.Operation + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SignError) Unwrap() error { return e.Err }

// Send marshals req with encoding/xml exactly once, passes those bytes to signer.SignRequest, and sends the
// signer's output unchanged with Call. When op is unsigned and signer is nil, the marshalled bytes are sent as
// they are; when op is signed and signer is nil, Send fails with a *MissingSignerError before anything is sent.
// A failing signer gives a *SignError; a request that does not marshal, or whose root element is not
// op's request element, gives an *InvalidRequestError.
//
// Send does not fill in the request's Id or IssueInstant: the typed clients (packages certra and etkra) do.
func (c *Client) Send(ctx context.Context, endpoint string, op ehealth.Operation, signer ehealth.RequestSigner, req, resp any) error {
	name := opName(op)
	if op.Signed() && signer == nil {
		return &MissingSignerError{Operation: name, Key: op.Key}
	}
	payload, err := xml.Marshal(req)
	if err != nil {
		return &InvalidRequestError{Operation: name, Reason: "marshalling the request", Err: err}
	}
	if op.Request != "" {
		// Catch a request of the wrong type before a signer asks for a PIN.
		root, err := rootName(payload)
		if err != nil || root.Local != op.Request || root.Space != op.Namespace {
			return &InvalidRequestError{Operation: name, Reason: fmt.Sprintf("the request marshals as {%s}%s, want {%s}%s",
				root.Space, root.Local, op.Namespace, op.Request), Err: err}
		}
	}
	if signer != nil {
		signed, err := signer.SignRequest(ctx, op, payload)
		if err != nil {
			return &SignError{Operation: name, Err: err}
		}
		payload = signed
	}
	return c.Call(ctx, endpoint, op, payload, resp)
}

// rootName returns the name of the first element of doc.
func rootName(doc []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}
