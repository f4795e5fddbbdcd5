package soap

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

const successStatus = `<core:Status xmlns:core="urn:be:fgov:ehealth:commons:core:v2"><core:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/></core:Status>`

// envelope wraps a Body child the way a JAX-WS server does.
func envelope(child string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>` +
		child + `</soap:Body></soap:Envelope>`
}

// successResponse is a minimal successful response of op.
func successResponse(op ehealth.Operation) string {
	status := ""
	if op.HasStatus {
		status = successStatus
	}
	return fmt.Sprintf(`<p:%s xmlns:p="%s" Id="_r1" InResponseTo="_q1" IssueInstant="2026-11-29T10:00:00+01:00">%s</p:%s>`,
		op.Response, op.Namespace, status, op.Response)
}

// requestPayload is a request of op as a signer might leave it: odd whitespace, attribute order and a signature
// stand-in that must survive byte for byte.
func requestPayload(op ehealth.Operation) []byte {
	return fmt.Appendf(nil, "<%s xmlns=\"%s\"   IssueInstant=\"2026-11-29T10:00:00.123+01:00\" Id=\"_abc\">\n\t<X>a&amp;b &#xE9;</X><![CDATA[x]]><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignatureValue>QUJD\r\nREVG</ds:SignatureValue></ds:Signature></%s>",
		op.Request, op.Namespace, op.Request)
}

// recorded is one request seen by a test server.
type recorded struct {
	Header http.Header
	Body   []byte
	Path   string
}

// testServer is an httptest server that counts new connections and records requests.
type testServer struct {
	*httptest.Server
	newConns atomic.Int64
	mu       sync.Mutex
	reqs     []recorded
}

func newTestServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 512)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		ts.mu.Lock()
		ts.reqs = append(ts.reqs, recorded{Header: r.Header.Clone(), Body: body, Path: r.URL.Path})
		ts.mu.Unlock()
		h(w, r)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.newConns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) requests() []recorded {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]recorded(nil), ts.reqs...)
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
