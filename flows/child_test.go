package flows_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// The SIGKILL test re-executes the test binary as a child process that runs a create process against the
// parent's server and prints each completed step; the parent kills it with SIGKILL and resumes the process
// itself from the work directory.

const childEnv = "FLOWS_TEST_CHILD"

// childConfig is passed to the child through environment variables.
const (
	envURL   = "FLOWS_CHILD_URL"
	envDir   = "FLOWS_CHILD_DIR"
	envFiles = "FLOWS_CHILD_FILES" // directory with tls-roots.pem, auth.pem, sig.pem
)

// runChild is the child's main: it runs Create to the end and exits 0, or exits 1 on error.
func runChild() int {
	files := os.Getenv(envFiles)
	roots := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(files, "tls-roots.pem"))
	if err != nil || !roots.AppendCertsFromPEM(b) {
		fmt.Fprintln(os.Stderr, "child: tls roots:", err)
		return 1
	}
	load := func(name string) sign.Key {
		b, err := os.ReadFile(filepath.Join(files, name))
		if err != nil {
			panic(err)
		}
		k, err := sign.LoadPEM(b, nil)
		if err != nil {
			panic(err)
		}
		return k
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	deps := &flows.Deps{
		Environment:       ehealth.CustomEnvironment(os.Getenv(envURL)),
		SOAP:              &soap.Client{HTTPClient: hc},
		EIDAuthentication: load("auth.pem"),
		EIDSignature:      load("sig.pem"),
		Password:          testPassword,
		Accept:            func(context.Context, flows.Contract) (bool, error) { return true, nil },
		PollInterval:      10 * time.Millisecond,
		KDFIterations:     1000,
		Hooks: flows.Hooks{AfterStep: func(step string) error {
			fmt.Println(step) // the parent reads this to pick its moment
			return nil
		}},
	}
	_, err = flows.Create(context.Background(), flows.DirStore(os.Getenv(envDir)), orgRequest("KILL"), deps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// writeKeyPEM writes an eID key and its chain as one PEM file for the child.
func writeKeyPEM(t *testing.T, path string, k *ehealthtest.Key) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, c := range k.Chain() {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSIGKILL kills a child process running a create process at several points, some while it waits for an
// answer of the platform, and resumes the process in this process: it completes with one certificate and one
// active ETK, and every key the platform knows was on disk when the child died.
func TestSIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	org := ehealthtest.DefaultOrganization
	for _, kp := range []struct {
		after string // kill once the child printed this step
		delay string // and, if set, while it waits for this (delayed) operation
	}{
		{after: "auth-key"},
		{after: "auth-key", delay: "GenerateCertificate"},
		{after: "generate-certificate"},
		{after: "keystore"},
		{after: "enc-key", delay: "StartETKRegistration"},
		{after: "start-etk"},
		{after: "encryption-certificate", delay: "CompleteETKRegistration"},
		{after: "complete-etk"},
		{after: "keystore-etk"},
	} {
		name := kp.after
		if kp.delay != "" {
			name += "+in-" + kp.delay
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			files := t.TempDir()
			os.WriteFile(filepath.Join(files, "tls-roots.pem"), e.srv.TLSRootsPEM(), 0o600)
			writeKeyPEM(t, filepath.Join(files, "auth.pem"), e.eid.Authentication)
			writeKeyPEM(t, filepath.Join(files, "sig.pem"), e.eid.Signature)
			work := filepath.Join(t.TempDir(), "work")
			if kp.delay != "" {
				e.srv.Inject(kp.delay, ehealthtest.Fault{Kind: ehealthtest.Delay, Delay: time.Minute})
			}

			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1", envURL+"="+e.srv.URL, envDir+"="+work, envFiles+"="+files)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == kp.after {
					if kp.delay != "" {
						// Let the child reach the delayed call and block in it.
						time.Sleep(300 * time.Millisecond)
					}
					if err := cmd.Process.Kill(); err != nil { // SIGKILL
						t.Fatal(err)
					}
					killed = true
					break
				}
			}
			err = cmd.Wait()
			if !killed {
				t.Fatalf("the child never reached %s: %v\n%s", kp.after, err, stderr.String())
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.Success() {
				t.Fatalf("child did not die: %v", err)
			}
			e.srv.ClearFaults()

			store := flows.DirStore(work)
			c := flowCase{subject: func(*env) (string, string, string) { return org.Type, org.ID, "KILL" }}
			checkKeysOnDisk(t, e, c, store)
			st, err := flows.Status(context.Background(), store)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("killed after %q, next %q", st.Step, st.Next)
			res, err := flows.Resume(context.Background(), store, e.deps)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			e.checkDone(store, res, org.Type, org.ID, "KILL")
			if n := count(e.srv.Requests(), "GenerateCertificate"); n > 2 {
				t.Errorf("GenerateCertificate sent %d times", n)
			}
		})
	}
}
