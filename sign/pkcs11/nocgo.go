//go:build !cgo

package pkcs11

import "github.com/ehcert/ehcert/sign"

// Token is unavailable without cgo.
type Token struct{}

// Open returns ErrNoCgo: PKCS#11 modules are C libraries.
func Open(Config) (*Token, error) { return nil, ErrNoCgo }

// Label returns "".
func (t *Token) Label() string { return "" }

// Close does nothing.
func (t *Token) Close() error { return nil }

// Key returns ErrNoCgo.
func (t *Token) Key(string) (sign.Key, error) { return nil, ErrNoCgo }

// EIDAuthentication returns ErrNoCgo.
func (t *Token) EIDAuthentication() (sign.Key, error) { return nil, ErrNoCgo }

// EIDSignature returns ErrNoCgo.
func (t *Token) EIDSignature() (sign.Key, error) { return nil, ErrNoCgo }
