package etkdepot

import (
	"context"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ehcert/ehcert/internal/testenv"
)

// TestRequestsMatchOpenAPI: every request the client sends (query order rewritten, tracing headers, lookup
// time) is valid for openapi/etkdepot-v1.yaml.
func TestRequestsMatchOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(testenv.RepoRoot(t), "openapi", "etkdepot-v1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var checked atomic.Int32
	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		req := r.Clone(r.Context())
		req.URL.Scheme, req.URL.Host = "http", r.Host
		router, err := legacy.NewRouter(doc)
		if err != nil {
			t.Error(err)
			return
		}
		route, params, err := router.FindRoute(req)
		if err == nil {
			err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route})
		}
		if err != nil {
			t.Errorf("%s: %v", r.URL, err)
		}
		checked.Add(1)
		http.Error(w, `{"code":"TEST"}`, 500)
	})
	doc.Servers = openapi3.Servers{{URL: d.URL + "/etee/v1"}}
	p := getPKI(t)
	c := &Client{BaseURL: d.URL + "/etee/v1", ValidateETK: (&recorder{}).validate, Roots: p.roots,
		UserAgent: "myProduct/62.310.4 Technical/3.19.0", From: "info@mycompany.be"}
	ctx := context.Background()
	c.ETKs(ctx, "cbe", "123456789", "appID")
	c.ETKs(ctx, "NIHII-HOSPITAL", "71000436", "")
	c.JWKS(ctx, Query{Type: "CBE", Value: "406798006", ApplicationID: "UHMEP", Use: "enc", At: refTime})
	c.JWKS(ctx, Query{Type: "SSIN", Value: "85010100123", Use: "sig"})
	c.JWK(ctx, "S5436060553504243135")
	c.KeyHolder(ctx, "S5436060553504243135")
	if checked.Load() != 6 {
		t.Errorf("%d requests checked, want 6", checked.Load())
	}
}
