package ehealthtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/internal/testenv"
)

// depotPrefix is the path of the ETK Depot REST API on the platform.
const depotPrefix = "/etee/v1"

// depotRouter loads openapi/etkdepot-v1.yaml with its servers replaced by srv's depot, so that the recorded paths
// of srv's exchanges find their operations.
func depotRouter(t *testing.T, srv *ehealthtest.Server) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(testenv.RepoRoot(t), "openapi", "etkdepot-v1.yaml"))
	if err != nil {
		t.Fatalf("openapi/etkdepot-v1.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi/etkdepot-v1.yaml: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL + depotPrefix}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, r
}

// skipInjected tells the injected faults whose answers are broken on purpose (not what the platform says).
func skipInjected(k ehealthtest.FaultKind) bool {
	switch k {
	case ehealthtest.Drop, ehealthtest.HTML503, ehealthtest.Garbage, ehealthtest.Oversized, ehealthtest.Rewrite:
		return true
	}
	return false
}

// depotResponseProblem checks one recorded ETK Depot exchange against the document. An exchange that is an
// operation of the document must be one of its documented responses (status included) with a body of the
// documented schema; one that is not (an unknown path, a method other than GET) must be a 404 or 405 whose body is
// the document's Error schema.
func depotResponseProblem(doc *openapi3.T, router routers.Router, base string, rec ehealthtest.RecordedRequest) error {
	req := httptest.NewRequest(rec.Method, base+rec.Path, nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		if rec.StatusCode != http.StatusNotFound && rec.StatusCode != http.StatusMethodNotAllowed {
			return fmt.Errorf("not an operation of the document (%v), answered HTTP %d instead of 404 or 405", err, rec.StatusCode)
		}
		if ct := rec.ResponseHeader.Get("Content-Type"); ct != "application/json" {
			return fmt.Errorf("HTTP %d with Content-Type %q, want application/json", rec.StatusCode, ct)
		}
		var body any
		if err := json.Unmarshal(rec.Response, &body); err != nil {
			return fmt.Errorf("HTTP %d body is not JSON: %v", rec.StatusCode, err)
		}
		if err := doc.Components.Schemas["Error"].Value.VisitJSON(body); err != nil {
			return fmt.Errorf("HTTP %d body is not an Error: %v", rec.StatusCode, err)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.StatusCode,
		Header:                 rec.ResponseHeader,
		Body:                   io.NopCloser(bytes.NewReader(rec.Response)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// validateDepotResponses checks every ETK Depot response srv recorded (200, 400, 404, 500 ...) against
// openapi/etkdepot-v1.yaml with kin-openapi. Injected faults that answer garbage on purpose are left out.
func validateDepotResponses(t *testing.T, srv *ehealthtest.Server) {
	if t.Failed() {
		return
	}
	var recs []ehealthtest.RecordedRequest
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, depotPrefix+"/") || skipInjected(r.Injected) || r.StatusCode == 0 {
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return
	}
	doc, router := depotRouter(t, srv)
	statuses := map[int]int{}
	bad := 0
	for _, r := range recs {
		statuses[r.StatusCode]++
		if err := depotResponseProblem(doc, router, srv.URL, r); err != nil {
			bad++
			t.Errorf("ETK Depot response to %s %s (HTTP %d) does not conform to openapi/etkdepot-v1.yaml: %v\n%s",
				r.Method, r.Path, r.StatusCode, err, r.Response)
		}
	}
	if bad == 0 {
		t.Logf("%d ETK Depot responses conform to openapi/etkdepot-v1.yaml (by status: %v)", len(recs), statuses)
	}
}

// The depot check fails on responses that break the document: a test that passes it has conforming responses.
func TestDepotResponseCheck(t *testing.T) {
	srv := newServer(t)
	doc, router := depotRouter(t, srv)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	errBody := []byte(`{"code":"SOA-03001","message":"Malformed message"}`)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"ETK list", "GET", "/etks", 200, jsonHeader, `[]`, true},
		{"bad request", "GET", "/etks", 400, jsonHeader, string(errBody), true},
		{"unknown kid", "GET", "/pubKeys/cacerts/jwks/S1", 404, jsonHeader, string(errBody), true},
		{"unknown path", "GET", "/nothing", 404, jsonHeader, string(errBody), true},
		{"POST", "POST", "/etks", 405, jsonHeader, string(errBody), true},
		{"ETK list as an object", "GET", "/etks", 200, jsonHeader, `{"keys":[]}`, false},
		{"ETK without value", "GET", "/etks", 200, jsonHeader, `[{"key":{"cbe":"0123456749"}}]`, false},
		{"JWK without kty", "GET", "/pubKeys/cacerts/jwks", 200, jsonHeader, `{"keys":[{"use":"sig"}]}`, false},
		{"undocumented status", "GET", "/etks", 404, jsonHeader, string(errBody), false},
		{"not JSON", "GET", "/keyholders/S1", 200, http.Header{"Content-Type": {"text/plain"}}, `holder`, false},
		{"error not an object", "GET", "/etks", 400, jsonHeader, `"bad"`, false},
		{"unknown path answered 200", "GET", "/nothing", 200, jsonHeader, `[]`, false},
		{"unknown path, body not JSON", "GET", "/nothing", 404, jsonHeader, `not found`, false},
	} {
		rec := ehealthtest.RecordedRequest{Method: tc.method, Path: depotPrefix + tc.path, StatusCode: tc.status,
			ResponseHeader: tc.header, Response: []byte(tc.body)}
		err := depotResponseProblem(doc, router, srv.URL, rec)
		if (err == nil) != tc.ok {
			t.Errorf("%s: conforms %v, want %v (%v)", tc.name, err == nil, tc.ok, err)
		}
	}
}

// Every test server goes through newServer (or registers checkResponses itself): none escapes the response
// checks. The examples are left out: they show NewServer as users call it.
func TestEveryServerIsChecked(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("test files: %v %v", files, err)
	}
	for _, f := range files {
		if f == "helpers_test.go" || strings.HasPrefix(f, "example") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("ehealthtest."+"NewServer(")) {
			t.Errorf("%s calls ehealthtest.NewServer directly; use newServer so that its responses are checked", f)
		}
	}
}
