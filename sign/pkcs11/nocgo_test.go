//go:build !cgo

package pkcs11

import (
	"errors"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

// TestNoCgo stands in for the token tests of softhsm_test.go, which need cgo: in a CGO_ENABLED=0 build they
// do not exist, and without this test they would vanish from the run without a word. It fails when interop
// tests are forced (EHCERT_INTEROP=1) and skips visibly otherwise.
func TestNoCgo(t *testing.T) {
	if _, err := Open(Config{}); !errors.Is(err, ErrNoCgo) {
		t.Errorf("Open without cgo: %v, want ErrNoCgo", err)
	}
	const msg = "the PKCS#11 token tests need cgo (this build has CGO_ENABLED=0): SoftHSM interop is not tested"
	if testenv.Forced() {
		t.Fatal(msg + " but EHCERT_INTEROP=1 requires it; build with CGO_ENABLED=1 and a C compiler")
	}
	t.Skip("SKIP interop: " + msg + " (set EHCERT_INTEROP=1 to make this a failure)")
}
