package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

func TestCallEveryOperation(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		op, ok := ehealth.OperationBySOAPAction(r.Header.Get("SOAPAction"))
		if !ok {
			writeXML(w, 500, envelope(`<soap:Fault><faultcode>soap:Client</faultcode><faultstring>unknown action</faultstring></soap:Fault>`))
			return
		}
		writeXML(w, 200, envelope(successResponse(op)))
	})
	c, err := NewClient(ts.Client(), "ehcert/0.1.0 Go/1.26", "ops@example.be")
	if err != nil {
		t.Fatal(err)
	}
	var seen []*Exchange
	c.Observer = func(e *Exchange) { seen = append(seen, e) }
	ops := ehealth.Operations()
	for _, op := range ops {
		payload := requestPayload(op)
		var resp struct {
			XMLName      xml.Name
			Id           string `xml:"Id,attr"`
			InResponseTo string `xml:"InResponseTo,attr"`
		}
		if err := c.Call(context.Background(), ts.URL+"/CertRa/v2", op, payload, &resp); err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		if resp.XMLName.Local != op.Response || resp.XMLName.Space != op.Namespace || resp.Id != "_r1" || resp.InResponseTo != "_q1" {
			t.Errorf("%s: decoded %+v", op.Name, resp)
		}
	}
	reqs := ts.requests()
	if len(reqs) != len(ops) {
		t.Fatalf("%d requests, want %d", len(reqs), len(ops))
	}
	for i, op := range ops {
		r := reqs[i]
		if got, want := r.Header.Get("SOAPAction"), `"`+op.SOAPAction+`"`; got != want {
			t.Errorf("%s: SOAPAction %s, want %s", op.Name, got, want)
		}
		if got := r.Header.Values("SOAPAction"); len(got) != 1 {
			t.Errorf("%s: %d SOAPAction headers", op.Name, len(got))
		}
		for h, want := range map[string]string{
			"Content-Type": "text/xml; charset=utf-8",
			"User-Agent":   "ehcert/0.1.0 Go/1.26",
			"From":         "ops@example.be",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", op.Name, h, got, want)
			}
		}
		want := envelopeStart + string(requestPayload(op)) + envelopeEnd
		if string(r.Body) != want {
			t.Errorf("%s: body\n%s\nwant\n%s", op.Name, r.Body, want)
		}
		if r.Path != "/CertRa/v2" {
			t.Errorf("%s: path %s", op.Name, r.Path)
		}
	}
	if len(seen) != len(ops) {
		t.Fatalf("observer saw %d exchanges", len(seen))
	}
	for i, e := range seen {
		op := ops[i]
		if e.Operation.Name != op.Name || e.Method != http.MethodPost || e.StatusCode != 200 || e.Err != nil ||
			e.URL != ts.URL+"/CertRa/v2" {
			t.Errorf("exchange %d: %+v", i, e)
		}
		if !bytes.Equal(e.Request, requestPayload(op)) {
			t.Errorf("%s: exchange request %s", op.Name, e.Request)
		}
		if string(e.Response) != successResponse(op) {
			t.Errorf("%s: exchange response %s, want the Body child as received", op.Name, e.Response)
		}
		if e.RequestHeader.Get("SOAPAction") != `"`+op.SOAPAction+`"` || e.ResponseHeader.Get("Content-Type") == "" {
			t.Errorf("%s: exchange headers %v %v", op.Name, e.RequestHeader, e.ResponseHeader)
		}
	}
}

func TestCallStripsDeclarationOnly(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, envelope(successResponse(ehealth.GetCertificate)))
	})
	c := &Client{HTTPClient: ts.Client()}
	payload := requestPayload(ehealth.GetCertificate)
	for _, prefix := range []string{"", `<?xml version="1.0" encoding="UTF-8"?>`, "\xEF\xBB\xBF<?xml version='1.0'?>\n\n"} {
		if err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, append([]byte(prefix), payload...), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range ts.requests() {
		if want := envelopeStart + string(payload) + envelopeEnd; string(r.Body) != want {
			t.Errorf("request %d: %s", i, r.Body)
		}
		if r.Header.Get("From") != "" {
			t.Errorf("From sent by a zero client")
		}
	}
	var ir *InvalidRequestError
	for _, bad := range [][]byte{nil, []byte(`<?xml version="1.0"?>`), []byte("hello")} {
		if err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, bad, nil); !errors.As(err, &ir) {
			t.Errorf("payload %q: %v", bad, err)
		}
	}
	if err := c.Call(context.Background(), "", ehealth.GetCertificate, payload, nil); !errors.As(err, &ir) {
		t.Errorf("no endpoint: %v", err)
	}
	if n := len(ts.requests()); n != 3 {
		t.Errorf("%d requests sent, want 3", n)
	}
}

func TestFault(t *testing.T) {
	cases := []struct {
		name, fault, code string
	}{
		{"in faultcode", `<soapenv:Fault><faultcode>SOA-03001</faultcode><faultstring>Malformed message</faultstring></soapenv:Fault>`, ehealth.FaultMalformed},
		{"in faultstring", `<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>SOA-03002: Message must be SOAP</faultstring><faultactor>urn:proxy</faultactor></soapenv:Fault>`, ehealth.FaultNotSOAP},
		{"in detail", `<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Message must contain SOAP body</faultstring><detail><urn:Detail xmlns:urn="urn:be:fgov:ehealth:errors:soa:v1"><urn:Code>SOA-03003</urn:Code></urn:Detail></detail></soapenv:Fault>`, ehealth.FaultMissingBody},
		{"backend", `<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>internal server error</faultstring></soapenv:Fault>`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Trace", "t1")
				writeXML(w, 500, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`+tc.fault+`</soapenv:Body></soapenv:Envelope>`)
			})
			c := &Client{HTTPClient: ts.Client()}
			err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("error %T %v, want *Fault", err, err)
			}
			if f.EHealthCode() != tc.code || Code(err) != tc.code {
				t.Errorf("EHealthCode %q, Code %q, want %q", f.EHealthCode(), Code(err), tc.code)
			}
			if f.HTTPStatus != 500 || f.Header.Get("X-Trace") != "t1" || f.Operation != "GetCertificate" || f.Code == "" || f.String == "" {
				t.Errorf("fault %+v", f)
			}
			if tc.name == "in faultstring" && f.Actor != "urn:proxy" {
				t.Errorf("actor %q", f.Actor)
			}
			if tc.name == "in detail" && !bytes.Contains(f.Detail, []byte("<urn:Code>SOA-03003</urn:Code>")) {
				t.Errorf("detail %s", f.Detail)
			}
			if strings.Contains(err.Error(), "Signature") {
				t.Errorf("error text holds the request: %v", err)
			}
		})
	}
}

func TestHTMLServiceUnavailable(t *testing.T) {
	page := "<html><head><title>503 Service Unavailable</title></head><body>" + strings.Repeat("é maintenance ", 200) + "</body></html>"
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(503)
		_, _ = io.WriteString(w, page)
	})
	c := &Client{HTTPClient: ts.Client()}
	var ex *Exchange
	c.Observer = func(e *Exchange) { ex = e }
	err := c.Call(context.Background(), ts.URL, ehealth.ActivateETK, requestPayload(ehealth.ActivateETK), nil)
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("error %T %v, want *HTTPError", err, err)
	}
	if he.StatusCode != 503 || he.ContentType != "text/html; charset=iso-8859-1" || !he.Temporary() || he.Operation != "ActivateETK" {
		t.Errorf("%+v", he)
	}
	if len(he.Excerpt) > 512 || len(he.Excerpt) < 400 || !strings.HasPrefix(he.Excerpt, "<html><head><title>503") || !strings.Contains(err.Error(), "503") {
		t.Errorf("excerpt (%d bytes) %q", len(he.Excerpt), he.Excerpt)
	}
	if ex == nil || ex.StatusCode != 503 || ex.Err != err || string(ex.Response) != page {
		t.Errorf("observer: %+v", ex)
	}
	// Non-SOAP with a 200 is a protocol error.
	ts2 := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>login</html>") })
	var pe *ProtocolError
	if err := c.Call(context.Background(), ts2.URL, ehealth.ActivateETK, requestPayload(ehealth.ActivateETK), nil); !errors.As(err, &pe) {
		t.Errorf("200 HTML: %T %v", err, err)
	}
}

// countingTransport counts the response bytes the client reads.
type countingTransport struct {
	rt   http.RoundTripper
	read int64
}

type countingBody struct {
	io.ReadCloser
	n *int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.rt.RoundTrip(r)
	if err == nil {
		res.Body = countingBody{res.Body, &t.read}
	}
	return res, err
}

func TestResponseTooLarge(t *testing.T) {
	const limit = 64 << 10
	chunk := bytes.Repeat([]byte("<a>xxxxxxxxxxxxxxxxxxxxxxxxx</a>"), 1024)
	for _, announce := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length=%v", announce), func(t *testing.T) {
			const total = 32 << 20 // far beyond the limit
			ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
				if announce {
					w.Header().Set("Content-Length", fmt.Sprint(total))
				}
				w.Header().Set("Content-Type", "text/xml")
				_, _ = io.WriteString(w, envelopeStart)
				for sent := 0; sent < total-len(envelopeStart); sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return // the client hung up: good
					}
				}
			})
			ct := &countingTransport{rt: ts.Client().Transport}
			c := &Client{HTTPClient: &http.Client{Transport: ct}, MaxResponseBytes: limit}
			err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
			var tl *ResponseTooLargeError
			if !errors.As(err, &tl) || tl.Limit != limit {
				t.Fatalf("error %T %v", err, err)
			}
			if announce && tl.ContentLength != total {
				t.Errorf("ContentLength %d", tl.ContentLength)
			}
			// At most the limit, one byte, and the bounded drain were read.
			if ct.read > limit+1+64<<10 {
				t.Errorf("read %d bytes of the body, limit %d", ct.read, limit)
			}
		})
	}
	// Exactly at the limit is accepted.
	body := envelope(successResponse(ehealth.GetCertificate))
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, body) })
	c := &Client{HTTPClient: ts.Client(), MaxResponseBytes: int64(len(body))}
	if err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil); err != nil {
		t.Errorf("body at the limit: %v", err)
	}
	c.MaxResponseBytes--
	var tl *ResponseTooLargeError
	if err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil); !errors.As(err, &tl) {
		t.Errorf("body one byte over the limit: %v", err)
	}
}

const statusErrorResponse = `<ns2:GenerateCertificateResponse xmlns:ns2="urn:be:fgov:ehealth:certra:protocol:v2" xmlns="urn:be:fgov:ehealth:commons:core:v2" xmlns:ns3="urn:be:fgov:ehealth:etee:commons:core:v2" Id="_r" IssueInstant="2026-11-29T10:00:00Z">
<Status><StatusCode Value="urn:be:fgov:ehealth:2.0:status:Requester"><StatusCode Value="urn:be:fgov:ehealth:2.0:status:InvalidInput"/></StatusCode>
<StatusMessage>The CSR is not valid</StatusMessage>
<StatusDetail><ns3:EteeStatusDetail><Errors xmlns=""><Code>CSR_NOT_VALID</Code><Message>bad CSR</Message><Parameters><Name>field</Name><Value>CN</Value></Parameters><Parameters><Name>reason</Name><Value> too short </Value></Parameters></Errors><Errors xmlns=""><Code>CSR_INVALID_DN_INVALID</Code><Message>bad DN</Message></Errors></ns3:EteeStatusDetail>
<ns3:EteeStatusDetail><Errors xmlns=""><Code>CERT_NOT_YET_DELIVERED</Code></Errors></ns3:EteeStatusDetail><Other xmlns="urn:x">ignored</Other></StatusDetail></Status></ns2:GenerateCertificateResponse>`

func TestStatusError(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, envelope(statusErrorResponse)) })
	c := &Client{HTTPClient: ts.Client()}
	err := c.Call(context.Background(), ts.URL, ehealth.GenerateCertificate, requestPayload(ehealth.GenerateCertificate), nil)
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v", err, err)
	}
	if fmt.Sprint(se.StatusCodes) != "[urn:be:fgov:ehealth:2.0:status:Requester urn:be:fgov:ehealth:2.0:status:InvalidInput]" {
		t.Errorf("status codes %q", se.StatusCodes)
	}
	if se.Message != "The CSR is not valid" || se.Operation != "GenerateCertificate" {
		t.Errorf("%+v", se)
	}
	want := []Detail{
		{Code: "CSR_NOT_VALID", Message: "bad CSR", Parameters: []Parameter{{"field", "CN"}, {"reason", " too short "}}},
		{Code: "CSR_INVALID_DN_INVALID", Message: "bad DN"},
		{Code: "CERT_NOT_YET_DELIVERED"},
	}
	if fmt.Sprintf("%+v", se.Details) != fmt.Sprintf("%+v", want) {
		t.Errorf("details\n%+v\nwant\n%+v", se.Details, want)
	}
	if fmt.Sprint(se.Codes()) != "[CSR_NOT_VALID CSR_INVALID_DN_INVALID CERT_NOT_YET_DELIVERED]" || Code(err) != "CSR_NOT_VALID" {
		t.Errorf("codes %v, Code %q", se.Codes(), Code(err))
	}
	if !se.Has(ehealth.CodeCSRInvalidDN) || se.Has(ehealth.CodeCSRPubKeyNotUnique) || !se.Pending() || !IsPending(err) || !se.Retryable() {
		t.Errorf("Has/Pending/Retryable wrong for %v", se)
	}
	if msg := err.Error(); !strings.Contains(msg, "CSR_NOT_VALID") || !strings.Contains(msg, "The CSR is not valid") || strings.Contains(msg, "too short") {
		t.Errorf("Error() = %q", msg)
	}
}

func TestStatusVariants(t *testing.T) {
	status := func(s string) string {
		return `<p:RevokeResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:c="urn:be:fgov:ehealth:commons:core:v2" Id="_r">` + s + `</p:RevokeResponse>`
	}
	cases := []struct {
		name, body string
		check      func(t *testing.T, err error)
	}{
		{"no detail", status(`<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Responder"/></c:Status>`), func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || len(se.Details) != 0 || se.Pending() || se.Retryable() || Code(err) != "" || IsPending(err) {
				t.Errorf("%T %v", err, err)
			}
		}},
		{"only pending", status(`<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Responder"/><c:StatusDetail><e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors><Code>CERT_NOT_YET_DELIVERED</Code><Message>later</Message></Errors></e:EteeStatusDetail></c:StatusDetail></c:Status>`), func(t *testing.T, err error) {
			if !IsPending(err) || Code(err) != ehealth.CodeCertNotYetDelivered {
				t.Errorf("%v", err)
			}
		}},
		{"missing status", status(``), func(t *testing.T, err error) {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Errorf("%T %v", err, err)
			}
		}},
		{"status in wrong namespace", status(`<Status><StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/></Status>`), func(t *testing.T, err error) {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Errorf("%T %v", err, err)
			}
		}},
		{"nested success status is not at top", status(`<c:Other><c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/></c:Status></c:Other>`), func(t *testing.T, err error) {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Errorf("%T %v", err, err)
			}
		}},
		{"success with unknowns", status(`<c:NewThing a="1"><x/></c:NewThing><c:Status Extra="y"><c:StatusCode Value=" urn:be:fgov:ehealth:2.0:status:Success " More="z"><c:StatusCode Value="urn:x:detail"/></c:StatusCode><c:StatusMessage>ok</c:StatusMessage></c:Status><c:Later/>`), func(t *testing.T, err error) {
			if err != nil {
				t.Error(err)
			}
		}},
		{"wrong root", `<p:GetCertificateResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2">` + successStatus + `</p:GetCertificateResponse>`, func(t *testing.T, err error) {
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "RevokeResponse") {
				t.Errorf("%T %v", err, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, envelope(tc.body)) })
			c := &Client{HTTPClient: ts.Client()}
			tc.check(t, c.Call(context.Background(), ts.URL, ehealth.Revoke, requestPayload(ehealth.Revoke), nil))
		})
	}
}

// GetExistingApplicationIdsResponse has no Status; nil ApplicationIds decode.
func TestNoStatusOperation(t *testing.T) {
	body := `<p:GetExistingApplicationIdsResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Id="_r" IssueInstant="2026-11-29T10:00:00Z"><p:ApplicationId>app1</p:ApplicationId><p:ApplicationId xsi:nil="true"/></p:GetExistingApplicationIdsResponse>`
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, envelope(body)) })
	c := &Client{HTTPClient: ts.Client()}
	var resp struct {
		IDs []string `xml:"urn:be:fgov:ehealth:certra:protocol:v2 ApplicationId"`
	}
	if err := c.Call(context.Background(), ts.URL, ehealth.GetExistingApplicationIds, requestPayload(ehealth.GetExistingApplicationIds), &resp); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(resp.IDs) != "[app1 ]" {
		t.Errorf("%q", resp.IDs)
	}
}

// Namespaces declared on the Envelope or Body (as some SOAP stacks do) are in scope when the child is decoded;
// unknown elements and attributes are ignored.
func TestNamespacesFromEnvelopeAndUnknowns(t *testing.T) {
	body := `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:c="urn:wrong">` +
		`<S:Header><wsa:To xmlns:wsa="urn:wsa">x</wsa:To></S:Header><!-- c --><S:Body xmlns:c="urn:be:fgov:ehealth:commons:core:v2">` +
		"\n  " + `<ns2:GetCertificateResponse Id="_r" Unknown="1"><c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/></c:Status>` +
		`<ns2:X509Certificate>QUJD</ns2:X509Certificate><ns2:FutureElement><ns2:X509Certificate>ignored</ns2:X509Certificate></ns2:FutureElement><ns2:X509Certificate>REVG</ns2:X509Certificate></ns2:GetCertificateResponse>` +
		"\n</S:Body></S:Envelope>"
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, body) })
	c := &Client{HTTPClient: ts.Client()}
	var got []byte
	c.Observer = func(e *Exchange) { got = e.Response }
	var resp struct {
		Certs [][]byte `xml:"urn:be:fgov:ehealth:certra:protocol:v2 X509Certificate"`
	}
	if err := c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Certs) != 2 || string(resp.Certs[0]) != "QUJD" || string(resp.Certs[1]) != "REVG" {
		t.Errorf("%q", resp.Certs)
	}
	if !strings.HasPrefix(string(got), "<ns2:GetCertificateResponse Id=") || !strings.HasSuffix(string(got), "</ns2:GetCertificateResponse>") {
		t.Errorf("raw Body child %s", got)
	}
}

func TestConnectionReuse(t *testing.T) {
	n := 0
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		switch n % 3 {
		case 0:
			writeXML(w, 500, envelope(`<soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring></soap:Fault>`))
		case 1:
			writeXML(w, 200, envelope(successResponse(ehealth.GetCertificate)))
		default:
			writeXML(w, 200, envelope(strings.Replace(statusErrorResponse, "GenerateCertificateResponse", "GetCertificateResponse", 2)))
		}
	})
	c := &Client{HTTPClient: ts.Client()}
	for i := 0; i < 10; i++ {
		_ = c.Call(context.Background(), ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
	}
	if len(ts.requests()) != 10 {
		t.Fatalf("%d requests", len(ts.requests()))
	}
	if got := ts.newConns.Load(); got != 1 {
		t.Errorf("10 calls opened %d connections, want 1", got)
	}
}

func TestContextCancel(t *testing.T) {
	reached := make(chan struct{})
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(reached)
		<-r.Context().Done()
	})
	c := &Client{HTTPClient: ts.Client()}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-reached; cancel() }()
	err := c.Call(ctx, ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
	var te *TransportError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &te) || te.Temporary() || te.Operation != "GetCertificate" {
		t.Errorf("error %T %v", err, err)
	}
	// An already cancelled context sends nothing.
	before := len(ts.requests())
	if err := c.Call(ctx, ts.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if len(ts.requests()) != before {
		t.Error("a request was sent with a cancelled context")
	}
}

func TestTransportError(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {})
	url := ts.URL
	ts.Close()
	c := &Client{}
	err := c.Call(context.Background(), url, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
	var te *TransportError
	if !errors.As(err, &te) || !te.Temporary() || errors.Unwrap(err) == nil {
		t.Fatalf("error %T %v", err, err)
	}
	if strings.Contains(err.Error(), "Signature") {
		t.Errorf("error text holds the request: %v", err)
	}
	// A server that hangs up mid-response.
	ts2 := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, envelopeStart)
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
	})
	err = (&Client{HTTPClient: ts2.Client()}).Call(context.Background(), ts2.URL, ehealth.GetCertificate, requestPayload(ehealth.GetCertificate), nil)
	if !errors.As(err, &te) || !te.Temporary() {
		t.Errorf("truncated: %T %v", err, err)
	}
}

func TestUserAgent(t *testing.T) {
	good := []string{"", "myProduct/62.310.4 Technical/3.19.0", "Topaz-XXXX/123.23.X freeconnector/XXXXX.XXX", "ehcert/0.1.0", "a/b/1_2-3.4"}
	bad := []string{"ehcert", "ehcert/", "/1.0", "ehcert/1.0  Go/1.26", " ehcert/1.0", "ehcert/1.0 ", "ehcert/1.0 (linux)",
		"eh cert/1.0", "ehcert/1:0", "ehcert/1.0\r\nX: y", "ehcert/1@0", "ehcert/1[0]", "éh/1"}
	for _, ua := range good {
		if err := ValidateUserAgent(ua); err != nil {
			t.Errorf("%q: %v", ua, err)
		}
		if _, err := NewClient(nil, ua, ""); err != nil {
			t.Errorf("NewClient(%q): %v", ua, err)
		}
	}
	var ih *InvalidHeaderError
	for _, ua := range bad {
		if _, err := NewClient(nil, ua, ""); !errors.As(err, &ih) || ih.Header != "User-Agent" {
			t.Errorf("NewClient(%q) = %v, want *InvalidHeaderError", ua, err)
		}
	}
	for _, from := range []string{"info@mycompany.be", "ops+ehcert@example.org"} {
		if _, err := NewClient(nil, "x/1", from); err != nil {
			t.Errorf("From %q: %v", from, err)
		}
	}
	for _, from := range []string{"nobody", "Ops <ops@example.be>", "a@b.be\r\nX: y", "a@b.be, c@d.be"} {
		if _, err := NewClient(nil, "x/1", from); !errors.As(err, &ih) || ih.Header != "From" {
			t.Errorf("From %q: %v", from, err)
		}
	}
	// A client built as a literal is checked when called, before anything is sent.
	var ir *InvalidRequestError
	if err := (&Client{UserAgent: "bad agent"}).Call(context.Background(), "http://127.0.0.1:1", ehealth.GetCertificate, []byte("<a/>"), nil); !errors.As(err, &ir) || !errors.As(err, &ih) {
		t.Errorf("literal client: %v", err)
	}
}

func TestExcerptBounds(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("short"), bytes.Repeat([]byte("é"), 600), append(bytes.Repeat([]byte("a"), 511), 0xE2, 0x82, 0xAC), bytes.Repeat([]byte{0xff}, 2000)} {
		e := excerpt(in)
		if len(e) > maxExcerpt || !strings.HasPrefix(string(in)+"?", "") || strings.ToValidUTF8(e, "") != e {
			t.Errorf("excerpt of %d bytes: %d bytes, valid=%v", len(in), len(e), strings.ToValidUTF8(e, "") == e)
		}
	}
}
