package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	depotapi "github.com/ehcert/ehcert/gen/etkdepot"
)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("etkdepot-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestDocumentValid: kin-openapi loads the document and validates it, examples and formats included.
func TestDocumentValid(t *testing.T) {
	doc := loadDoc(t)
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var servers []string
	for _, s := range doc.Servers {
		servers = append(servers, s.URL)
	}
	if want := []string{"https://api-acpt.ehealth.fgov.be/etee/v1", "https://api.ehealth.fgov.be/etee/v1"}; !reflect.DeepEqual(servers, want) {
		t.Errorf("servers %v, want %v (FACTS §13)", servers, want)
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = true
			for _, code := range []string{"200", "400", "500"} {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s %s: no %s response", method, path, code)
				}
			}
		}
	}
	for _, want := range []string{"GET /etks", "GET /pubKeys/cacerts/jwks", "GET /pubKeys/cacerts/jwks/{kid}", "GET /keyholders/{kid}"} {
		if !ops[want] {
			t.Errorf("operation %s missing", want)
		}
	}
	if len(ops) != 4 {
		t.Errorf("%d operations, want 4", len(ops))
	}
}

// TestEveryPartNamesItsSource: each operation, parameter, response and schema says where it comes from.
func TestEveryPartNamesItsSource(t *testing.T) {
	doc := loadDoc(t)
	check := func(what string, ext map[string]any) {
		s, _ := ext["x-ehcert-source"].(string)
		if s == "" {
			t.Errorf("%s has no x-ehcert-source", what)
		}
	}
	check("info", doc.Info.Extensions)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			check(method+" "+path, op.Extensions)
			for code, r := range op.Responses.Map() {
				if r.Ref == "" {
					check(method+" "+path+" "+code, r.Value.Extensions)
				}
			}
		}
	}
	for name, p := range doc.Components.Parameters {
		check("parameter "+name, p.Value.Extensions)
	}
	for name, r := range doc.Components.Responses {
		check("response "+name, r.Value.Extensions)
	}
	for name, s := range doc.Components.Schemas {
		check("schema "+name, s.Value.Extensions)
	}
}

func router(t *testing.T, doc *openapi3.T) routers.Router {
	t.Helper()
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func validateRequest(t *testing.T, r routers.Router, req *http.Request) error {
	t.Helper()
	route, params, err := r.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
	})
}

// TestCookbookRequestsValid: the cookbook's and the public clients' URLs are valid requests of the document,
// and malformed ones are not.
func TestCookbookRequestsValid(t *testing.T) {
	doc := loadDoc(t)
	r := router(t, doc)
	for _, tc := range []struct {
		url   string
		valid bool
	}{
		// cookbook §5.2.1.1 and §5.2.2.1 (on the acceptance host)
		{"https://api-acpt.ehealth.fgov.be/etee/v1/etks?identifier=0123456789&type=CBE&applicationIdentifier=appID", true},
		{"https://api-acpt.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=0123456789&type=CBE&applicationIdentifier=appID&use=sig", true},
		// FACTS §13
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=0406798006&type=CBE&applicationIdentifier=UHMEP&use=enc", true},
		{"https://api-acpt.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=71000436&type=NIHII-HOSPITAL&use=sig", true},
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=0406798006&type=CBE&use=enc&date=2024-05-06T07:08:09Z", true},
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks/S5436060553504243135", true},
		{"https://api.ehealth.fgov.be/etee/v1/keyholders/S5436060553504243135", true},
		{"https://api.ehealth.fgov.be/etee/v1/etks?identifier=0123456789&type=cbe", false},        // lower case type
		{"https://api.ehealth.fgov.be/etee/v1/etks?type=CBE", false},                              // no identifier
		{"https://api.ehealth.fgov.be/etee/v1/etks?identifier=01234x&type=CBE", false},            // not digits
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=1&type=CBE", false}, // no use
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=1&type=CBE&use=both", false},
		{"https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=1&type=CBE&use=enc&date=yesterday", false},
		{"https://api.ehealth.fgov.be/etee/v1/etks?identifier=1&type=LEI", false},
	} {
		req := httptest.NewRequest("GET", tc.url, nil)
		err := validateRequest(t, r, req)
		if (err == nil) != tc.valid {
			t.Errorf("%s: valid=%v, want %v (%v)", tc.url, err == nil, tc.valid, err)
		}
	}
}

// exampleJSON returns the named example of an operation's 200 response as JSON.
func exampleJSON(t *testing.T, doc *openapi3.T, path, code, name string) []byte {
	t.Helper()
	resp := doc.Paths.Find(path).Get.Responses.Value(code).Value
	ex := resp.Content.Get("application/json").Examples[name]
	if ex == nil {
		t.Fatalf("%s %s: no example %q", path, code, name)
	}
	b, err := json.Marshal(ex.Value.Value)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, what string, got any, want []byte) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(g, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s does not round-trip:\n got %s\nwant %s", what, g, want)
	}
}

// TestGeneratedClientRoundTrip: the generated client sends requests the document accepts, and decodes the
// cookbook's examples, served from a loopback server, into values that marshal back to the same JSON. Every
// response is checked against the document too.
func TestGeneratedClientRoundTrip(t *testing.T) {
	doc := loadDoc(t)
	etks := exampleJSON(t, doc, "/etks", "200", "cookbook")
	jwks := exampleJSON(t, doc, "/pubKeys/cacerts/jwks", "200", "cookbook")
	holder := exampleJSON(t, doc, "/keyholders/{kid}", "200", "cookbook")
	badRequest := exampleJSON(t, doc, "/etks", "400", "assumed")
	var set struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS example: %v", err)
	}
	jwk := []byte(set.Keys[0])

	var r routers.Router
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// The router matches the document's servers against the absolute URL.
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = "http", req.Host
		if err := validateRequest(t, r, req); err != nil {
			t.Errorf("%s: request not valid for the document: %v", req.URL, err)
		}
		if req.Header.Get("User-Agent") != "myProduct/62.310.4 Technical/3.19.0" || req.Header.Get("From") != "info@mycompany.be" {
			t.Errorf("%s: tracing headers %q %q", req.URL, req.Header.Get("User-Agent"), req.Header.Get("From"))
		}
		var status int
		var body []byte
		switch {
		case req.URL.Path == "/etee/v1/etks" && req.URL.Query().Get("identifier") == "0000000000":
			status, body = 400, badRequest
		case req.URL.Path == "/etee/v1/etks":
			status, body = 200, etks
		case req.URL.Path == "/etee/v1/pubKeys/cacerts/jwks":
			status, body = 200, jwks
		case strings.HasPrefix(req.URL.Path, "/etee/v1/pubKeys/cacerts/jwks/"):
			status, body = 200, jwk
		case strings.HasPrefix(req.URL.Path, "/etee/v1/keyholders/"):
			status, body = 200, holder
		default:
			status, body = 500, []byte(`{"code":"SOA-01001","message":"no such path"}`)
		}
		route, params, _ := r.FindRoute(req)
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 status,
			Header:                 http.Header{"Content-Type": {"application/json"}},
			Body:                   io.NopCloser(bytes.NewReader(body)),
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s: response not valid for the document: %v", req.URL, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	defer srv.Close()
	srvDoc := loadDoc(t)
	srvDoc.Servers = openapi3.Servers{{URL: srv.URL + "/etee/v1"}}
	r = router(t, srvDoc)

	c, err := depotapi.NewClientWithResponses(srv.URL + "/etee/v1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ua, from := "myProduct/62.310.4 Technical/3.19.0", "info@mycompany.be"
	appID := "appID"

	er, err := c.GetEtksWithResponse(ctx, &depotapi.GetEtksParams{Identifier: "0123456789", Type: depotapi.IdentifierTypeCBE,
		ApplicationIdentifier: &appID, UserAgent: &ua, From: &from})
	if err != nil {
		t.Fatal(err)
	}
	if er.JSON200 == nil {
		t.Fatalf("GetEtks: HTTP %d", er.StatusCode())
	}
	jsonEqual(t, "etkInfo array", *er.JSON200, etks)
	if got := (*er.JSON200)[0].Key.AdditionalProperties["cbe"]; got != "0123456789" {
		t.Errorf("key.cbe = %v", got)
	}

	jr, err := c.GetJwksWithResponse(ctx, &depotapi.GetJwksParams{Identifier: "0123456789", Type: depotapi.IdentifierTypeCBE,
		ApplicationIdentifier: &appID, Use: depotapi.KeyUseSig, UserAgent: &ua, From: &from})
	if err != nil || jr.JSON200 == nil {
		t.Fatalf("GetJwks: %v", err)
	}
	jsonEqual(t, "JWK set", *jr.JSON200, jwks)
	if k := jr.JSON200.Keys[0]; k.X5tS256 == nil || *k.X5tS256 != "rV5UMJFfcn_SYdTwxA73US6SyNpnB-ghnqt1UG5TlN8" {
		t.Errorf("x5t#S256 = %v", k.X5tS256)
	}

	kr, err := c.GetJwkWithResponse(ctx, "S5436060553504243135", &depotapi.GetJwkParams{UserAgent: &ua, From: &from})
	if err != nil || kr.JSON200 == nil {
		t.Fatalf("GetJwk: %v", err)
	}
	jsonEqual(t, "JWK", *kr.JSON200, jwk)

	hr, err := c.GetKeyHolderWithResponse(ctx, "S5436060553504243135", &depotapi.GetKeyHolderParams{UserAgent: &ua, From: &from})
	if err != nil || hr.JSON200 == nil {
		t.Fatalf("GetKeyHolder: %v", err)
	}
	jsonEqual(t, "key holder", *hr.JSON200, holder)
	if e := hr.JSON200.Keyholder.Enterprise; e == nil || e.Name == nil || *e.Name != "JohnDoeCompany" {
		t.Errorf("keyholder.enterprise = %+v", e)
	}

	br, err := c.GetEtksWithResponse(ctx, &depotapi.GetEtksParams{Identifier: "0000000000", Type: depotapi.IdentifierTypeCBE, UserAgent: &ua, From: &from})
	if err != nil || br.JSON400 == nil || br.JSON400.Code == nil || *br.JSON400.Code != "SOA-03001" {
		t.Fatalf("400: %v %+v", err, br.JSON400)
	}
	jsonEqual(t, "error body", *br.JSON400, badRequest)
}
