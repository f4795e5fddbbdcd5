package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

type sendRequest struct {
	XMLName xml.Name `xml:"urn:be:fgov:ehealth:certra:protocol:v2 GenerateCertificateRequest"`
	Id      string   `xml:"Id,attr"`
	CSR     []byte   `xml:"urn:be:fgov:ehealth:certra:core:v2 CSR"`
}

// recordingSigner records what it was given and returns a fixed "signed" document.
type recordingSigner struct {
	got    []byte
	op     ehealth.Operation
	out    []byte
	err    error
	called int
}

func (s *recordingSigner) SignRequest(_ context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	s.called++
	s.got = append([]byte(nil), payload...)
	s.op = op
	return s.out, s.err
}

func TestSend(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, envelope(successResponse(ehealth.GenerateCertificate)))
	})
	c := &Client{HTTPClient: ts.Client()}
	req := &sendRequest{Id: "_1", CSR: []byte("csr")}
	want, _ := xml.Marshal(req)
	signed := []byte(`<GenerateCertificateRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1"><CSR xmlns="urn:be:fgov:ehealth:certra:core:v2">Y3Ny</CSR><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">SIG</ds:Signature></GenerateCertificateRequest>`)
	s := &recordingSigner{out: signed}
	if err := c.Send(context.Background(), ts.URL, ehealth.GenerateCertificate, s, req, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.got, want) || s.op.Name != "GenerateCertificate" {
		t.Errorf("signer got %s for %s, want %s", s.got, s.op.Name, want)
	}
	reqs := ts.requests()
	if len(reqs) != 1 || string(reqs[0].Body) != envelopeStart+string(signed)+envelopeEnd {
		t.Fatalf("sent %q", reqs)
	}

	// A signed operation without a signer, and a failing signer: nothing is sent.
	var ms *MissingSignerError
	if err := c.Send(context.Background(), ts.URL, ehealth.GenerateCertificate, nil, req, nil); !errors.As(err, &ms) || ms.Key != ehealth.EIDSignature {
		t.Errorf("nil signer: %v", err)
	}
	boom := errors.New("token removed")
	var se *SignError
	if err := c.Send(context.Background(), ts.URL, ehealth.GenerateCertificate, &recordingSigner{err: boom}, req, nil); !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Errorf("failing signer: %v", err)
	}
	var ir *InvalidRequestError
	if err := c.Send(context.Background(), ts.URL, ehealth.GetCertificate, nil, make(chan int), nil); !errors.As(err, &ir) {
		t.Errorf("unmarshallable request: %v", err)
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}

	// A request of the wrong type is refused before the signer sees it.
	s2 := &recordingSigner{out: signed}
	if err := c.Send(context.Background(), ts.URL, ehealth.Revoke, s2, req, nil); !errors.As(err, &ir) || s2.called != 0 {
		t.Errorf("wrong request type: %v (signer called %d times)", err, s2.called)
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}

	// An unsigned operation without a signer sends the marshalled bytes.
	unsigned := ehealth.GenerateCertificate
	unsigned.Key = ehealth.Unsigned
	if err := c.Send(context.Background(), ts.URL, unsigned, nil, req, nil); err != nil {
		t.Error(err)
	}
	if reqs := ts.requests(); len(reqs) != 2 || string(reqs[1].Body) != envelopeStart+string(want)+envelopeEnd {
		t.Errorf("unsigned: sent %q", reqs[len(reqs)-1].Body)
	}
}
