package expiry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/keystore"
)

// validateJSON checks a WriteJSON document against report.schema.json, and decodes it strictly back into a
// Report (no member unknown to the Go type).
func validateJSON(t testing.TB, doc []byte) *expiry.Report {
	t.Helper()
	var schema openapi3.Schema
	if err := json.Unmarshal(expiry.Schema, &schema); err != nil {
		t.Fatalf("report.schema.json: %v", err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("WriteJSON wrote no JSON: %v\n%s", err, doc)
	}
	if err := schema.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableFormatValidation()); err != nil {
		t.Fatalf("the report does not follow report.schema.json: %v\n%s", err, doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var r expiry.Report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	return &r
}

func outputs(t testing.TB, r *expiry.Report) (text string, doc []byte) {
	t.Helper()
	var tb, jb bytes.Buffer
	if err := r.WriteText(&tb); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	return tb.String(), jb.Bytes()
}

// TestExitCodes reaches every exit code with a connector-style keystore read from a file at chosen dates.
func TestExitCodes(t *testing.T) {
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	enc := p.enc(auth)
	path := keystoreFile(t, connectorKeystore(t, p, auth, enc))
	notAfter := auth.cert.NotAfter

	for _, tc := range []struct {
		name      string
		now       time.Time
		password  string
		want      expiry.Status
		daysLeft  int
		open      bool
		inText    []string
		notInText []string
	}{
		{name: "fresh", now: t0.AddDate(0, 1, 0), want: expiry.OK, daysLeft: expiry.DaysLeft(notAfter, t0.AddDate(0, 1, 0)),
			inText: []string{"OK: the eHealth certificate", "Nothing to do now; the replacement period opens on " + notAfter.Add(-expiry.DefaultReplacementPeriod).Format(time.DateOnly)}},
		{name: "warning", now: notAfter.Add(-45 * 24 * time.Hour), want: expiry.Warning, daysLeft: 45, open: true,
			inText: []string{"WARNING: the eHealth authentication certificate expires in 45 days", "Renew it now, the replacement period is open: ehcert renew --keystore '" + path + "'"}},
		{name: "warning-59-days", now: notAfter.Add(-59*24*time.Hour - time.Hour), want: expiry.Warning, daysLeft: 59, open: true},
		{name: "critical", now: notAfter.Add(-5*24*time.Hour + time.Minute), want: expiry.Critical, daysLeft: 4, open: true,
			inText: []string{"CRITICAL: ", "expires in 4 days", "ehcert renew --keystore"}},
		{name: "last-day", now: notAfter.Add(-time.Hour), want: expiry.Critical, daysLeft: 0, open: true},
		{name: "expired", now: notAfter.Add(time.Hour), want: expiry.Critical, daysLeft: -1,
			inText: []string{"expired on " + notAfter.Format(time.DateOnly), "request a new one with ehcert create"}, notInText: []string{"ehcert renew"}},
		{name: "wrong-password", now: t0, password: "not the password", want: expiry.Unknown,
			inText: []string{"UNKNOWN: the password does not open the keystore", "Check the keystore password."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := testPassword
			if tc.password != "" {
				pw = tc.password
			}
			r, err := expiry.Check(context.Background(), expiry.Options{KeystorePath: path, Password: []byte(pw), Now: tc.now})
			if tc.want == expiry.Unknown {
				if !errors.Is(err, keystore.ErrWrongPassword) {
					t.Fatalf("err = %v, want the wrong password", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.want || r.ExitCode != int(tc.want) {
				t.Fatalf("status %v exit %d, want %v; findings %+v", r.Status, r.ExitCode, tc.want, r.Findings)
			}
			text, doc := outputs(t, r)
			back := validateJSON(t, doc)
			if back.Status != tc.want || back.ExitCode != int(tc.want) {
				t.Errorf("JSON status %v", back.Status)
			}
			if strings.Contains(text+string(doc), pw) {
				t.Fatal("the password is in the output")
			}
			for _, s := range tc.inText {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tc.notInText {
				if strings.Contains(text, s) {
					t.Errorf("text has %q:\n%s", s, text)
				}
			}
			if tc.want == expiry.Unknown {
				if len(r.Items) != 0 {
					t.Errorf("items from an unreadable keystore: %+v", r.Items)
				}
				return
			}
			if len(r.Items) != 2 {
				t.Fatalf("%d items, want 2", len(r.Items))
			}
			a, e := r.Items[0], r.Items[1]
			if a.Kind != expiry.KindAuthentication || a.Alias != "authentication" || !a.Current || a.Serial != auth.cert.SerialNumber.String() {
				t.Errorf("authentication item %+v", a)
			}
			if !strings.Contains(a.Subject, "0123456749") || !a.NotAfter.Equal(notAfter) {
				t.Errorf("authentication item %+v", a)
			}
			if a.DaysLeft != tc.daysLeft || a.Expired != (tc.daysLeft < 0) {
				t.Errorf("days left %d expired %v, want %d", a.DaysLeft, a.Expired, tc.daysLeft)
			}
			if a.Replacement == nil || a.Replacement.Open != tc.open || a.Replacement.Source != expiry.SourceEstimated ||
				!a.Replacement.StartsAt.Equal(notAfter.Add(-90*24*time.Hour)) {
				t.Errorf("replacement %+v, want open=%v", a.Replacement, tc.open)
			}
			if e.Kind != expiry.KindEncryption || e.Alias != enc.cert.SerialNumber.String() || !e.Current || e.Serial != e.Alias {
				t.Errorf("encryption item %+v", e)
			}
			if a.Status != tc.want || e.Status != tc.want {
				t.Errorf("item statuses %v %v, want %v", a.Status, e.Status, tc.want)
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	ks := connectorKeystore(t, p, auth, p.enc(auth))
	now := auth.cert.NotAfter.Add(-20 * 24 * time.Hour)
	for _, tc := range []struct {
		warn, crit int
		want       expiry.Status
	}{
		{0, 0, expiry.Warning},    // defaults 60 / 14
		{30, 21, expiry.Critical}, // 20 days left < 21
		{30, 20, expiry.Warning},  // 20 days left is not under 20
		{20, 10, expiry.OK},       // nor under 20
		{-1, -1, expiry.OK},       // disabled
	} {
		r, err := expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: now, WarningDays: tc.warn, CriticalDays: tc.crit})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.want {
			t.Errorf("warn %d crit %d: %v, want %v (%s)", tc.warn, tc.crit, r.Status, tc.want, r.Summary)
		}
	}
	// A warning before the replacement period opens says when to renew.
	now = auth.cert.NotAfter.Add(-100 * 24 * time.Hour)
	r, _ := expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: now, WarningDays: 120})
	want := "Renew it as soon as the replacement period opens on " + auth.cert.NotAfter.Add(-90*24*time.Hour).Format(time.DateOnly) + ": ehcert renew --keystore <keystore file>."
	if r.Status != expiry.Warning || r.Action != want {
		t.Errorf("early warning: %v %q, want %q", r.Status, r.Action, want)
	}
}

// TestRenewedKeystore: the entries kept from before a renewal are listed but do not make the check fail.
func TestRenewedKeystore(t *testing.T) {
	p := newPKI(t)
	oldAuth := p.auth(ehealthSubject("0123456749"), t0)
	oldEnc := p.enc(oldAuth)
	newAuth := p.auth(ehealthSubject("0123456749"), oldAuth.cert.NotAfter.Add(-30*24*time.Hour))
	newEnc := p.enc(newAuth)
	ks := connectorKeystore(t, p, newAuth, newEnc)
	if err := ks.SetKey(keystore.KeyEntry{Alias: "authentication-" + oldAuth.cert.SerialNumber.String(), Key: oldAuth.key, Chain: []*x509.Certificate{oldAuth.cert, p.ca}}); err != nil {
		t.Fatal(err)
	}
	if err := ks.AddEncryptionKey(oldEnc.key, oldEnc.cert); err != nil {
		t.Fatal(err)
	}
	path := keystoreFile(t, ks)
	now := oldAuth.cert.NotAfter.Add(10 * 24 * time.Hour) // the old certificate has expired
	r, err := expiry.Check(context.Background(), expiry.Options{KeystorePath: path, Password: []byte(testPassword), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != expiry.OK {
		t.Fatalf("status %v: %+v", r.Status, r.Findings)
	}
	current := map[string]bool{}
	for _, it := range r.Items {
		current[it.Alias] = it.Current
	}
	want := map[string]bool{
		"authentication": true, newEnc.cert.SerialNumber.String(): true,
		"authentication-" + oldAuth.cert.SerialNumber.String(): false, oldEnc.cert.SerialNumber.String(): false,
	}
	for alias, c := range want {
		if got, ok := current[alias]; !ok || got != c {
			t.Errorf("%s: current %v (present %v), want %v", alias, got, ok, c)
		}
	}
	text, doc := outputs(t, r)
	validateJSON(t, doc)
	if !strings.Contains(text, "Previous entries") || !strings.Contains(text, oldEnc.cert.SerialNumber.String()) {
		t.Errorf("previous entries not listed:\n%s", text)
	}
}

func TestPlaceholderAndMissingETK(t *testing.T) {
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)

	// No encryption key for the certificate: WARNING.
	ks := &keystore.Keystore{}
	if err := ks.SetAuthentication(auth.key, []*x509.Certificate{auth.cert}); err != nil {
		t.Fatal(err)
	}
	r, _ := expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: t0.AddDate(1, 0, 0)})
	if r.Status != expiry.Warning || !strings.Contains(r.Summary, "no encryption key") {
		t.Errorf("no ETK: %v %q", r.Status, r.Summary)
	}

	// A certificate not delivered yet: CRITICAL, and the action says to resume.
	k := newKey(t)
	ph, err := keystore.PlaceholderCertificate(rand.Reader, k, t0)
	if err != nil {
		t.Fatal(err)
	}
	ks = &keystore.Keystore{}
	if err := ks.SetAuthentication(k, []*x509.Certificate{ph}); err != nil {
		t.Fatal(err)
	}
	r, _ = expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: t0})
	if r.Status != expiry.Critical || !strings.Contains(r.Action, "ehcert resume") || !r.Items[0].Placeholder {
		t.Errorf("placeholder: %v %q %+v", r.Status, r.Action, r.Items)
	}
	_, doc := outputs(t, r)
	validateJSON(t, doc)

	// Not an eHealth keystore: UNKNOWN.
	r, _ = expiry.Check(context.Background(), expiry.Options{Keystore: &keystore.Keystore{}, Now: t0})
	if r.Status != expiry.Unknown || r.ExitCode != 3 {
		t.Errorf("empty keystore: %v", r.Status)
	}
	_, doc = outputs(t, r)
	validateJSON(t, doc)
}

func TestWorkDirectory(t *testing.T) {
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	data, err := keystore.Encode(rand.Reader, connectorKeystore(t, p, auth, p.enc(auth)), []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, expiry.WorkDirKeystore), data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := expiry.Check(context.Background(), expiry.Options{KeystorePath: dir, Password: []byte(testPassword), Now: t0})
	if err != nil || r.Status != expiry.OK {
		t.Fatalf("%v %v", err, r.Status)
	}
	if r.Keystore != filepath.Join(dir, expiry.WorkDirKeystore) || !strings.Contains(r.Action, r.Keystore) {
		t.Errorf("keystore %q, action %q", r.Keystore, r.Action)
	}
	// A missing path: UNKNOWN, with an error.
	r, err = expiry.Check(context.Background(), expiry.Options{KeystorePath: filepath.Join(dir, "nope.p12"), Password: []byte(testPassword)})
	if err == nil || r.Status != expiry.Unknown {
		t.Errorf("missing keystore: %v %v", err, r.Status)
	}
}

// TestDepot compares the ETK a loopback depot publishes with the keystore's keys.
func TestDepot(t *testing.T) {
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	enc := p.enc(auth)
	ks := connectorKeystore(t, p, auth, enc)
	other := p.enc(auth) // a key this keystore does not hold

	var published atomic.Value
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/etks" || r.URL.Query().Get("identifier") != "0123456749" || r.URL.Query().Get("type") != "CBE" {
			http.Error(w, `{"code":"SOA-03001"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		raw, _ := published.Load().([]byte)
		if raw == nil {
			w.Write([]byte(`[]`))
			return
		}
		json.NewEncoder(w).Encode([]any{map[string]any{"key": map[string]any{"cbe": "0123456749"}, "value": base64.StdEncoding.EncodeToString(raw)}})
	}))
	defer srv.Close()
	depot := &etkdepot.Client{BaseURL: srv.URL, ValidateETK: func([]byte, etkdepot.Identity) error { return nil }}
	check := func() *expiry.Report {
		t.Helper()
		r, err := expiry.Check(context.Background(), expiry.Options{Keystore: ks, Now: t0.AddDate(1, 0, 0), Depot: depot})
		if err != nil {
			t.Fatal(err)
		}
		_, doc := outputs(t, r)
		validateJSON(t, doc)
		return r
	}

	published.Store(p.etkFor(auth, enc))
	r := check()
	if r.Status != expiry.OK || r.Depot == nil || !r.Depot.Published || r.Depot.MatchesAlias != enc.cert.SerialNumber.String() || !r.Depot.MatchesCurrent {
		t.Fatalf("matching ETK: %v %+v %+v", r.Status, r.Depot, r.Findings)
	}
	if r.Depot.Holder != "CBE=0123456749" || r.Items[1].PublishedInDepot == nil || !*r.Items[1].PublishedInDepot {
		t.Errorf("depot %+v, item %+v", r.Depot, r.Items[1])
	}

	published.Store(p.etkFor(auth, other))
	r = check()
	if r.Status != expiry.Critical || r.Depot.MatchesAlias != "" || !strings.Contains(r.Summary, "is not one of this keystore's keys") {
		t.Fatalf("foreign ETK: %v %+v", r.Status, r.Depot)
	}

	published.Store([]byte(nil))
	r = check()
	if r.Status != expiry.Critical || r.Depot.Published || !strings.Contains(r.Summary, "publishes no ETK") {
		t.Fatalf("no ETK: %v %+v", r.Status, r.Depot)
	}

	// The depot unreachable: UNKNOWN (the dates are fine).
	srv.Close()
	r = check()
	if r.Status != expiry.Unknown || r.Depot.Error == "" {
		t.Fatalf("depot down: %v %+v", r.Status, r.Depot)
	}
	if requests.Load() != 3 {
		t.Errorf("%d depot requests, want 3", requests.Load())
	}
}

func TestStatusText(t *testing.T) {
	for s, want := range map[expiry.Status]string{expiry.OK: "OK", expiry.Warning: "WARNING", expiry.Critical: "CRITICAL", expiry.Unknown: "UNKNOWN"} {
		b, err := s.MarshalText()
		if err != nil || string(b) != want {
			t.Errorf("%d: %q %v", int(s), b, err)
		}
		var back expiry.Status
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip %v: %v", s, err)
		}
	}
	if _, err := expiry.Status(7).MarshalText(); err == nil {
		t.Error("status 7 marshalled")
	}
}

// TestSchemaRejects makes sure the schema validation can fail: documents that break it are refused.
func TestSchemaRejects(t *testing.T) {
	var schema openapi3.Schema
	if err := json.Unmarshal(expiry.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	r, _ := expiry.Check(context.Background(), expiry.Options{Keystore: connectorKeystore(t, p, auth, p.enc(auth)), Now: t0})
	_, doc := outputs(t, r)
	for name, edit := range map[string]func(m map[string]any){
		"bad status":     func(m map[string]any) { m["status"] = "FINE" },
		"missing action": func(m map[string]any) { delete(m, "action") },
		"extra member":   func(m map[string]any) { m["password"] = "x" },
		"bad date":       func(m map[string]any) { m["checkedAt"] = "yesterday" },
		"bad item kind":  func(m map[string]any) { m["items"].([]any)[0].(map[string]any)["kind"] = "signing" },
		"exit code 4":    func(m map[string]any) { m["exitCode"] = 4 },
	} {
		var m map[string]any
		json.Unmarshal(doc, &m)
		edit(m)
		b, _ := json.Marshal(m)
		var v any
		json.Unmarshal(b, &v)
		if err := schema.VisitJSON(v, openapi3.EnableFormatValidation()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
