// Package pkcs11 signs eHealth requests with keys held on a PKCS#11 token: the Belgian eID card through
// OpenSC's PKCS#11 module (its "Authentication" and "Signature" keys; older cards RSA, current cards ECDSA
// P-384), or any module, slot and key label.
//
//	tok, err := pkcs11.Open(pkcs11.Config{PIN: askPIN}) // OpenSC, the only token present
//	...
//	defer tok.Close()
//	auth, err := tok.EIDAuthentication()
//	signature, err := tok.EIDSignature()
//	ring := &sign.Keyring{EIDAuthentication: auth, EIDSignature: signature}
//
// The keys are sign.Key values: the certificate chain comes from the certificate objects on the token (on an
// eID: the key's certificate and the citizen CA; the root is left out).
//
// The PIN comes from Config.PIN, the first time a signature needs it, and is then kept in memory (never
// logged, never in an error) until Close, so a flow that signs several requests asks once. Keys with
// CKA_ALWAYS_AUTHENTICATE (the eID's non-repudiation "Signature" key, FACTS §6a) get the context-specific
// login right after C_SignInit with the same PIN. On a reader with a PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH)
// the callback is not used: the reader asks. A wrong PIN is ErrPINIncorrect and is not kept, so the next
// signature asks again.
//
// The package needs cgo (github.com/miekg/pkcs11). Built without cgo, Open returns ErrNoCgo.
package pkcs11
