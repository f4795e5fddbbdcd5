package pkcs11

import (
	"context"
	"os"
	"runtime"
)

// Config says which module and token to use and how to get the PIN.
type Config struct {
	// Module is the path of the PKCS#11 library. "" means OpenSC's opensc-pkcs11 module, searched for in the
	// usual places (see DefaultModule).
	Module string
	// TokenLabel selects the token by label ("" = any). The Belgian eID token is labelled "BELPIC" by OpenSC.
	TokenLabel string
	// Slot selects the token by slot ID (nil = any).
	Slot *uint
	// PIN returns the user PIN. It is called at most once per Token while the PIN is right (again after
	// ErrPINIncorrect), with a prompt naming the token. ctx is the context of the signature that needs it.
	// Not used on readers with a PIN pad.
	PIN func(ctx context.Context, prompt string) ([]byte, error)
}

// Labels of the Belgian eID's keys and certificates, as OpenSC and the eID middleware show them.
const (
	EIDAuthenticationLabel = "Authentication"
	EIDSignatureLabel      = "Signature"
)

func defaultModuleCandidates() []string {
	switch runtime.GOOS {
	case "windows":
		return []string{`C:\Windows\System32\opensc-pkcs11.dll`, `C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll`}
	case "darwin":
		return []string{"/Library/OpenSC/lib/opensc-pkcs11.so", "/opt/homebrew/lib/opensc-pkcs11.so",
			"/usr/local/lib/opensc-pkcs11.so", "/usr/local/lib/pkcs11/opensc-pkcs11.so"}
	}
	return []string{
		"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so", "/usr/lib/aarch64-linux-gnu/pkcs11/opensc-pkcs11.so",
		"/usr/lib64/opensc-pkcs11.so", "/usr/lib64/pkcs11/opensc-pkcs11.so",
		"/usr/lib/opensc-pkcs11.so", "/usr/lib/pkcs11/opensc-pkcs11.so",
		"/usr/local/lib/opensc-pkcs11.so", "/usr/local/lib/pkcs11/opensc-pkcs11.so",
	}
}

// DefaultModule returns the path of OpenSC's PKCS#11 module, or *ModuleNotFoundError.
func DefaultModule() (string, error) {
	c := defaultModuleCandidates()
	for _, p := range c {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", &ModuleNotFoundError{Searched: c}
}
