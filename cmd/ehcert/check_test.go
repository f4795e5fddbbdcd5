package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/soap"
)

const (
	day                 = 24 * time.Hour
	checkPassword       = "check-keystore-pw-7f3a"
	certificateValidity = 3 * 365 * day // ehealthtest's default (Options.CertificateValidity)
)

// checkFixture holds keystores made by the flows on a local platform at chosen simulated dates, so that,
// checked now (the binary runs on the real clock), they are CRITICAL, WARNING and OK.
type checkFixture struct {
	p *platform
	// crit: an organisation certificate issued 5 days short of its validity ago (5 days left).
	// warn: a personal certificate issued 45 days short of its validity ago (45 days left).
	// ok: crit renewed now (a new 3-year certificate; the previous entries kept).
	crit, warn, ok string
	deps           *flows.Deps
}

// newCheckFixture creates the keystores in process with flows (Deps.Now on the platform's clock), then sets the
// platform's clock back to the real time for the binary.
func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	clock := ehealthtest.NewClock()
	// The platform's PKI and the test eID are made relative to its clock: set it before the server starts.
	clock.Set(now.Add(-certificateValidity + 5*day))
	p := newPlatform(t, ehealthtest.WithClock(clock), ehealthtest.WithLogf(func(string, ...any) {}))
	eid := p.srv.Citizen()
	deps := &flows.Deps{
		Environment:       p.srv.Environment(),
		SOAP:              &soap.Client{HTTPClient: p.srv.Client()},
		EIDAuthentication: eid.Authentication,
		EIDSignature:      eid.Signature,
		Password:          checkPassword,
		Accept:            func(context.Context, flows.Contract) (bool, error) { return true, nil },
		PollInterval:      -1,
		Now:               clock.Now,
		KDFIterations:     1000,
	}
	contact := flows.Contact{EmailPrivate: "ops@example.test", PhonePrivate: "+32 2 000 00 00"}
	f := &checkFixture{p: p, deps: deps, crit: filepath.Join(t.TempDir(), "crit"), warn: filepath.Join(t.TempDir(), "warn"),
		ok: filepath.Join(t.TempDir(), "ok")}
	org := ehealthtest.DefaultOrganization
	created, err := flows.Create(ctx, flows.DirStore(f.crit), flows.CreateRequest{
		Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID}, Contact: contact}, deps)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(now.Add(-certificateValidity + 45*day))
	if _, err := flows.Create(ctx, flows.DirStore(f.warn), flows.CreateRequest{Contact: contact}, deps); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Now())
	if _, err := flows.Renew(ctx, flows.DirStore(f.ok), flows.RenewRequest{Keystore: created.Keystore}, deps); err != nil {
		t.Fatal(err)
	}
	// The fixture is what the test says it is.
	for dir, left := range map[string]int{f.crit: 5, f.warn: 45, f.ok: 3 * 365} {
		ks, err := keystore.ReadFile(filepath.Join(dir, "keystore.p12"), []byte(checkPassword))
		if err != nil {
			t.Fatal(err)
		}
		e, ok := ks.Authentication()
		if !ok {
			t.Fatalf("%s: no authentication entry", dir)
		}
		got := time.Until(e.Chain[0].NotAfter)
		if got < time.Duration(left-1)*day || got > time.Duration(left)*day {
			t.Fatalf("%s: the certificate expires in %v, want about %d days", dir, got, left)
		}
	}
	return f
}

// check runs "ehcert check" with the platform's flags and the keystore password in the environment.
func (f *checkFixture) check(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return f.p.run(t, append([]string{"EHCERT_KEYSTORE_PASSWORD=" + checkPassword}, env...), append([]string{"check"}, args...)...)
}

// validateReport checks a --json report against expiry.Schema (as expiry's own tests do) and decodes it strictly.
func validateReport(t *testing.T, doc string) *expiry.Report {
	t.Helper()
	var schema openapi3.Schema
	if err := json.Unmarshal(expiry.Schema, &schema); err != nil {
		t.Fatalf("report.schema.json: %v", err)
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("check --json wrote no JSON: %v\n%s", err, doc)
	}
	if err := schema.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableFormatValidation()); err != nil {
		t.Fatalf("the report does not follow report.schema.json: %v\n%s", err, doc)
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var r expiry.Report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("strict decode: %v\n%s", err, doc)
	}
	return &r
}

// TestCheckExitCodes: "ehcert check" on keystores made by the flows at chosen dates reaches each exit code of the
// monitoring convention, online and offline, with JSON that follows the schema; serve-metrics exports the same.
func TestCheckExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs create and renew processes")
	}
	f := newCheckFixture(t)
	workKS := func(dir string) string { return filepath.Join(dir, "keystore.p12") }

	type want struct {
		status   expiry.Status
		inAction string
	}
	cases := []struct {
		name string
		env  []string
		args []string
		want want
	}{
		{"OK online", nil, []string{"--keystore", f.ok, "--online"}, want{expiry.OK, "Nothing to do now"}},
		{"OK offline, a keystore file", nil, []string{"--keystore", workKS(f.ok)}, want{expiry.OK, "Nothing to do now"}},
		{"WARNING online", nil, []string{"--keystore", f.warn, "--online"}, want{expiry.Warning, "ehcert renew --keystore " + workKS(f.warn)}},
		{"WARNING offline", nil, []string{"-w", f.warn}, want{expiry.Warning, "ehcert renew --keystore " + workKS(f.warn)}},
		{"CRITICAL online", nil, []string{"--keystore", f.crit, "--online"}, want{expiry.Critical, ""}},
		{"CRITICAL offline", nil, []string{"--keystore", f.crit}, want{expiry.Critical, "ehcert renew --keystore " + workKS(f.crit)}},
		{"CRITICAL by threshold", nil, []string{"--keystore", f.warn, "--critical-days", "50"}, want{expiry.Critical, ""}},
		{"OK under lower thresholds", nil, []string{"--keystore", f.warn, "--warning-days", "30"}, want{expiry.OK, "ehcert renew"}},
		{"UNKNOWN wrong password", []string{"EHCERT_KEYSTORE_PASSWORD=not-the-password"}, []string{"--keystore", f.ok}, want{expiry.Unknown, "password"}},
		{"UNKNOWN missing keystore", nil, []string{"--keystore", filepath.Join(t.TempDir(), "none.p12")}, want{expiry.Unknown, ""}},
		{"UNKNOWN bad flag", nil, []string{"--keystore", f.ok, "--warning-days", "soon"}, want{expiry.Unknown, "ehcert check --help"}},
		{"UNKNOWN no keystore", nil, nil, want{expiry.Unknown, "ehcert check --help"}},
	}
	days := map[string]int{} // days left of the current authentication entry, by keystore file
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.check(t, tc.env, append([]string{"--json"}, tc.args...)...)
			if r.code != int(tc.want.status) {
				t.Fatalf("exit code %d, want %d (%s):\n%s", r.code, tc.want.status, tc.want.status, r)
			}
			rep := validateReport(t, r.stdout)
			if rep.Status != tc.want.status || rep.ExitCode != r.code {
				t.Errorf("status %s, exit code %d in the report; want %s:\n%s", rep.Status, rep.ExitCode, tc.want.status, r)
			}
			if !strings.Contains(rep.Action, tc.want.inAction) {
				t.Errorf("action %q lacks %q", rep.Action, tc.want.inAction)
			}
			if strings.Contains(r.stdout+r.stderr, checkPassword) {
				t.Errorf("the password is in the output:\n%s", r)
			}
			if r.stderr != "" {
				t.Errorf("check wrote on stderr:\n%s", r)
			}
			for _, it := range rep.Items {
				if it.Kind == expiry.KindAuthentication && it.Current {
					days[rep.Keystore] = it.DaysLeft
				}
			}
		})
	}
	// Online details: the renewed keystore's previous entries are listed and do not count; the old keystore
	// is CRITICAL also because the depot publishes the renewed ETK.
	r := f.check(t, nil, "--keystore", f.ok, "--online", "--json")
	rep := validateReport(t, r.stdout)
	previous := 0
	for _, it := range rep.Items {
		if !it.Current {
			previous++
		}
	}
	if !rep.Online.CertRA || !rep.Online.Depot || rep.CertRA == nil || rep.CertRA.CertificateStatus != "VALID_ACTIVE" ||
		rep.Depot == nil || !rep.Depot.MatchesCurrent || previous != 2 {
		t.Errorf("renewed keystore online: certra %+v depot %+v, %d previous entries", rep.CertRA, rep.Depot, previous)
	}
	r = f.check(t, nil, "--keystore", f.crit, "--online", "--json")
	if rep = validateReport(t, r.stdout); rep.Depot == nil || rep.Depot.MatchesAlias != "" {
		t.Errorf("old keystore online: depot %+v", rep.Depot)
	}

	// The text form: "STATUS: summary", then "Next: ...".
	r = f.check(t, nil, "--keystore", f.warn)
	lines := strings.Split(r.stdout, "\n")
	if r.code != 1 || len(lines) < 2 || !strings.HasPrefix(lines[0], "WARNING: ") ||
		!strings.HasPrefix(lines[1], "Next: ") || !strings.Contains(lines[1], "ehcert renew --keystore") {
		t.Errorf("text output:\n%s", r)
	}

	// No password source and no terminal: UNKNOWN, without prompting.
	r = f.p.run(t, nil, "check", "--keystore", f.ok)
	if r.code != 3 || !strings.HasPrefix(r.stdout, "UNKNOWN: ") || !strings.Contains(r.stdout, "EHCERT_KEYSTORE_PASSWORD") {
		t.Errorf("no password: %s", r)
	}
	// An online check that cannot be made: UNKNOWN, even though the keystore itself is fine.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	r = runCLI(t, []string{"EHCERT_KEYSTORE_PASSWORD=" + checkPassword}, "--env", closed, "--ca-file", f.p.caFile,
		"check", "--keystore", f.ok, "--online", "--json")
	if rep := validateReport(t, r.stdout); r.code != 3 || rep.Status != expiry.Unknown {
		t.Errorf("unreachable platform: exit %d:\n%s", r.code, r)
	}
	// The help says which exit codes mean what.
	if r := runCLI(t, nil, "check", "--help"); r.code != 0 || !strings.Contains(r.stdout, "3 UNKNOWN") {
		t.Errorf("check --help:\n%s", r)
	}

	t.Run("serve-metrics", func(t *testing.T) {
		ks := []string{workKS(f.warn), workKS(f.ok), workKS(f.crit)}
		want := map[string]int{ks[0]: 1, ks[1]: 0, ks[2]: 2}
		metrics := scrapeServeMetrics(t, f, "--keystore", f.warn, "--keystore", f.ok, "--keystore", ks[2], "--online")
		for _, k := range ks {
			s, ok := metrics.get("ehcert_check_status", map[string]string{"keystore": k})
			if !ok || s != float64(want[k]) {
				t.Errorf("ehcert_check_status{keystore=%q} = %v (present %t), want %d", k, s, ok, want[k])
			}
			d, ok := metrics.get("ehcert_certificate_days_to_expiry", map[string]string{"keystore": k, "kind": "authentication", "alias": "authentication", "current": "true"})
			// The checks above ran moments ago; a day boundary may have passed since.
			if !ok || d > float64(days[k]) || d < float64(days[k]-1) {
				t.Errorf("days to expiry of %s: %v (present %t), check said %d", k, d, ok, days[k])
			}
		}
		// The renewed keystore's previous authentication entry is exported as not current.
		if n := metrics.count("ehcert_certificate_days_to_expiry", map[string]string{"keystore": ks[1], "kind": "authentication", "current": "false"}); n != 1 {
			t.Errorf("%d previous authentication entries exported for the renewed keystore, want 1", n)
		}
		// The online checks' calls are counted.
		if n, ok := metrics.get("ehcert_ehealth_calls_total", map[string]string{"operation": "GetCertificateInfoForAuthenticationCertificate"}); !ok || n < 3 {
			t.Errorf("ehcert_ehealth_calls_total for CertRA = %v (present %t), want 3", n, ok)
		}
		if n, ok := metrics.get("ehcert_etkdepot_requests_total", map[string]string{"endpoint": "etks", "status": "200"}); !ok || n < 1 {
			t.Errorf("ehcert_etkdepot_requests_total{endpoint=etks} = %v (present %t)", n, ok)
		}
	})
}

// scraped is one scrape of /metrics: the samples by metric name.
type scraped map[string][]sample

type sample struct {
	labels map[string]string
	value  float64
}

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseMetrics(t *testing.T, text string) scraped {
	t.Helper()
	m := scraped{}
	for _, l := range strings.Split(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		sm := sampleRE.FindStringSubmatch(l)
		if sm == nil {
			t.Fatalf("not a sample line: %q", l)
		}
		s := sample{labels: map[string]string{}}
		for _, lm := range labelRE.FindAllStringSubmatch(sm[2], -1) {
			v, err := strconv.Unquote(`"` + lm[2] + `"`)
			if err != nil {
				t.Fatalf("label in %q: %v", l, err)
			}
			s.labels[lm[1]] = v
		}
		v, err := strconv.ParseFloat(sm[3], 64)
		if err != nil {
			t.Fatalf("value in %q: %v", l, err)
		}
		s.value = v
		m[sm[1]] = append(m[sm[1]], s)
	}
	return m
}

func (m scraped) match(name string, labels map[string]string) []sample {
	var out []sample
	for _, s := range m[name] {
		ok := true
		for k, v := range labels {
			ok = ok && s.labels[k] == v
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// get returns the value of the one sample matching labels.
func (m scraped) get(name string, labels map[string]string) (float64, bool) {
	s := m.match(name, labels)
	if len(s) != 1 {
		return 0, false
	}
	return s[0].value, true
}

func (m scraped) count(name string, labels map[string]string) int { return len(m.match(name, labels)) }

// scrapeServeMetrics starts "ehcert serve-metrics" on a free loopback port, scrapes /metrics once and stops it
// with SIGTERM (it must exit 0).
func scrapeServeMetrics(t *testing.T, f *checkFixture, args ...string) scraped {
	t.Helper()
	all := append(slices.Clone(f.p.args), append([]string{"serve-metrics", "--listen", "127.0.0.1:0"}, args...)...)
	cmd := exec.Command(ehcertBin(t), all...)
	cmd.Env = append(cleanEnv(), "EHCERT_KEYSTORE_PASSWORD="+checkPassword)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var errText bytes.Buffer
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			errText.WriteString(l + "\n")
			if rest, ok := strings.CutPrefix(l, "serving metrics on http://"); ok {
				a, _, _ := strings.Cut(rest, "/")
				addr <- a
			}
		}
		exited <- cmd.Wait()
	}()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve-metrics did not exit 0 on SIGTERM: %v\n%s", err, errText.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve-metrics did not stop on SIGTERM")
		}
	}
	var a string
	select {
	case a = <-addr:
	case err := <-exited:
		t.Fatalf("serve-metrics exited: %v\n%s", err, errText.String())
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("serve-metrics printed no address:\n%s", errText.String())
	}
	if host, _, _ := net.SplitHostPort(a); host != "127.0.0.1" {
		t.Errorf("serving on %s, want loopback", a)
	}
	resp, err := http.Get("http://" + a + "/metrics")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		stop()
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	stop()
	if strings.Contains(string(body), checkPassword) {
		t.Error("the password is in the metrics")
	}
	return parseMetrics(t, string(body))
}

// TestLogs: --log-level debug logs every SOAP exchange of a create process and the ETK Depot requests, as JSON
// records on stderr, without a password, PIN, key or certificate.
func TestLogs(t *testing.T) {
	p := newPlatform(t)
	const ksPassword = "logs-keystore-pw-91c2"
	const pin = "918273" // not used by a software eID; must not appear anyway
	env := []string{"EHCERT_KEYSTORE_PASSWORD=" + ksPassword, "EHCERT_PIN=" + pin}
	work := filepath.Join(t.TempDir(), "wd")
	org := ehealthtest.DefaultOrganization
	r := p.run(t, env, "--log-level", "debug", "--log-format", "json", "create", "--org", org.Type+":"+org.ID,
		"--email", "a@example.org", "--phone", "021234567", "--accept", "--workdir", work, "--poll-interval", "10ms")
	if r.code != 0 {
		t.Fatalf("create:\n%s", r)
	}
	records := jsonRecords(t, r.stderr)
	ops := map[string]map[string]any{}
	steps := 0
	for _, rec := range records {
		switch rec["msg"] {
		case "ehealth call":
			op, _ := rec["operation"].(string)
			ops[op] = rec
			for _, k := range []string{"service", "outcome", "request_id", "http_status", "duration"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("record of %s has no %s: %v", op, k, rec)
				}
			}
		default:
			if _, ok := rec["process"]; ok {
				steps++ // a flows record
			}
		}
	}
	for _, op := range []string{"GetActorQualities", "GenerateContract", "GenerateCertificate", "GetCertificate",
		"StartETKRegistration", "CompleteETKRegistration"} {
		rec, ok := ops[op]
		if !ok {
			t.Errorf("no log record of %s in:\n%s", op, r.stderr)
			continue
		}
		if rec["outcome"] != "ok" || !strings.HasPrefix(fmt.Sprint(rec["request_id"]), "_") {
			t.Errorf("record of %s: %v", op, rec)
		}
	}
	if steps == 0 {
		t.Errorf("no record of the process's steps at debug level:\n%s", r.stderr)
	}
	// The usual output is still there.
	if !strings.Contains(r.stdout, "create: done") {
		t.Errorf("no summary on stdout:\n%s", r)
	}

	// The ETK Depot: one record per request, naming the endpoint and not the holder.
	g := p.run(t, nil, "--log-level", "info", "--log-format", "json", "etk", "get", "--org", org.Type+":"+org.ID)
	if g.code != 0 {
		t.Fatalf("etk get:\n%s", g)
	}
	found := false
	for _, rec := range jsonRecords(t, g.stderr) {
		if rec["msg"] == "etk depot call" {
			found = found || rec["endpoint"] == "etks" && rec["http_status"] == float64(200)
			if b, _ := json.Marshal(rec); bytes.Contains(b, []byte(org.ID)) {
				t.Errorf("the depot record names the holder: %s", b)
			}
		}
	}
	if !found {
		t.Errorf("no record of GET /etks:\n%s", g.stderr)
	}

	// Nothing secret in the logs.
	logs := r.stderr + g.stderr
	secrets := map[string]string{"keystore password": ksPassword, "eID password": testEIDPassword, "PIN": pin,
		"PEM": "-----BEGIN", "private key": "PRIVATE KEY"}
	ks, err := keystore.ReadFile(filepath.Join(work, "keystore.p12"), []byte(ksPassword))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ks.Keys {
		for i, c := range e.Chain {
			secrets[fmt.Sprintf("certificate %s/%d (base64)", e.Alias, i)] = base64.StdEncoding.EncodeToString(c.Raw)[:48]
		}
	}
	secrets["eID certificate (base64)"] = base64.StdEncoding.EncodeToString(p.srv.Citizen().Authentication.Chain()[0].Raw)[:48]
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold the %s", what)
		}
	}
	if m := regexp.MustCompile(`[A-Za-z0-9+/]{80,}={0,2}`).FindString(logs); m != "" {
		t.Errorf("the logs hold a long base64 run (a certificate or key?): %.100s", m)
	}

	// Without --log-level nothing is logged.
	q := p.run(t, nil, "etk", "get", "--org", org.Type+":"+org.ID)
	if q.code != 0 || strings.Contains(q.stderr, "etk depot call") {
		t.Errorf("logs without --log-level:\n%s", q)
	}
}

// jsonRecords returns the JSON log records among the lines of stderr (the others are progress lines).
func jsonRecords(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("record without %s: %s", k, l)
			}
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		t.Fatalf("no JSON log record in:\n%s", stderr)
	}
	return out
}

// TestETKCacheRedis: with --etk-cache-redis, a second ehcert process is answered from Redis without asking the
// depot; with Redis down, the lookup still works and a warning says so.
func TestETKCacheRedis(t *testing.T) {
	bin := testenv.Require(t, "redis-server")
	p := newPlatform(t)
	work := filepath.Join(t.TempDir(), "wd")
	if r := p.run(t, []string{"EHCERT_KEYSTORE_PASSWORD=pw"}, "create", "--email", "a@example.org", "--phone", "021234567",
		"--accept", "--workdir", work, "--poll-interval", "10ms"); r.code != 0 {
		t.Fatalf("create:\n%s", r)
	}
	addr, kill := startRedis(t, bin)
	depotCalls := func() int {
		n := 0
		for _, rq := range p.srv.Requests() {
			if rq.Target == "etks" {
				n++
			}
		}
		return n
	}
	get := func() (result, int) {
		t.Helper()
		before := depotCalls()
		r := p.run(t, nil, "--etk-cache-redis", addr, "etk", "get", "--ssin", ehealthtest.DefaultCitizenSSIN, "--json")
		if r.code != 0 || !strings.Contains(r.stdout, `"valid": true`) {
			t.Fatalf("etk get:\n%s", r)
		}
		return r, depotCalls() - before
	}
	first, n := get()
	if n != 1 {
		t.Errorf("first lookup: %d depot requests, want 1", n)
	}
	second, n := get()
	if n != 0 {
		t.Errorf("second lookup: %d depot requests, want 0 (answered from Redis)", n)
	}
	if second.stdout != first.stdout {
		t.Errorf("the cached answer differs:\n%s\n%s", first.stdout, second.stdout)
	}
	if second.stderr != "" {
		t.Errorf("stderr with Redis up:\n%s", second.stderr)
	}
	kill()
	third, n := get()
	if n != 1 {
		t.Errorf("lookup with Redis down: %d depot requests, want 1", n)
	}
	if !strings.Contains(third.stderr, "Redis is unreachable") || strings.Count(third.stderr, "\n") != 1 {
		t.Errorf("want one warning about Redis:\n%s", third)
	}
}

// startRedis starts a redis-server without persistence on a free loopback port; kill stops it (also at cleanup).
func startRedis(t *testing.T, bin string) (addr string, kill func()) {
	t.Helper()
	for range 5 { // another process may take the free port between the probe and the start
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir(), "--loglevel", "warning")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		kill = func() {
			cmd.Process.Kill()
			<-exited
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			select {
			case <-exited:
			default:
				if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
					c.Close()
					t.Cleanup(kill)
					return addr, kill
				}
				if time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				kill()
			}
			break
		}
		t.Logf("redis-server on %s did not start: %s", addr, out.String())
	}
	t.Fatal("redis-server did not start")
	return "", nil
}
