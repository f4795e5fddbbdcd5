package etkdepot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/internal/testenv"
)

func TestETKsCookbookExample(t *testing.T) {
	// A real test-kit ETK in the shape of the cookbook's §5.2.1.2 example, application id padded with spaces as
	// the cookbook prints it.
	etk, err := os.ReadFile(testenv.Shared(t, "reference/etk-vectors/etk/testkit/alice-2014-sha256.etk"))
	if err != nil {
		t.Fatal(err)
	}
	body := mustJSON(t, []any{map[string]any{
		"key":   map[string]any{"applicationIdentifier": " appID ", "cbe": "0123456789"},
		"value": b64(etk),
	}})
	d := newDepot(t, serveJSON(200, body))
	rec := &recorder{}
	c := &Client{BaseURL: d.URL + "/etee/v1", UserAgent: "myProduct/62.310.4 Technical/3.19.0",
		From: "info@mycompany.be", ValidateETK: rec.validate}

	entries, err := c.ETKs(context.Background(), "CBE", "0123456789", "appID")
	if err != nil {
		t.Fatal(err)
	}
	req := d.lastRequest(t)
	if req.Method != "GET" || req.URL.Path != "/etee/v1/etks" {
		t.Errorf("request %s %s, want GET /etee/v1/etks", req.Method, req.URL.Path)
	}
	// The cookbook's example URL, parameter order included.
	if got, want := req.URL.RawQuery, "identifier=0123456789&type=CBE&applicationIdentifier=appID"; got != want {
		t.Errorf("query %q, want %q", got, want)
	}
	if got := req.Header.Get("User-Agent"); got != "myProduct/62.310.4 Technical/3.19.0" {
		t.Errorf("User-Agent %q", got)
	}
	if got := req.Header.Get("From"); got != "info@mycompany.be" {
		t.Errorf("From %q", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept %q", got)
	}
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	want := Identity{Type: "CBE", Value: "0123456789", ApplicationID: "appID"}
	if e.Identity != want {
		t.Errorf("identity %+v, want %+v", e.Identity, want)
	}
	if !bytes.Equal(e.ETK, etk) {
		t.Error("ETK bytes differ from the file served")
	}
	if e.Stale || e.FetchedAt.IsZero() {
		t.Errorf("Stale %v FetchedAt %v", e.Stale, e.FetchedAt)
	}
	if len(rec.wants) != 1 || rec.wants[0] != want {
		t.Errorf("validator asked for %+v, want [%+v]", rec.wants, want)
	}
}

func TestETKsNormalisesIdentifier(t *testing.T) {
	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Write(mustJSON(t, []any{etkItem(q.Get("type"), q.Get("identifier"), "", fakeETK("x"))}))
	})
	rec := &recorder{}
	c := &Client{BaseURL: d.URL, ValidateETK: rec.validate}
	for _, tc := range []struct{ typ, value, query string }{
		{"cbe", "820563481", "identifier=0820563481&type=CBE"}, // FACTS §13: a CBE stored without its leading zero
		{"SSIN", "85010100123", "identifier=85010100123&type=SSIN"},
		{"nihii", "123", "identifier=00000123&type=NIHII"},
		{"HUB", "1", "identifier=0000000001&type=EHP"}, // HUB is EHP's deprecated alias
		{"NIHII-HOSPITAL", "71000436", "identifier=71000436&type=NIHII-HOSPITAL"},
	} {
		entries, err := c.ETKs(context.Background(), tc.typ, tc.value, "")
		if err != nil {
			t.Errorf("%s %s: %v", tc.typ, tc.value, err)
			continue
		}
		if got := d.lastRequest(t).URL.RawQuery; got != tc.query {
			t.Errorf("%s %s: query %q, want %q", tc.typ, tc.value, got, tc.query)
		}
		if len(entries) != 1 {
			t.Errorf("%s: %d entries", tc.typ, len(entries))
		}
	}

	before := d.count.Load()
	_, err := c.ETKs(context.Background(), "LEI", "123", "")
	var ute *ehealth.UnknownIdentifierTypeError
	if !errors.As(err, &ute) {
		t.Errorf("unknown type: %v, want *ehealth.UnknownIdentifierTypeError", err)
	}
	_, err = c.ETKs(context.Background(), "CBE", "12a", "")
	var iie *ehealth.InvalidIdentifierError
	if !errors.As(err, &iie) {
		t.Errorf("bad value: %v, want *ehealth.InvalidIdentifierError", err)
	}
	_, err = c.ETKs(context.Background(), "CBE", "123456789012", "")
	if !errors.As(err, &iie) {
		t.Errorf("too long: %v, want *ehealth.InvalidIdentifierError", err)
	}
	_, err = c.ETKs(context.Background(), "CBE", "1", "APP&use=x")
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Errorf("odd app id: %v, want *QueryError", err)
	}
	if got := d.count.Load() - before; got != 0 {
		t.Errorf("%d requests for invalid lookups", got)
	}
}

func TestETKsMultipleMatchesAndSelect(t *testing.T) {
	body := mustJSON(t, []any{
		etkItem("cbe", "0406798006", "", fakeETK("default")),
		etkItem("cbe", "0406798006", "UHMEP", fakeETK("uhmep-1")),
		etkItem("cbe", "0406798006", "uhmep", fakeETK("uhmep-2")),
		etkItem("cbe", "0406798006", "OTHER", fakeETK("other")),
	})
	d := newDepot(t, serveJSON(200, body))
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	entries, err := c.ETKs(context.Background(), "CBE", "406798006", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("%d entries, want all 4", len(entries))
	}
	e, err := Select(entries, "")
	if err != nil || !bytes.Equal(e.ETK, fakeETK("default")) {
		t.Errorf("Select(\"\") = %q, %v", e.ETK, err)
	}
	e, err = Select(entries, "other")
	if err != nil || e.ApplicationID != "OTHER" {
		t.Errorf("Select(other) = %+v, %v", e.Identity, err)
	}
	_, err = Select(entries, "UHMEP")
	var ae *AmbiguousError
	if !errors.As(err, &ae) || len(ae.Candidates) != 2 {
		t.Errorf("Select(UHMEP) = %v, want *AmbiguousError with 2 candidates", err)
	}
	_, err = Select(entries, "NOPE")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Select(NOPE) = %v, want ErrNotFound", err)
	}
}

func TestETKsRejectsWhatIsNotAsked(t *testing.T) {
	good := etkItem("cbe", "0406798006", "", fakeETK("good"))
	other := etkItem("cbe", "0999999999", "", fakeETK("other holder"))
	ssin := etkItem("ssin", "85010100123", "", fakeETK("a person"))
	wrongApp := etkItem("cbe", "0406798006", "NOTASKED", fakeETK("wrong app"))
	badB64 := map[string]any{"key": map[string]any{"cbe": "0406798006"}, "value": "!!!not base64!!!"}
	invalid := etkItem("cbe", "0406798006", "", []byte("not a CMS structure"))
	noID := map[string]any{"key": map[string]any{"applicationIdentifier": "X"}, "value": b64(fakeETK("no id"))}

	d := newDepot(t, serveJSON(200, mustJSON(t, []any{other, ssin, badB64, invalid, noID, good})))
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	entries, err := c.ETKs(context.Background(), "CBE", "0406798006", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !bytes.Equal(entries[0].ETK, fakeETK("good")) {
		t.Fatalf("entries %+v, want only the good one", entries)
	}

	// Nothing acceptable: a *RejectedError listing every reason.
	d.setHandler(serveJSON(200, mustJSON(t, []any{other, ssin, badB64, invalid, noID})))
	_, err = c.ETKs(context.Background(), "CBE", "406798006", "")
	var re *RejectedError
	if !errors.As(err, &re) || len(re.Rejections) != 5 {
		t.Fatalf("err %v, want *RejectedError with 5 rejections", err)
	}
	var me *MismatchError
	if !errors.As(err, &me) || me.Got.Value != "0999999999" {
		t.Errorf("first mismatch %+v", me)
	}
	if !errors.As(re.Rejections[1].Err, &me) || me.Got.Type != "SSIN" {
		t.Errorf("rejection 1: %v, want SSIN mismatch", re.Rejections[1].Err)
	}
	var de *DecodeError
	if !errors.As(re.Rejections[2].Err, &de) {
		t.Errorf("rejection 2: %v, want *DecodeError", re.Rejections[2].Err)
	}
	if re.Rejections[3].Err != errNotCMS {
		t.Errorf("rejection 3: %v, want the validator's error", re.Rejections[3].Err)
	}
	if !errors.As(re.Rejections[4].Err, &de) {
		t.Errorf("rejection 4: %v, want *DecodeError", re.Rejections[4].Err)
	}

	// An application id was asked: an entry for another one is refused.
	d.setHandler(serveJSON(200, mustJSON(t, []any{wrongApp})))
	_, err = c.ETKs(context.Background(), "CBE", "406798006", "UHMEP")
	if !errors.As(err, &me) || me.Got.ApplicationID != "NOTASKED" {
		t.Errorf("wrong app: %v", err)
	}
}

func TestETKsNeedsValidator(t *testing.T) {
	d := newDepot(t, serveJSON(200, []byte("[]")))
	c := &Client{BaseURL: d.URL}
	if _, err := c.ETKs(context.Background(), "CBE", "1", ""); !errors.Is(err, ErrNoETKValidator) {
		t.Errorf("err %v, want ErrNoETKValidator", err)
	}
	if d.count.Load() != 0 {
		t.Error("a request was sent without a validator")
	}
}

func TestETKsEmptyAnswer(t *testing.T) {
	d := newDepot(t, serveJSON(200, []byte("[]")))
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	if _, err := c.ETKs(context.Background(), "CBE", "1", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name            string
		status          int
		body            string
		code, message   string
		notFound, tempo bool
	}{
		{"400 eHealth", 400, `{"code":"SOA-03001","message":"Malformed message"}`, "SOA-03001", "Malformed message", false, false},
		{"500 problem", 500, `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"database down"}`, "about:blank", "database down", false, true},
		{"503 html", 503, "<html><body><h1>503 Service Unavailable</h1></body></html>", "", "", false, true},
		{"404", 404, "", "", "", true, false},
		{"400 unknown json", 400, `{"error":{"nested":true}}`, "", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDepot(t, serveJSON(tc.status, []byte(tc.body)))
			c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
			_, err := c.ETKs(context.Background(), "CBE", "1", "")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %v, want *APIError", err)
			}
			if ae.StatusCode != tc.status || ae.Code != tc.code || ae.Message != tc.message {
				t.Errorf("got %d %q %q, want %d %q %q", ae.StatusCode, ae.Code, ae.Message, tc.status, tc.code, tc.message)
			}
			if string(ae.Body) != tc.body {
				t.Errorf("body %q", ae.Body)
			}
			if ae.Op != "GET /etks" {
				t.Errorf("op %q", ae.Op)
			}
			if errors.Is(err, ErrNotFound) != tc.notFound || ae.Temporary() != tc.tempo {
				t.Errorf("NotFound %v Temporary %v", errors.Is(err, ErrNotFound), ae.Temporary())
			}
		})
	}

	// A long error body is cut.
	long := strings.Repeat("x", 100000)
	d := newDepot(t, serveJSON(500, []byte(long)))
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	_, err := c.ETKs(context.Background(), "CBE", "1", "")
	var ae *APIError
	if !errors.As(err, &ae) || len(ae.Body) != 512 || len(err.Error()) > 200 {
		t.Errorf("long body: %d bytes kept, error text %d bytes", len(ae.Body), len(err.Error()))
	}
}

func TestResponseTooLarge(t *testing.T) {
	const tenMB = 10 << 20
	chunk := bytes.Repeat([]byte("A"), 32<<10)
	stream := func(withLength bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if withLength {
				w.Header().Set("Content-Length", fmt.Sprint(tenMB))
			}
			w.Write([]byte(`[{"key":{"cbe":"0000000001"},"value":"`))
			for n := 0; n < tenMB; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	}
	for _, withLength := range []bool{false, true} {
		t.Run(fmt.Sprintf("content-length=%v", withLength), func(t *testing.T) {
			d := newDepot(t, stream(withLength))
			c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := c.ETKs(context.Background(), "CBE", "1", "")
			runtime.ReadMemStats(&after)
			var tl *ResponseTooLargeError
			if !errors.As(err, &tl) || tl.Limit != DefaultMaxResponseBytes {
				t.Fatalf("err %v, want *ResponseTooLargeError with the default limit", err)
			}
			// Reading the whole 10 MB would allocate at least 10 MB; the client stops after the 1 MiB limit.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 5<<20 {
				t.Errorf("allocated %d bytes for a refused 10 MB response", alloc)
			}
		})
	}

	// A configured limit applies.
	d := newDepot(t, serveJSON(200, mustJSON(t, []any{etkItem("cbe", "0000000001", "", fakeETK(strings.Repeat("e", 2000)))})))
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, MaxResponseBytes: 1000}
	var tl *ResponseTooLargeError
	if _, err := c.ETKs(context.Background(), "CBE", "1", ""); !errors.As(err, &tl) || tl.Limit != 1000 {
		t.Errorf("err %v, want *ResponseTooLargeError{Limit: 1000}", err)
	}
}

func TestUnknownJSONMembersIgnored(t *testing.T) {
	p := getPKI(t)
	// An answer from a newer depot: members this client does not know, at every level.
	etks := mustJSON(t, []any{map[string]any{
		"key":      map[string]any{"cbe": "0406798006", "applicationIdentifier": "UHMEP", "region": 3, "tags": []any{"a"}},
		"value":    b64(fakeETK("new")),
		"created":  "2025-01-01T00:00:00Z",
		"metadata": map[string]any{"v": 2},
	}})
	key := jwkJSON(t, "k1", "enc", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf, p.inter)
	key["alg"] = "RSA-OAEP-256"
	key["future"] = map[string]any{"x": []any{1, 2}}
	key["x5t"] = "" // empty optional member
	delete(key, "x5t")
	set := map[string]any{"keys": []any{key}, "next": "cursor", "version": 7}
	holder := map[string]any{
		"aud": "public", "iss": "urn:be:fgov:ehealth:etee:etkdepot", "exp": 1568814875, "iat": 1568811275,
		"jti": "j", "nbf": 1568811275, "scope": []any{"x"},
		"keyholder": map[string]any{"enterprise": map[string]any{"cbe": "0406798006", "name": "ACME", "since": 2019}},
	}
	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/etks":
			w.Write(etks)
		case r.URL.Path == "/pubKeys/cacerts/jwks":
			w.Write(mustJSON(t, set))
		case strings.HasPrefix(r.URL.Path, "/keyholders/"):
			w.Write(mustJSON(t, holder))
		default:
			http.NotFound(w, r)
		}
	})
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Roots: p.roots, Now: newClock(refTime).Now}
	ctx := context.Background()
	entries, err := c.ETKs(ctx, "CBE", "0406798006", "UHMEP")
	if err != nil || len(entries) != 1 {
		t.Fatalf("ETKs: %v, %d entries", err, len(entries))
	}
	s, err := c.JWKS(ctx, Query{Type: "CBE", Value: "0406798006", Use: "enc"})
	if err != nil || len(s.Keys) != 1 || s.Keys[0].Algorithm != "RSA-OAEP-256" {
		t.Fatalf("JWKS: %v %+v", err, s)
	}
	h, err := c.KeyHolder(ctx, "k1")
	if err != nil || h.Name != "ACME" || h.Value != "0406798006" {
		t.Fatalf("KeyHolder: %v %+v", err, h)
	}
}

func TestKeyHolderCookbookExample(t *testing.T) {
	body := []byte(`{
   "aud": "public",
   "keyholder": {"enterprise": {
      "cbe": "0123456789",
      "name": "JohnDoeCompany"
   }},
   "iss": "urn:be:fgov:ehealth:etee:etkdepot",
   "exp": 1568814875,
   "iat": 1568811275,
   "jti": "2085bd23-7da1-4bcc-98c7-60ffea7c6146"
}`)
	d := newDepot(t, serveJSON(200, body))
	clk := newClock(time.Unix(1568811275, 0))
	c := &Client{BaseURL: d.URL + "/etee/v1", Cache: NewMemoryCache(0), Now: clk.Now}
	h, err := c.KeyHolder(context.Background(), "S5436060553504243135")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.lastRequest(t).URL.Path; got != "/etee/v1/keyholders/S5436060553504243135" {
		t.Errorf("path %q", got)
	}
	want := KeyHolder{
		Kind: "enterprise", Identity: Identity{Type: "CBE", Value: "0123456789"}, Name: "JohnDoeCompany",
		Audience: "public", Issuer: "urn:be:fgov:ehealth:etee:etkdepot", ID: "2085bd23-7da1-4bcc-98c7-60ffea7c6146",
		IssuedAt: time.Unix(1568811275, 0).UTC(), Expires: time.Unix(1568814875, 0).UTC(), FetchedAt: clk.Now(),
	}
	if *h != want {
		t.Errorf("got  %+v\nwant %+v", *h, want)
	}

	// Cached until exp (one hour), although the TTL is 8 h.
	clk.Advance(59 * time.Minute)
	if _, err := c.KeyHolder(context.Background(), "S5436060553504243135"); err != nil || d.count.Load() != 1 {
		t.Errorf("before exp: %v, %d requests", err, d.count.Load())
	}
	clk.Advance(2 * time.Minute)
	if _, err := c.KeyHolder(context.Background(), "S5436060553504243135"); err != nil || d.count.Load() != 2 {
		t.Errorf("after exp: %v, %d requests, want 2", err, d.count.Load())
	}

	// A kind of holder the cookbook does not show.
	d.setHandler(serveJSON(200, []byte(`{"keyholder":{"person":{"ssin":"85010100123","name":"Doe John"}}}`)))
	h, err = c.KeyHolder(context.Background(), "other")
	if err != nil || h.Kind != "person" || h.Type != "SSIN" || h.Value != "85010100123" || h.Name != "Doe John" {
		t.Errorf("person: %v %+v", err, h)
	}
	d.setHandler(serveJSON(200, []byte(`{"keyholder":{}}`)))
	var de *DecodeError
	if _, err := c.KeyHolder(context.Background(), "none"); !errors.As(err, &de) {
		t.Errorf("no holder: %v, want *DecodeError", err)
	}
}

func TestTracingHeadersChecked(t *testing.T) {
	d := newDepot(t, serveJSON(200, []byte("[]")))
	for _, c := range []*Client{
		{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, UserAgent: "no version"},
		{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, UserAgent: "a/1  b/2"},
		{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, From: "John <john@example.be>"},
		{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, From: "not an address"},
	} {
		var qe *QueryError
		if _, err := c.ETKs(context.Background(), "CBE", "1", ""); !errors.As(err, &qe) {
			t.Errorf("UA %q From %q: %v, want *QueryError", c.UserAgent, c.From, err)
		}
	}
	if d.count.Load() != 0 {
		t.Error("a request was sent with invalid tracing headers")
	}
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate}
	c.ETKs(context.Background(), "CBE", "1", "")
	if got := d.lastRequest(t).Header.Get("User-Agent"); got != DefaultUserAgent {
		t.Errorf("default User-Agent %q", got)
	}
	if _, ok := d.lastRequest(t).Header["From"]; ok {
		t.Error("From sent although empty")
	}
}

func TestCancelledContext(t *testing.T) {
	release := make(chan struct{})
	d := newDepot(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := &Client{BaseURL: d.URL, ValidateETK: (&recorder{}).validate, Cache: NewMemoryCache(0)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for d.count.Load() == 0 {
			runtime.Gosched()
		}
		cancel()
	}()
	_, err := c.ETKs(ctx, "CBE", "1", "")
	if err != context.Canceled {
		t.Errorf("err %v, want context.Canceled itself", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.ETKs(ctx, "CBE", "1", ""); err != context.Canceled {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestTransportErrorWrapsCause(t *testing.T) {
	d := newDepot(t, serveJSON(200, []byte("[]")))
	base := d.URL
	d.Close()
	c := &Client{BaseURL: base, ValidateETK: (&recorder{}).validate}
	_, err := c.ETKs(context.Background(), "CBE", "1", "")
	var te *transportError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "GET /etks") {
		t.Errorf("err %v, want a transport error naming the operation", err)
	}
	// The URL (whose query holds the identifier) stays out of the text, but not out of reach.
	var ue *url.Error
	if strings.Contains(err.Error(), "0000000001") || !errors.As(err, &ue) || !strings.Contains(ue.URL, "identifier=0000000001") {
		t.Errorf("error text %q", err)
	}
}

func TestJWKSURL(t *testing.T) {
	c := &Client{BaseURL: ProductionURL}
	got, err := c.JWKSURL(Query{Type: "cbe", Value: "406798006", ApplicationID: "UHMEP", Use: "enc"})
	// The URL the NIHDI pseudonymisation libraries use as jku (FACTS §13).
	want := "https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=0406798006&type=CBE&applicationIdentifier=UHMEP&use=enc"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	got, _ = (&Client{}).JWKSURL(Query{Type: "NIHII-HOSPITAL", Value: "71000436", Use: "sig", At: time.Date(2024, 5, 6, 7, 8, 9, 500, time.FixedZone("CEST", 7200))})
	want = AcceptanceURL + "/pubKeys/cacerts/jwks?identifier=71000436&type=NIHII-HOSPITAL&use=sig&date=2024-05-06T05%3A08%3A09Z"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	var qe *QueryError
	if _, err := c.JWKSURL(Query{Type: "CBE", Value: "1", Use: "both"}); !errors.As(err, &qe) {
		t.Errorf("use both: %v", err)
	}
}

func TestDecodeBase64Forms(t *testing.T) {
	raw := []byte{0x30, 0x80, 0xff, 0xfe, 0x01}
	for _, s := range []string{"MID//gE=", "MID//gE", "MID/\r\n/gE=", " MID//gE= "} {
		got, err := decodeBase64(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%q: %x, %v", s, got, err)
		}
	}
	if _, err := decodeBase64("MID_-gE="); err == nil {
		t.Error("base64url accepted for a standard base64 member")
	}
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return strings.Trim(string(out), `"`)
}

func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&APIError{Op: "GET /etks", StatusCode: 400, Code: "SOA-03001", Message: "Malformed\nmessage"}, "etkdepot: GET /etks: HTTP 400 SOA-03001: Malformed message"},
		{&ResponseTooLargeError{Op: "GET /etks", Limit: 10}, "etkdepot: GET /etks: response larger than the limit of 10 bytes"},
		{&DecodeError{Op: "cache", Reason: "bad", Err: errors.New("eof")}, "etkdepot: cache: bad: eof"},
		{&QueryError{Field: "use", Value: "x", Reason: "bad"}, `etkdepot: invalid use "x": bad`},
		{&MismatchError{Want: Identity{Type: "CBE", Value: "1"}, Got: Identity{Type: "CBE", Value: "2", ApplicationID: "A"}}, "etkdepot: answer is for CBE=2,A, not CBE=1"},
		{&RejectedError{Op: "op", Rejections: []Rejection{{0, "a", errors.New("x")}, {1, "b", errors.New("y")}, {2, "c", errors.New("z")}, {3, "d", errors.New("w")}}},
			"etkdepot: op: all 4 item(s) of the answer refused; item 0 (a): x; item 1 (b): y; item 2 (c): z; and 1 more"},
		{&AmbiguousError{ApplicationID: "A", Candidates: []Entry{{Identity: Identity{Type: "CBE", Value: "1", ApplicationID: "A"}}, {Identity: Identity{Type: "CBE", Value: "1", ApplicationID: "a"}}}},
			`etkdepot: 2 ETKs match application id "A": CBE=1,A, CBE=1,a`},
		{&UnknownKeyError{KID: strings.Repeat("k", 100)}, `etkdepot: no key with kid "` + strings.Repeat("k", 80) + `…" in the JWK set`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestJWKSNotASet(t *testing.T) {
	p := getPKI(t)
	d := newDepot(t, serveJSON(200, []byte(`{"foo":1}`)))
	c := &Client{BaseURL: d.URL, Roots: p.roots}
	var de *DecodeError
	if _, err := c.JWKS(context.Background(), Query{Type: "CBE", Value: "1", Use: "sig"}); !errors.As(err, &de) || de.Op != "GET /pubKeys/cacerts/jwks" {
		t.Errorf("err %v, want *DecodeError of the operation", err)
	}
	var re *RejectedError
	if _, err := c.JWK(context.Background(), "k"); !errors.As(err, &re) || re.Op != "GET /pubKeys/cacerts/jwks/{kid}" {
		t.Errorf("err %v, want *RejectedError of the operation", err)
	}
	d.setHandler(serveJSON(200, []byte(`[]`)))
	if _, err := c.JWK(context.Background(), "k2"); !errors.As(err, &de) || de.Op != "GET /pubKeys/cacerts/jwks/{kid}" {
		t.Errorf("err %v, want *DecodeError of the operation", err)
	}
}
