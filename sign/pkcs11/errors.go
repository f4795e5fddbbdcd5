package pkcs11

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of this package. Match them with errors.Is; the PKCS#11 return value, when there is one, is wrapped
// too (errors.As with github.com/miekg/pkcs11.Error).
var (
	// ErrPINIncorrect: the token refused the PIN (CKR_PIN_INCORRECT).
	ErrPINIncorrect = errors.New("pkcs11: incorrect PIN")
	// ErrPINLocked: the PIN is blocked (CKR_PIN_LOCKED); on an eID it must be unblocked with the PUK.
	ErrPINLocked = errors.New("pkcs11: the PIN is locked")
	// ErrNoPIN: the token needs a PIN and Config.PIN is nil, or the callback returned an empty PIN.
	ErrNoPIN = errors.New("pkcs11: a PIN is needed and none was given")
	// ErrClosed: the Token was closed.
	ErrClosed = errors.New("pkcs11: token is closed")
	// ErrNoCgo: the binary was built without cgo, which PKCS#11 modules need.
	ErrNoCgo = errors.New("pkcs11: built without cgo; PKCS#11 tokens cannot be used")
)

// ModuleNotFoundError reports that no PKCS#11 module was given and OpenSC's was not found.
type ModuleNotFoundError struct {
	Searched []string
}

// Error describes the problem; it holds no secret.
func (e *ModuleNotFoundError) Error() string {
	return "pkcs11: OpenSC's PKCS#11 module was not found (set Config.Module); looked in " + strings.Join(e.Searched, ", ")
}

// TokenNotFoundError reports that no token matches the Config, or that several do and none was chosen.
type TokenNotFoundError struct {
	Label     string   // Config.TokenLabel
	Slot      *uint    // Config.Slot
	Available []string // the labels of the tokens present
}

// Error describes the problem; it holds no secret.
func (e *TokenNotFoundError) Error() string {
	var want string
	switch {
	case e.Label != "" && e.Slot != nil:
		want = fmt.Sprintf("token %q in slot %d", e.Label, *e.Slot)
	case e.Label != "":
		want = fmt.Sprintf("token %q", e.Label)
	case e.Slot != nil:
		want = fmt.Sprintf("a token in slot %d", *e.Slot)
	default:
		if len(e.Available) > 1 {
			return fmt.Sprintf("pkcs11: %d tokens present (%s); choose one with Config.TokenLabel or Config.Slot",
				len(e.Available), quoted(e.Available))
		}
		return "pkcs11: no token present (is the card in the reader?)"
	}
	if len(e.Available) == 0 {
		return "pkcs11: " + want + " not found; no token present"
	}
	return "pkcs11: " + want + " not found; present: " + quoted(e.Available)
}

// KeyNotFoundError reports that the token has no certificate with the requested label.
type KeyNotFoundError struct {
	Label     string
	Available []string // labels of the certificates on the token
}

// Error describes the problem; it holds no secret.
func (e *KeyNotFoundError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("pkcs11: no certificate labelled %q on the token (it holds none)", e.Label)
	}
	return fmt.Sprintf("pkcs11: no certificate labelled %q on the token (it holds %s)", e.Label, quoted(e.Available))
}

func quoted(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// pinError wraps one of the PIN sentinels and the module's return value.
type pinError struct {
	kind error
	rv   error
}

// Error describes the problem; it holds no secret.
func (e *pinError) Error() string { return e.kind.Error() }

// Unwrap returns the underlying errors.
func (e *pinError) Unwrap() []error { return []error{e.kind, e.rv} }
