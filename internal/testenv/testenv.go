// Package testenv holds helpers for ehcert's tests: external interoperability tools that tests may require,
// the location of the shared reference material (../shared), and validation against the official XSDs.
//
// A test that needs a tool calls Require. When the tool is missing the test is skipped with a visible message,
// unless EHCERT_INTEROP=1 is set (CI sets it), in which case the missing tool is a failure: interop tests are
// never silently skipped in CI.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Forced reports whether interop tests must run (EHCERT_INTEROP=1).
func Forced() bool { return os.Getenv("EHCERT_INTEROP") == "1" }

// Require skips t when the named command is not on PATH (or fails it when Forced).
func Require(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if Forced() {
			t.Fatalf("interop tool %q is required (EHCERT_INTEROP=1) but not installed", tool)
		}
		t.Skipf("SKIP interop: %q not installed (install it, or set EHCERT_INTEROP=1 to make this a failure)", tool)
	}
	return p
}

// RepoRoot returns the absolute path of the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns the absolute path of ../shared (the read-only reference material next to the repository).
// When it is missing the test is skipped, or failed when Forced.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("EHCERT_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared")
	}
	dir = filepath.Clean(dir)
	if _, err := os.Stat(filepath.Join(dir, "reference", "FACTS.md")); err != nil {
		if Forced() {
			t.Fatalf("reference material not found at %s (set EHCERT_SHARED)", dir)
		}
		t.Skipf("SKIP: reference material not found at %s (set EHCERT_SHARED)", dir)
	}
	return dir
}

// Shared returns the absolute path of a file under ../shared, e.g. Shared(t, "reference/etk-vectors/etk").
func Shared(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(SharedDir(t), filepath.FromSlash(rel))
}

var xsdMu sync.Mutex

// ValidateXSD validates one XML document (a CertRA, EtkRA or ETK depot v1 message as root element) against the
// official XSDs with xmllint. It returns xmllint's error output, or "" when the document is valid. It requires
// xmllint (see Require).
func ValidateXSD(t testing.TB, doc []byte) string {
	t.Helper()
	xmllint := Require(t, "xmllint")
	schema := Shared(t, "reference/xsd-check/all.xsd")
	f, err := os.CreateTemp(t.TempDir(), "doc-*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(doc); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(xmllint, "--nonet", "--noout", "--schema", schema, f.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err == nil {
		return ""
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = "invalid"
		}
		return msg
	}
	t.Fatalf("xmllint could not run the schema check: %v\n%s", err, out.String())
	return ""
}

// MustValidateXSD fails t when doc is not valid against the official XSDs.
func MustValidateXSD(t testing.TB, doc []byte) {
	t.Helper()
	if msg := ValidateXSD(t, doc); msg != "" {
		t.Fatalf("document does not validate against the official XSDs:\n%s\n--- document ---\n%s", msg, doc)
	}
}
