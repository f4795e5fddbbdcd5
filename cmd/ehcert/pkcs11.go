package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/sign/pkcs11"
)

func init() {
	credentialMatchers = append(credentialMatchers, func(err error) bool {
		var knf *pkcs11.KeyNotFoundError
		var tnf *pkcs11.TokenNotFoundError
		return errors.Is(err, pkcs11.ErrPINIncorrect) || errors.Is(err, pkcs11.ErrPINLocked) ||
			errors.Is(err, pkcs11.ErrNoPIN) || errors.Is(err, pkcs11.ErrClosed) || errors.As(err, &knf) || errors.As(err, &tnf) ||
			errors.Is(err, errPINRefused)
	})
	credentialAdvisers = append(credentialAdvisers, func(err error) string {
		var tnf *pkcs11.TokenNotFoundError
		switch {
		case errors.Is(err, pkcs11.ErrPINIncorrect), errors.Is(err, errPINRefused):
			return "the eID refused the PIN (read from --pin-file, else EHCERT_PIN, else asked); three wrong PINs lock the card"
		case errors.Is(err, pkcs11.ErrPINLocked):
			return "the eID's PIN is locked: unblock it with the PUK (at the municipality)"
		case errors.Is(err, pkcs11.ErrNoPIN):
			return "the eID needs its PIN: set EHCERT_PIN, use --pin-file, or run on a terminal"
		case errors.As(err, &tnf):
			return "insert the eID card in the reader (or choose the token with --pkcs11-token)"
		}
		return ""
	})
}

// errPINRefused stops a run after the token refused the PIN once: trying the same PIN again would bring the card
// closer to locking it.
var errPINRefused = errors.New("the eID refused the PIN once; not trying again in this run (three wrong PINs lock the card)")

// tokenEID opens the eID card through PKCS#11 (--pkcs11-module, else OpenSC in its usual places). The PIN is
// asked for at the first signature (EHCERT_PIN, --pin-file or the terminal), and at most once per run.
func (a *app) tokenEID(ctx context.Context) (auth, sig sign.Key, err error) {
	module := a.pkcs11Module
	if module == "" {
		m, err := pkcs11.DefaultModule()
		if err != nil {
			return nil, nil, usagef("no eID: OpenSC's PKCS#11 module was not found (%v); install OpenSC, give --pkcs11-module, or use a software eID with --eid-p12 FILE", err)
		}
		module = m
	} else if _, err := os.Stat(module); err != nil {
		return nil, nil, usagef("--pkcs11-module: %v", err)
	}
	var mu sync.Mutex
	asked := false
	cfg := pkcs11.Config{
		Module:     module,
		TokenLabel: a.pkcs11Token,
		PIN: func(ctx context.Context, prompt string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			if asked {
				return nil, errPINRefused
			}
			asked = true
			return a.secret("eID PIN ("+prompt+")", "EHCERT_PIN", a.pinFile)
		},
	}
	tok, err := pkcs11.Open(cfg)
	if err != nil {
		if errors.Is(err, pkcs11.ErrNoCgo) {
			return nil, nil, usagef("this ehcert was built without cgo and cannot use an eID card; rebuild with a C compiler, or use --eid-p12 FILE")
		}
		return nil, nil, fmt.Errorf("eID (PKCS#11 module %s): %w", module, err)
	}
	a.closers = append(a.closers, func() { tok.Close() })
	auth, err = tok.EIDAuthentication()
	if err != nil {
		return nil, nil, fmt.Errorf("eID %s: %w", tok, err)
	}
	sig, err = tok.EIDSignature()
	if err != nil {
		return nil, nil, fmt.Errorf("eID %s: %w", tok, err)
	}
	return auth, sig, nil
}
