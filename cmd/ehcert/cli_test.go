package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
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
	// The keystores' password is in a file only its owner reads, and nowhere in the output.
	pwFile := filepath.Join(work, demoPasswordFile)
	if fi, err := os.Stat(pwFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keystore password file %s: %v, mode %v", pwFile, err, fi)
	} else if pw, _ := os.ReadFile(pwFile); len(bytes.TrimSpace(pw)) < 12 {
		t.Errorf("keystore password file holds %d bytes", len(pw))
	} else if p := string(bytes.TrimSpace(pw)); strings.Contains(r.stdout, p) || strings.Contains(r.stderr, p) {
		t.Errorf("the demo printed the keystore password")
	} else if !strings.Contains(r.stdout, pwFile) {
		t.Errorf("the summary does not name the password file %s:\n%s", pwFile, r)
	} else if _, err := loadEHealthKey(mustRead(t, filepath.Join(work, "renew", "keystore.p12")), bytes.TrimSpace(pw)); err != nil {
		t.Errorf("the password in %s does not open renew/keystore.p12: %v", pwFile, err)
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

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

// simCLI runs the binary against an "ehcert simulator" subprocess, as its user would.
type simCLI struct {
	url, state string
	common     []string // --env, --ca-file, --eid-p12
	env        []string // the eID and keystore passwords
}

func newSimCLI(t *testing.T, extra ...string) *simCLI {
	t.Helper()
	url, state := startSimulator(t, extra...)
	pw, err := os.ReadFile(filepath.Join(state, "citizen-eid.password"))
	if err != nil {
		t.Fatal(err)
	}
	return &simCLI{url: url, state: state,
		common: []string{"--env", url, "--ca-file", filepath.Join(state, "root.pem"), "--eid-p12", filepath.Join(state, "citizen-eid.p12")},
		env:    []string{"EHCERT_EID_PASSWORD=" + strings.TrimSpace(string(pw)), "EHCERT_KEYSTORE_PASSWORD=keystore-pw"}}
}

func (s *simCLI) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, s.env, append(slices.Clone(s.common), args...)...)
}

// runJSON runs the binary with --json, wants exit 0 and decodes its output into v.
func (s *simCLI) runJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	r := s.run(t, append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("ehcert %s: exit %d\n%s", strings.Join(args, " "), r.code, r)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("ehcert %s --json: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

// operator calls the simulator's operator API (POST url/ehealthtest/...) and returns the HTTP status and body.
func (s *simCLI) operator(t *testing.T, method, path string) (int, string) {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(s.state, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("root.pem holds no certificate")
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, s.url+"/ehealthtest/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// registration is the part of the operator API's registrations the tests read.
type registration struct {
	PublicKeyIdentifier string    `json:"publicKeyIdentifier"`
	Status              string    `json:"status"`
	ETKStatus           string    `json:"etkStatus"`
	NotAfter            time.Time `json:"notAfter"`
}

func (s *simCLI) registration(t *testing.T, pki string) registration {
	t.Helper()
	code, body := s.operator(t, http.MethodGet, "registrations")
	if code != http.StatusOK {
		t.Fatalf("registrations: HTTP %d %s", code, body)
	}
	var regs []registration
	if err := json.Unmarshal([]byte(body), &regs); err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if strings.EqualFold(r.PublicKeyIdentifier, pki) {
			return r
		}
	}
	t.Fatalf("the simulator has no registration %s", pki)
	return registration{}
}

// TestCLIRenewRevoke runs create, renew (activated, then deferred and activated with "etkra ActivateETK", then
// deferred and activated with "activate") and revoke --keystore against "ehcert simulator --cert-validity 720h":
// certificates valid 30 days are in the default 90-day replacement period as soon as they are issued, so renew
// works without moving the platform's clock.
func TestCLIRenewRevoke(t *testing.T) {
	s := newSimCLI(t, "--cert-validity", "720h")
	dir := t.TempDir()
	wd := func(name string) string { return filepath.Join(dir, name) }
	const org = "CBE:0123456749"
	contact := []string{"--email", "a@example.org", "--phone", "021234567"}

	var created processSummary
	s.runJSON(t, &created, append([]string{"create", "--org", org, "--accept", "--workdir", wd("a"), "--poll-interval", "100ms"}, contact...)...)
	if created.Keystore == "" || created.PublicKeyIdentifier == "" {
		t.Fatalf("create: %+v", created)
	}
	// --cert-validity took effect (the default is 3 years).
	if left := time.Until(created.NotAfter); left <= 0 || left > 31*24*time.Hour {
		t.Fatalf("create: certificate valid until %s, want about 30 days from now", created.NotAfter)
	}

	// renew with a wrong keystore password: the credentials exit code and advice, nothing sent.
	wrong := runCLI(t, []string{s.env[0], "EHCERT_KEYSTORE_PASSWORD=not-the-password"},
		append(slices.Clone(s.common), "renew", "--keystore", created.Keystore, "--accept", "--workdir", wd("wrongpw"))...)
	if wrong.code != exitCredentials || !strings.Contains(wrong.stderr, "password is wrong") || strings.Contains(wrong.stderr+wrong.stdout, "not-the-password") {
		t.Fatalf("renew with a wrong keystore password: exit %d, want %d\n%s", wrong.code, exitCredentials, wrong)
	}

	// renew, activating the new ETK.
	var renewed processSummary
	s.runJSON(t, &renewed, "renew", "--keystore", created.Keystore, "--accept", "--workdir", wd("b"), "--poll-interval", "100ms")
	if renewed.Kind != "renew" || !renewed.Activated || renewed.Serial == created.Serial || renewed.Subject != created.Subject {
		t.Fatalf("renew: %+v\ncreated: %+v", renewed, created)
	}
	if _, err := os.Stat(filepath.Join(wd("b"), "previous.p12")); err != nil {
		t.Errorf("renew kept no copy of the renewed keystore: %v", err)
	}
	if reg := s.registration(t, renewed.PublicKeyIdentifier); reg.Status != "VALID_ACTIVE" || reg.ETKStatus != "VALID_ACTIVE" {
		t.Errorf("renewed certificate on the platform: %+v", reg)
	}
	// Its ETK is active already: ActivateETK is refused, with the eHealth code and the operation named.
	r := s.run(t, "etkra", "ActivateETK", "--keystore", renewed.Keystore)
	if r.code != exitPlatform || !strings.Contains(r.stderr, "eHealth code: "+ehealth.CodeRenewActivationETKAlreadyActive) ||
		!strings.Contains(r.stderr, "step: ActivateETK") {
		t.Errorf("ActivateETK of an active ETK: exit %d, want %d with the eHealth code:\n%s", r.code, exitPlatform, r)
	}

	// revoke --keystore: the replaced certificate.
	var revoked processSummary
	s.runJSON(t, &revoked, "revoke", "--keystore", created.Keystore, "--reason", "superseded", "--accept", "--workdir", wd("r"), "--poll-interval", "100ms")
	if !strings.EqualFold(revoked.Revoked, created.PublicKeyIdentifier) {
		t.Errorf("revoke: revoked %q, want %s", revoked.Revoked, created.PublicKeyIdentifier)
	}
	if reg := s.registration(t, created.PublicKeyIdentifier); reg.Status != "REVOKED" {
		t.Errorf("revoked certificate on the platform: %+v", reg)
	}
	r = s.run(t, "status", "--workdir", wd("r"))
	if r.code != 0 || !strings.Contains(r.stdout, "finished") {
		t.Errorf("status of the revocation:\n%s", r)
	}

	// renew --defer-activation, then "etkra ActivateETK" with a trace directory.
	r = s.run(t, "renew", "--keystore", renewed.Keystore, "--accept", "--workdir", wd("c"), "--poll-interval", "100ms", "--defer-activation")
	if r.code != 0 || !strings.Contains(r.stdout, "not activated yet: ehcert activate --workdir "+shellQuote(wd("c"))) {
		t.Fatalf("renew --defer-activation:\n%s", r)
	}
	deferredKS := filepath.Join(wd("c"), "keystore.p12")
	st := s.run(t, "status", "--workdir", wd("c"), "--json")
	var ps struct{ PublicKeyIdentifier string }
	if err := json.Unmarshal([]byte(st.stdout), &ps); err != nil || ps.PublicKeyIdentifier == "" {
		t.Fatalf("status: %v\n%s", err, st)
	}
	if reg := s.registration(t, ps.PublicKeyIdentifier); reg.ETKStatus == "VALID_ACTIVE" {
		t.Fatalf("the deferred ETK is active before ActivateETK: %+v", reg)
	}
	trace := filepath.Join(dir, "trace")
	var resp struct {
		InResponseTo string
		Status       struct{ StatusCode struct{ Value string } }
	}
	s.runJSON(t, &resp, "--trace-dir", trace, "etkra", "ActivateETK", "--keystore", deferredKS)
	if resp.Status.StatusCode.Value != ehealth.StatusSuccess || resp.InResponseTo == "" {
		t.Errorf("ActivateETK --json: %+v", resp)
	}
	if reg := s.registration(t, ps.PublicKeyIdentifier); reg.ETKStatus != "VALID_ACTIVE" {
		t.Errorf("after ActivateETK the ETK is %s", reg.ETKStatus)
	}
	// The trace: one exchange, the signed request exactly as sent, the response, the HTTP summary without secrets.
	entries, err := os.ReadDir(trace)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"001-ActivateETK-request.xml", "001-ActivateETK-response.xml", "001-ActivateETK.http"}
	if !slices.Equal(names, want) {
		t.Fatalf("trace directory holds %v, want %v", names, want)
	}
	req, _ := os.ReadFile(filepath.Join(trace, want[0]))
	if !bytes.HasPrefix(bytes.TrimSpace(req), []byte("<")) || !bytes.Contains(req, []byte("ActivateETKRequest")) ||
		!bytes.Contains(req, []byte("http://www.w3.org/2000/09/xmldsig#")) {
		t.Errorf("%s is not the signed request:\n%s", want[0], req)
	}
	if local, _ := rootOf(t, req); local != "ActivateETKRequest" {
		t.Errorf("%s: root element %s", want[0], local)
	}
	if b, _ := os.ReadFile(filepath.Join(trace, want[1])); !bytes.Contains(b, []byte("ActivateETKResponse")) || !bytes.Contains(b, []byte(ehealth.StatusSuccess)) {
		t.Errorf("%s:\n%s", want[1], b)
	}
	httpFile, _ := os.ReadFile(filepath.Join(trace, want[2]))
	if !bytes.Contains(httpFile, []byte("200 OK")) || !bytes.Contains(httpFile, []byte(s.url+"/EtkRa/v2")) {
		t.Errorf("%s:\n%s", want[2], httpFile)
	}
	if bytes.Contains(httpFile, []byte("keystore-pw")) || bytes.Contains(req, []byte("keystore-pw")) {
		t.Errorf("the trace holds the keystore password")
	}

	// renew --defer-activation again, then "ehcert activate --workdir": the ETK is activated and the work
	// directory records it.
	r = s.run(t, "renew", "--keystore", deferredKS, "--accept", "--workdir", wd("d"), "--poll-interval", "100ms", "--defer-activation")
	if r.code != 0 || !strings.Contains(r.stdout, "not activated yet") {
		t.Fatalf("renew --defer-activation:\n%s", r)
	}
	var before, after struct {
		PublicKeyIdentifier string
		ToBeActivated       bool
	}
	s.runJSON(t, &before, "status", "--workdir", wd("d"))
	if !before.ToBeActivated || before.PublicKeyIdentifier == "" {
		t.Fatalf("status of a deferred renewal: %+v", before)
	}
	if reg := s.registration(t, before.PublicKeyIdentifier); reg.ETKStatus == "VALID_ACTIVE" {
		t.Fatalf("the deferred ETK is active before ehcert activate: %+v", reg)
	}
	r = s.run(t, "activate", "--workdir", wd("d"))
	if r.code != 0 || !strings.Contains(r.stdout, "(activated)") {
		t.Fatalf("activate:\n%s", r)
	}
	if reg := s.registration(t, before.PublicKeyIdentifier); reg.ETKStatus != "VALID_ACTIVE" {
		t.Errorf("after ehcert activate the ETK is %s", reg.ETKStatus)
	}
	s.runJSON(t, &after, "status", "--workdir", wd("d"))
	if after.ToBeActivated {
		t.Errorf("process.json still says not activated after ehcert activate: %+v", after)
	}
	// Activating a work directory that holds no renewal is refused before anything is sent.
	r = s.run(t, "activate", "--workdir", wd("r"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "finished renewal") {
		t.Errorf("activate of a revocation: exit %d, want %d:\n%s", r.code, exitUsage, r)
	}
}

// TestCLIDepot runs the ETK Depot commands against the simulator: jwks (enc and sig), jwks --kid, keyholder.
func TestCLIDepot(t *testing.T) {
	s := newSimCLI(t)
	const org = "CBE:0123456749"
	var created processSummary
	s.runJSON(t, &created, "create", "--org", org, "--email", "a@example.org", "--phone", "021234567", "--accept",
		"--workdir", filepath.Join(t.TempDir(), "a"), "--poll-interval", "100ms")

	type keys struct {
		Keys     []jwkSummary `json:"keys"`
		Rejected []string     `json:"rejected"`
	}
	bySet := map[string]jwkSummary{}
	for _, use := range []string{"enc", "sig"} {
		var set keys
		s.runJSON(t, &set, "jwks", "--org", org, "--use", use)
		if len(set.Keys) != 1 || len(set.Rejected) != 0 {
			t.Fatalf("jwks --use %s: %+v", use, set)
		}
		k := set.Keys[0]
		if k.Use != use || k.KID == "" || k.Thumbprint == "" || !strings.Contains(k.Subject, "0123456749") {
			t.Errorf("jwks --use %s: %+v", use, k)
		}
		bySet[use] = k
	}
	if bySet["enc"].KID == bySet["sig"].KID {
		t.Errorf("the encryption and the authentication key have the same kid %s", bySet["enc"].KID)
	}
	// The enc key is the ETK's encryption certificate; the sig key the new authentication certificate.
	if bySet["sig"].Subject != created.Subject {
		t.Errorf("jwks --use sig: subject %q, want the certificate's %q", bySet["sig"].Subject, created.Subject)
	}
	for use, k := range bySet {
		var one keys
		s.runJSON(t, &one, "jwks", "--kid", k.KID)
		if len(one.Keys) != 1 || one.Keys[0].KID != k.KID || one.Keys[0].Thumbprint != k.Thumbprint || one.Keys[0].Use != use {
			t.Errorf("jwks --kid %s: %+v, want %+v", k.KID, one, k)
		}
		var h keyHolderSummary
		s.runJSON(t, &h, "keyholder", k.KID)
		if h.Holder != "CBE=0123456749" || h.Kind == "" {
			t.Errorf("keyholder %s: %+v", k.KID, h)
		}
	}
	// Text output names the kid; an unknown kid is the platform's refusal, not a crash.
	r := s.run(t, "jwks", "--kid", bySet["enc"].KID)
	if r.code != 0 || !strings.Contains(r.stdout, "kid "+bySet["enc"].KID) {
		t.Errorf("jwks --kid (text):\n%s", r)
	}
	r = s.run(t, "keyholder", "no-such-kid")
	if r.code != exitPlatform {
		t.Errorf("keyholder of an unknown kid: exit %d, want %d:\n%s", r.code, exitPlatform, r)
	}
	// Holder flags and --kid do not go together.
	if r := s.run(t, "jwks", "--org", org, "--kid", bySet["enc"].KID); r.code != exitUsage {
		t.Errorf("jwks --org --kid: exit %d, want %d:\n%s", r.code, exitUsage, r)
	}
}

// TestCLIForeigner runs foreigner --no-wait (exit 6 with the confirmation URL), confirms the request through the
// simulator's operator API, and resumes the process to its end.
func TestCLIForeigner(t *testing.T) {
	s := newSimCLI(t)
	work := filepath.Join(t.TempDir(), "f")
	ssinBis := demoSSINBis()
	r := s.run(t, "foreigner", "--ssin-bis", ssinBis, "--first-name", "Jean", "--last-name", "Dupont",
		"--email", "jean@example.org", "--phone", "021234567", "--workdir", work, "--poll-interval", "100ms", "--no-wait")
	if r.code != exitPending {
		t.Fatalf("foreigner --no-wait: exit %d, want %d:\n%s", r.code, exitPending, r)
	}
	if !strings.Contains(r.stderr, "confirm the request at https://") || !strings.Contains(r.stderr, "ehcert resume --workdir "+work) {
		t.Errorf("foreigner --no-wait does not say what to do:\n%s", r)
	}
	var st struct {
		Done                bool
		PublicKeyIdentifier string
		ValidationURL       string
	}
	s.runJSON(t, &st, "status", "--workdir", work)
	if st.Done || st.PublicKeyIdentifier == "" || st.ValidationURL == "" || !strings.Contains(r.stderr, st.ValidationURL) {
		t.Fatalf("status while waiting for the confirmation: %+v\n%s", st, r)
	}
	// Before the confirmation, resume --no-wait still waits.
	if r := s.run(t, "resume", "--workdir", work, "--no-wait"); r.code != exitPending {
		t.Fatalf("resume before the confirmation: exit %d, want %d:\n%s", r.code, exitPending, r)
	}
	if code, body := s.operator(t, http.MethodPost, "confirm/"+st.PublicKeyIdentifier); code != http.StatusOK || !strings.Contains(body, "confirmed") {
		t.Fatalf("confirm: HTTP %d %s", code, body)
	}
	var res processSummary
	s.runJSON(t, &res, "resume", "--workdir", work, "--poll-interval", "100ms")
	if res.Kind != "foreigner" || !strings.Contains(res.Subject, "SSIN\\="+ssinBis) || res.EncryptionSerial == "" {
		t.Errorf("resume after the confirmation: %+v", res)
	}
	for _, f := range []string{"keystore.p12", "etk.der"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("after resume: %v", err)
		}
	}
	// The ETK is published for the SSIN-bis and validates.
	r = s.run(t, "etk", "verify", filepath.Join(work, "etk.der"), "--expect", "SSIN:"+ssinBis)
	if r.code != 0 {
		t.Errorf("etk verify:\n%s", r)
	}
}

// TestDemoFault makes a step of the demo fail (EHCERT_DEMO_FAULT): the demo stops with the platform's exit code
// and a message naming the step.
func TestDemoFault(t *testing.T) {
	for _, tc := range []struct {
		fault    string
		code     int
		step     string
		operator string
	}{
		{"GetCertificateInfoForCitizen:HTTP500Fault", exitPlatform, "demo step 2/6 (certificate information) failed", "step: GetCertificateInfoForCitizen"},
		// The depot's HTTP 500 is temporary: exit 4, try again later.
		{"keyholders:HTTP500Fault", exitUnreachable, "demo step 3/6 (ETK Depot lookups) failed", "GET /keyholders/{kid}"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "demo")
			r := runCLI(t, []string{demoFaultEnv + "=" + tc.fault}, "demo", "--workdir", work)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.code, r)
			}
			if !strings.HasPrefix(r.stderr[strings.LastIndex(r.stderr, "\nehcert: ")+1:], "ehcert: "+tc.step) || !strings.Contains(r.stderr, tc.operator) {
				t.Errorf("the message does not name the step (%q, %q):\n%s", tc.step, tc.operator, r)
			}
			if strings.Contains(r.stdout, "ehcert demo: done") {
				t.Errorf("a failed demo printed its summary:\n%s", r)
			}
		})
	}
	t.Run("bad value", func(t *testing.T) {
		r := runCLI(t, []string{demoFaultEnv + "=GetNothing:HTTP500Fault"}, "demo", "--workdir", filepath.Join(t.TempDir(), "demo"))
		if r.code != exitUsage || !strings.Contains(r.stderr, demoFaultEnv) {
			t.Errorf("exit %d, want %d:\n%s", r.code, exitUsage, r)
		}
	})
}
