package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/internal/testenv"
)

// The tests below run the ehcert binary, built once per test run.
var (
	buildOnce sync.Once
	binPath   string
	binErr    error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ehcertBin builds cmd/ehcert with go build -o into a temporary directory.
func ehcertBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "ehcert-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ehcert")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary with args and environment additions, and returns its exit code and output.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ehcertBin(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ehcert %v: %v", args, err)
	}
	return r
}

// cleanEnv is the environment without EHCERT_ variables of the caller.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "EHCERT_") {
			env = append(env, e)
		}
	}
	return env
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// platform is an in-process ehealthtest server and what the binary needs to reach it.
type platform struct {
	srv     *ehealthtest.Server
	caFile  string
	eidFile string
	args    []string
}

const testEIDPassword = "test-eid-password"

func newPlatform(t *testing.T, opts ...ehealthtest.Option) *platform {
	t.Helper()
	srv := ehealthtest.NewServer(t, opts...)
	dir := t.TempDir()
	p := &platform{srv: srv, caFile: filepath.Join(dir, "root.pem"), eidFile: filepath.Join(dir, "eid.p12")}
	if err := os.WriteFile(p.caFile, append(srv.RootsPEM(), srv.TLSRootsPEM()...), 0o600); err != nil {
		t.Fatal(err)
	}
	p12, err := srv.Citizen().ToPKCS12(testEIDPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.eidFile, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	p.args = []string{"--env", srv.URL, "--ca-file", p.caFile, "--eid-p12", p.eidFile}
	return p
}

func (p *platform) run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCLI(t, append([]string{"EHCERT_EID_PASSWORD=" + testEIDPassword}, env...), append(slices.Clone(p.args), args...)...)
}

// TestDemo runs "ehcert demo" and checks its trace: every operation, XSD-valid requests, verifiable signatures.
func TestDemo(t *testing.T) {
	work := filepath.Join(t.TempDir(), "demo")
	trace := filepath.Join(t.TempDir(), "trace")
	r := runCLI(t, nil, "demo", "--workdir", work, "--trace-dir", trace)
	if r.code != 0 {
		t.Fatalf("demo failed:\n%s", r)
	}
	if !strings.Contains(r.stdout, "ehcert demo: done") {
		t.Errorf("no summary:\n%s", r)
	}
	for _, f := range []string{"create/keystore.p12", "create/etk.der", "renew/keystore.p12", "revoke/process.json",
		"foreigner/keystore.p12", "simulator/root.pem", "simulator/citizen-eid.p12"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("demo did not create %s: %v", f, err)
		}
	}

	entries, err := os.ReadDir(trace)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	nameRE := regexp.MustCompile(`^(\d{3})-([A-Za-z]+)(-request\.xml|-response\.xml|-response\.json|\.http)$`)
	seen := map[string]int{}
	for n := range names {
		m := nameRE.FindStringSubmatch(n)
		if m == nil {
			t.Errorf("unexpected trace file %s", n)
			continue
		}
		if m[3] == ".http" {
			seen[m[2]]++
		}
	}
	for _, op := range ehealth.Operations() {
		if seen[op.Name] == 0 {
			t.Errorf("the trace has no %s exchange", op.Name)
		}
	}
	for _, ep := range []string{"etks", "jwks", "jwk", "keyholder"} {
		if seen[ep] == 0 {
			t.Errorf("the trace has no %s exchange", ep)
		}
	}
	// Every exchange has its files.
	for n := range names {
		if prefix, ok := strings.CutSuffix(n, ".http"); ok {
			soap := !slices.Contains([]string{"etks", "jwks", "jwk", "keyholder"}, nameRE.FindStringSubmatch(n)[2])
			want := []string{prefix + "-response.json"}
			if soap {
				want = []string{prefix + "-request.xml", prefix + "-response.xml"}
			}
			for _, w := range want {
				if !names[w] {
					t.Errorf("trace has %s but not %s", n, w)
				}
			}
			b, _ := os.ReadFile(filepath.Join(trace, n))
			if !bytes.Contains(b, []byte("200 OK")) {
				t.Errorf("%s: not a 200 exchange:\n%s", n, b)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("XSD", func(t *testing.T) {
		testenv.Require(t, "xmllint")
		for n := range names {
			if !strings.HasSuffix(n, "-request.xml") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(trace, n))
			if err != nil {
				t.Fatal(err)
			}
			if msg := testenv.ValidateXSD(t, b); msg != "" {
				t.Errorf("%s does not validate against the official XSDs:\n%s", n, msg)
			}
		}
	})
	t.Run("xmlsec1", func(t *testing.T) {
		xmlsec := testenv.Require(t, "xmlsec1")
		root := filepath.Join(work, "simulator", "root.pem")
		signed := 0
		for n := range names {
			if !strings.HasSuffix(n, "-request.xml") {
				continue
			}
			path := filepath.Join(trace, n)
			b, _ := os.ReadFile(path)
			if !bytes.Contains(b, []byte("http://www.w3.org/2000/09/xmldsig#")) {
				continue
			}
			signed++
			local, instant := rootOf(t, b)
			// Certificates issued after the demo moved the simulator's clock are checked at the request's time.
			at := instant.Local().Format("2006-01-02 15:04:05")
			out, err := exec.Command(xmlsec, "--verify", "--trusted-pem", root, "--id-attr:Id", local,
				"--verification-time", at, path).CombinedOutput()
			if err != nil {
				t.Errorf("xmlsec1 does not verify %s: %v\n%s", n, err, out)
			}
		}
		// GetActorQualities, GenerateCertificate x2, GetCertificateInfoForCitizen, ...ForAuthenticationCertificate
		// x2, StartETKRegistration x3, CompleteETKRegistration x3, ActivateETK, Revoke at least.
		if signed < 10 {
			t.Errorf("only %d signed requests in the trace", signed)
		}
	})
}

// rootOf returns the local name and IssueInstant of a request's root element.
func rootOf(t *testing.T, doc []byte) (string, time.Time) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no root element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "IssueInstant" {
					ts, err := time.Parse(time.RFC3339Nano, a.Value)
					if err != nil {
						t.Fatalf("IssueInstant %q: %v", a.Value, err)
					}
					return se.Name.Local, ts
				}
			}
			t.Fatalf("%s has no IssueInstant", se.Name.Local)
		}
	}
}

// simulator runs "ehcert simulator" and returns its base URL and state directory.
func startSimulator(t *testing.T, extra ...string) (url, state string) {
	t.Helper()
	state = filepath.Join(t.TempDir(), "sim")
	cmd := exec.Command(ehcertBin(t), append([]string{"simulator", "--state-dir", state, "--quiet"}, extra...)...)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("simulator did not stop on SIGTERM")
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("simulator printed nothing: %s", stderr.String())
	}
	url = lines.Text()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("first line of simulator output is %q, want the base URL", url)
	}
	go io.Copy(io.Discard, stdout)
	for _, f := range []string{"root.pem", "citizen-eid.p12", "citizen-eid.password"} {
		if _, err := os.Stat(filepath.Join(state, f)); err != nil {
			t.Fatalf("simulator did not write %s: %v", f, err)
		}
	}
	return url, state
}

// TestSimulatorCreateKillResume kills "ehcert create" while it waits for the certificate and resumes it.
func TestSimulatorCreateKillResume(t *testing.T) {
	url, state := startSimulator(t, "--issue-delay", "3s")
	pw, err := os.ReadFile(filepath.Join(state, "citizen-eid.password"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "EHCERT_EID_PASSWORD="+strings.TrimSpace(string(pw)), "EHCERT_KEYSTORE_PASSWORD=keystore-pw")
	common := []string{"--env", url, "--ca-file", filepath.Join(state, "root.pem"), "--eid-p12", filepath.Join(state, "citizen-eid.p12")}
	work := filepath.Join(t.TempDir(), "wd")

	cmd := exec.Command(ehcertBin(t), append(common, "create", "--org", "CBE:0123456749", "--email", "a@example.org",
		"--phone", "021234567", "--accept", "--workdir", work, "--poll-interval", "100ms")...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the CSR was accepted and it waits for the certificate.
	deadline := time.Now().Add(60 * time.Second)
	killed := false
	for time.Now().Before(deadline) {
		var st struct {
			Step string `json:"step"`
		}
		if b, err := os.ReadFile(filepath.Join(work, "process.json")); err == nil && json.Unmarshal(b, &st) == nil && st.Step == "generate-certificate" {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("create never reached generate-certificate:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(work, "keystore.p12")); err == nil {
		t.Fatalf("the process finished before it was killed; the test proves nothing:\n%s", out.String())
	}

	run := func(args ...string) result {
		t.Helper()
		c := exec.Command(ehcertBin(t), append(slices.Clone(common), args...)...)
		c.Env = env
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		r := result{stdout: o.String(), stderr: e.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		return r
	}
	st := run("status", "--workdir", work)
	if st.code != 0 || !strings.Contains(st.stdout, "generate-certificate") {
		t.Errorf("status after the kill:\n%s", st)
	}
	r := run("resume", "--workdir", work, "--poll-interval", "100ms")
	if r.code != 0 {
		t.Fatalf("resume:\n%s", r)
	}
	for _, f := range []string{"keystore.p12", "etk.der"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("after resume: %v", err)
		}
	}
	for _, f := range []string{"auth-key.pem", "enc-key.pem"} {
		if _, err := os.Stat(filepath.Join(work, f)); err == nil {
			t.Errorf("after resume the pending key %s is still there", f)
		}
	}
	st = run("status", "--workdir", work, "--json")
	var ps struct{ Done bool }
	if err := json.Unmarshal([]byte(st.stdout), &ps); err != nil || !ps.Done {
		t.Errorf("status after resume: %v\n%s", err, st)
	}
	// The ETK registered by the resumed process is in the depot and validates.
	r = run("etk", "get", "--org", "CBE:0123456749", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"valid": true`) {
		t.Errorf("etk get:\n%s", r)
	}
	r = run("etk", "verify", filepath.Join(work, "etk.der"), "--expect", "CBE:0123456749")
	if r.code != 0 {
		t.Errorf("etk verify:\n%s", r)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag", "status"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown operation", []string{"certra", "GetNothing"}, "unknown CertRA operation"},
		{"missing operation", []string{"etkra"}, "etkra needs an operation"},
		{"extra argument", []string{"keyholder"}, "needs a kid"},
		{"bad env", []string{"--env", "staging", "certra", "GetGenericOrganizationTypes"}, "--env"},
		{"acc without tracing headers", []string{"certra", "GetGenericOrganizationTypes"}, "--user-agent"},
		{"bad user agent", []string{"--env", "https://127.0.0.1:1", "--user-agent", "no version", "certra", "GetGenericOrganizationTypes"}, "User-Agent"},
		{"create without contact", []string{"--env", "https://127.0.0.1:1", "create"}, "--email and --phone"},
		{"resume without workdir", []string{"resume"}, "--workdir"},
		{"bad duration", []string{"--timeout", "soon", "status"}, "invalid argument"},
		{"no secret and no terminal", []string{"--env", "https://127.0.0.1:1", "--eid-p12", "/dev/null", "certra", "GetCertificateInfoForCitizen"}, "EHCERT_EID_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit code %d, want %d:\n%s", r.code, exitUsage, r)
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.HasPrefix(r.stderr, "ehcert: ") {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	p := newPlatform(t)
	r := runCLI(t, []string{"EHCERT_EID_PASSWORD=not-the-password"}, append(p.args, "certra", "GetCertificateInfoForCitizen")...)
	if r.code != exitCredentials {
		t.Fatalf("exit code %d, want %d:\n%s", r.code, exitCredentials, r)
	}
	if !strings.Contains(r.stderr, "password") || strings.Contains(r.stderr, "not-the-password") {
		t.Errorf("message:\n%s", r)
	}
	if n := len(p.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent with a wrong password", n)
	}
	// A password file works the same way, and the right password works.
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte(testEIDPassword+"\n"), 0o600)
	r = runCLI(t, nil, append(p.args, "--eid-password-file", f, "certra", "GetCertificateInfoForCitizen")...)
	if r.code != 0 || !strings.Contains(r.stdout, "GetCertificateInfoForCitizenResponse") {
		t.Errorf("with the password file:\n%s", r)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := runCLI(t, nil, "--env", "https://"+addr, "certra", "GetGenericOrganizationTypes")
	if r.code != exitUnreachable {
		t.Fatalf("exit code %d, want %d:\n%s", r.code, exitUnreachable, r)
	}
	if !strings.Contains(r.stderr, "could not be reached") || !strings.Contains(r.stderr, "try again later") {
		t.Errorf("message:\n%s", r)
	}
	r = runCLI(t, nil, "--env", "https://"+addr, "etk", "get", "--org", "CBE:0123456749")
	if r.code != exitUnreachable {
		t.Errorf("etk get: exit code %d, want %d:\n%s", r.code, exitUnreachable, r)
	}
}

func TestPlatformErrors(t *testing.T) {
	p := newPlatform(t)
	// A business error: the platform answers with a non-success status.
	r := p.run(t, nil, "certra", "GetCertificate", "--pki", strings.Repeat("AB", 20))
	if r.code != exitPlatform {
		t.Fatalf("exit code %d, want %d:\n%s", r.code, exitPlatform, r)
	}
	if !strings.Contains(r.stderr, "step: GetCertificate") || !strings.Contains(r.stderr, "retry") {
		t.Errorf("message:\n%s", r)
	}
	// A SOAP fault.
	p.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault})
	r = p.run(t, nil, "certra", "GetGenericOrganizationTypes")
	if r.code != exitPlatform || !strings.Contains(r.stderr, "eHealth code: SOA-") {
		t.Errorf("SOAP fault: exit %d, want %d:\n%s", r.code, exitPlatform, r)
	}
	// A proxy's 503 page: retry later.
	p.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.HTML503})
	r = p.run(t, nil, "certra", "GetGenericOrganizationTypes")
	if r.code != exitUnreachable {
		t.Errorf("HTML 503: exit %d, want %d:\n%s", r.code, exitUnreachable, r)
	}
	// A failed step of a process names the step and the resume command.
	p.srv.Inject("GenerateContract", ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault, Times: -1})
	work := filepath.Join(t.TempDir(), "wd")
	r = p.run(t, []string{"EHCERT_KEYSTORE_PASSWORD=pw"}, "create", "--org", "CBE:0123456749", "--email", "a@example.org",
		"--phone", "021234567", "--accept", "--workdir", work)
	if r.code != exitPlatform || !strings.Contains(r.stderr, "step: contract") || !strings.Contains(r.stderr, "ehcert resume --workdir "+work) {
		t.Errorf("failed step: exit %d, want %d:\n%s", r.code, exitPlatform, r)
	}
	p.srv.ClearFaults()
	r = p.run(t, []string{"EHCERT_KEYSTORE_PASSWORD=pw"}, "resume", "--workdir", work, "--accept", "--poll-interval", "10ms")
	if r.code != 0 {
		t.Errorf("resume after the fault cleared:\n%s", r)
	}
}

func TestPending(t *testing.T) {
	p := newPlatform(t, ehealthtest.WithManualValidation(func(string, string) bool { return true }))
	work := filepath.Join(t.TempDir(), "wd")
	env := []string{"EHCERT_KEYSTORE_PASSWORD=pw"}
	r := p.run(t, env, "create", "--org", "CBE:0123456749", "--email", "a@example.org", "--phone", "021234567",
		"--accept", "--workdir", work, "--no-wait")
	if r.code != exitPending {
		t.Fatalf("exit code %d, want %d:\n%s", r.code, exitPending, r)
	}
	if !strings.Contains(r.stderr, "ehcert resume --workdir "+work) {
		t.Errorf("message does not say how to continue:\n%s", r)
	}
	// The operator approves; resume completes.
	regs := p.srv.Registrations()
	if len(regs) != 1 {
		t.Fatalf("%d registrations", len(regs))
	}
	if err := p.srv.Approve(regs[0].PublicKeyIdentifier); err != nil {
		t.Fatal(err)
	}
	r = p.run(t, env, "resume", "--workdir", work, "--poll-interval", "10ms")
	if r.code != 0 || !strings.Contains(r.stdout, "create: done") {
		t.Errorf("resume after approval:\n%s", r)
	}
	// A wrong keystore password on resume of a finished process is harmless; on a pending one it is exit 5.
	_ = env
}

func TestETKVerifyInvalid(t *testing.T) {
	p := newPlatform(t)
	work := filepath.Join(t.TempDir(), "wd")
	r := p.run(t, []string{"EHCERT_KEYSTORE_PASSWORD=pw"}, "create", "--email", "a@example.org", "--phone", "021234567",
		"--accept", "--workdir", work, "--poll-interval", "10ms", "--json")
	if r.code != 0 {
		t.Fatalf("create (personal):\n%s", r)
	}
	etkFile := filepath.Join(work, "etk.der")
	if r := p.run(t, nil, "etk", "verify", etkFile, "--expect", "SSIN:"+ehealthtest.DefaultCitizenSSIN); r.code != 0 {
		t.Errorf("verify with the simulator's roots:\n%s", r)
	}
	// Without the simulator's roots the chain does not verify: exit 7.
	r = runCLI(t, nil, "--env", p.srv.URL, "etk", "verify", etkFile)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "not valid") {
		t.Errorf("verify without roots: exit %d, want %d:\n%s", r.code, exitInvalid, r)
	}
	// Another holder: exit 7.
	r = p.run(t, nil, "etk", "verify", etkFile, "--expect", "CBE:0123456749")
	if r.code != exitInvalid {
		t.Errorf("verify for another holder: exit %d, want %d:\n%s", r.code, exitInvalid, r)
	}
	// Not an ETK at all.
	bad := filepath.Join(t.TempDir(), "bad.etk")
	os.WriteFile(bad, []byte("hello"), 0o600)
	if r := p.run(t, nil, "etk", "verify", bad); r.code != exitInvalid {
		t.Errorf("verify garbage: exit %d:\n%s", r.code, r)
	}
}
