package etkdepot

// Old clients stay up (issue 9, the REST depot): answers of a later depot version, with JSON members, identifier
// schemes, key types and error codes this version does not know, still give the ETKs and keys it does know, and
// errors stay typed. (TestUnknownJSONMembersIgnored covers unknown members of the objects this client reads; the
// SOAP services: internal/wsdlfix/compat_test.go.)

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

func TestFutureDepotAnswers(t *testing.T) {
	p := getPKI(t)
	known := etkItem("CBE", "0406798006", "", fakeETK("known"))
	known["key"].(map[string]any)["sector"] = map[string]any{"code": 7, "labels": []any{"care"}}
	known["valueFormat"] = "CMS"
	known["alternatives"] = []any{map[string]any{"value": "AAAA", "format": "JWE"}}
	future := map[string]any{ // an ETK identified only by an identifier scheme this version does not know
		"key":   map[string]any{"eori": "BE0406798006"},
		"value": b64(fakeETK("future")),
	}
	good := jwkJSON(t, "k1", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf, p.inter)
	good["key_ops"] = []any{"wrapKey"}
	good["status"] = "active"
	newKty := map[string]any{"kty": "PQC", "alg": "ML-KEM-768", "kid": "k2", "use": "enc", "pub": "AAAA"}
	jwks := mustJSON(t, map[string]any{"keys": []any{newKty, good}, "links": map[string]any{"next": nil}})

	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/etks":
			w.Write(mustJSON(t, []any{future, known}))
		case "/pubKeys/cacerts/jwks":
			w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	})
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Roots: p.roots, Now: newClock(refTime).Now}
	ctx := context.Background()

	entries, err := c.ETKs(ctx, "CBE", "0406798006", "")
	if err != nil || len(entries) != 1 || string(entries[0].ETK) != string(fakeETK("known")) {
		t.Fatalf("ETKs: %v %+v", err, entries)
	}
	set, err := c.JWKS(ctx, Query{Type: "CBE", Value: "0406798006", Use: "enc"})
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	if k, ok := set.Key("k1"); !ok || k.Use != "enc" {
		t.Errorf("the known key: %+v", set.Keys)
	}
	if len(set.Keys) != 1 || len(set.Rejected) != 1 || set.Rejected[0].ID != "k2" {
		t.Errorf("the key of an unknown type should be set aside, with its kid: keys %d, rejected %+v", len(set.Keys), set.Rejected)
	}
}

// Error answers with codes and members this version does not know are still *APIError, with the code and
// message read.
func TestFutureDepotErrors(t *testing.T) {
	for _, tc := range []struct {
		status        int
		body          string
		code, message string
	}{
		{400, `{"code":"ETEE-FUTURE-0042","message":"identifier scheme retired","retryAfter":"PT1H","errors":[{"field":"type"}]}`,
			"ETEE-FUTURE-0042", "identifier scheme retired"},
		{503, `{"type":"urn:ehealth:problem:maintenance","title":"Maintenance","status":503,"detail":"back at 06:00","instance":"/etks","window":{"end":"06:00"}}`,
			"urn:ehealth:problem:maintenance", "back at 06:00"},
	} {
		d := newDepot(t, serveJSON(tc.status, []byte(tc.body)))
		c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
		_, err := c.ETKs(context.Background(), "CBE", "0406798006", "")
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != tc.status || ae.Code != tc.code || ae.Message != tc.message {
			t.Errorf("HTTP %d: %v (%+v)", tc.status, err, ae)
		}
	}
}
