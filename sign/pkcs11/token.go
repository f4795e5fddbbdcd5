//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/sign/internal/ecdsasig"
)

// module is a loaded and initialized PKCS#11 library, shared by the Tokens of a process: C_Initialize and
// C_Finalize are process-wide, so the library is finalized when its last Token closes.
type module struct {
	path     string
	ctx      *p11.Ctx
	refs     int
	finalize bool // we initialized it, so we finalize it
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*module{}
)

func acquireModule(path string) (*module, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m, ok := modules[path]; ok {
		m.refs++
		return m, nil
	}
	ctx := p11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: cannot load the module %s", path)
	}
	m := &module{path: path, ctx: ctx, refs: 1, finalize: true}
	if err := ctx.Initialize(); err != nil {
		if !isRV(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, fmt.Errorf("pkcs11: initialize %s: %w", path, err)
		}
		m.finalize = false // someone else in the process owns the initialization
	}
	modules[path] = m
	return m, nil
}

func (m *module) release() {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules, m.path)
	if m.finalize {
		_ = m.ctx.Finalize()
	}
	m.ctx.Destroy()
}

func isRV(err error, rv uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// Token is an open session on one PKCS#11 token. Its methods are safe for concurrent use; signatures are
// made one at a time. Close it when done: that logs out and forgets the PIN.
type Token struct {
	mu      sync.Mutex
	mod     *module
	slot    uint
	label   string
	session p11.SessionHandle
	cfg     Config

	loginRequired bool // CKF_LOGIN_REQUIRED
	pinPad        bool // CKF_PROTECTED_AUTHENTICATION_PATH: the reader asks for the PIN
	loggedIn      bool
	pin           []byte // kept after a successful login, zeroed on Close
	closed        bool
}

// Open loads the module, finds the token and opens a session. It does not ask for the PIN: that happens
// at the first signature that needs it.
func Open(cfg Config) (*Token, error) {
	path := cfg.Module
	if path == "" {
		var err error
		if path, err = DefaultModule(); err != nil {
			return nil, err
		}
	}
	mod, err := acquireModule(path)
	if err != nil {
		return nil, err
	}
	t := &Token{mod: mod, cfg: cfg}
	if err := t.open(); err != nil {
		mod.release()
		return nil, err
	}
	return t, nil
}

func (t *Token) open() error {
	ctx := t.mod.ctx
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("pkcs11: list slots: %w", err)
	}
	var (
		available []string
		chosen    []uint
		infos     = map[uint]p11.TokenInfo{}
	)
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		infos[s] = info
		available = append(available, info.Label)
		if t.cfg.Slot != nil && *t.cfg.Slot != s {
			continue
		}
		if t.cfg.TokenLabel != "" && info.Label != t.cfg.TokenLabel {
			continue
		}
		chosen = append(chosen, s)
	}
	switch {
	case len(chosen) == 0, len(chosen) > 1 && t.cfg.Slot == nil && t.cfg.TokenLabel == "":
		return &TokenNotFoundError{Label: t.cfg.TokenLabel, Slot: t.cfg.Slot, Available: available}
	}
	t.slot = chosen[0]
	info := infos[t.slot]
	t.label = info.Label
	t.loginRequired = info.Flags&p11.CKF_LOGIN_REQUIRED != 0
	t.pinPad = info.Flags&p11.CKF_PROTECTED_AUTHENTICATION_PATH != 0
	t.session, err = ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("pkcs11: open a session on token %q: %w", t.label, err)
	}
	return nil
}

// Label returns the label of the token.
func (t *Token) Label() string { return t.label }

// String names the token; it never shows the PIN.
func (t *Token) String() string { return fmt.Sprintf("pkcs11.Token{%q slot %d}", t.label, t.slot) }

// Close logs out, forgets the PIN, closes the session and unloads the module when no other Token uses it.
// Keys obtained from the Token stop working. Close may be called more than once.
func (t *Token) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.forgetPIN()
	if t.loggedIn {
		_ = t.mod.ctx.Logout(t.session)
	}
	err := t.mod.ctx.CloseSession(t.session)
	t.mod.release()
	if err != nil {
		return fmt.Errorf("pkcs11: close session: %w", err)
	}
	return nil
}

func (t *Token) forgetPIN() {
	for i := range t.pin {
		t.pin[i] = 0
	}
	t.pin = nil
}

// EIDAuthentication returns the Belgian eID's authentication key (label "Authentication").
func (t *Token) EIDAuthentication() (sign.Key, error) { return t.Key(EIDAuthenticationLabel) }

// EIDSignature returns the Belgian eID's non-repudiation key (label "Signature").
func (t *Token) EIDSignature() (sign.Key, error) { return t.Key(EIDSignatureLabel) }

// Key returns the key whose certificate object has the given CKA_LABEL. The private key is the one with
// the certificate's CKA_ID (or, without an ID, the same label); it is looked up at the first signature,
// after login, since tokens may hide private objects until then. The chain is the certificate followed by
// its issuers among the token's other certificate objects, the root left out.
func (t *Token) Key(label string) (sign.Key, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	certs, err := t.certificates()
	if err != nil {
		return nil, err
	}
	var (
		leaf   *tokenCert
		pool   []*x509.Certificate
		labels []string
	)
	for i := range certs {
		c := &certs[i]
		labels = append(labels, c.label)
		pool = append(pool, c.cert)
		if leaf == nil && c.label == label {
			leaf = c
		}
	}
	if leaf == nil {
		return nil, &KeyNotFoundError{Label: label, Available: labels}
	}
	k := &tokenKey{t: t, label: label, id: leaf.id, cert: leaf.cert}
	switch pub := leaf.cert.PublicKey.(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		k.ecSize = ecdsasig.Size(pub.Curve)
	default:
		return nil, &sign.UnsupportedKeyError{Type: fmt.Sprintf("%T", pub)}
	}
	return sign.NewKey(k, sign.ChainFor(leaf.cert, pool))
}

type tokenCert struct {
	label string
	id    []byte
	cert  *x509.Certificate
}

// certificates reads every X.509 certificate object visible in the session.
func (t *Token) certificates() ([]tokenCert, error) {
	handles, err := t.find([]*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_CERTIFICATE),
		p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
	})
	if err != nil {
		return nil, err
	}
	var out []tokenCert
	for _, h := range handles {
		attrs, err := t.mod.ctx.GetAttributeValue(t.session, h, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_LABEL, nil),
			p11.NewAttribute(p11.CKA_ID, nil),
			p11.NewAttribute(p11.CKA_VALUE, nil),
		})
		if err != nil {
			continue
		}
		c, err := x509.ParseCertificate(attrs[2].Value)
		if err != nil {
			continue
		}
		out = append(out, tokenCert{label: string(attrs[0].Value), id: attrs[1].Value, cert: c})
	}
	return out, nil
}

func (t *Token) find(template []*p11.Attribute) ([]p11.ObjectHandle, error) {
	ctx := t.mod.ctx
	if err := ctx.FindObjectsInit(t.session, template); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	var all []p11.ObjectHandle
	for {
		hs, _, err := ctx.FindObjects(t.session, 64)
		if err != nil {
			_ = ctx.FindObjectsFinal(t.session)
			return nil, fmt.Errorf("pkcs11: find objects: %w", err)
		}
		all = append(all, hs...)
		if len(hs) < 64 || len(all) > 4096 {
			break
		}
	}
	if err := ctx.FindObjectsFinal(t.session); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	return all, nil
}

// askPIN calls the PIN callback, or returns nil for a PIN-pad reader.
func (t *Token) askPIN(ctx context.Context, prompt string) ([]byte, error) {
	if t.pinPad {
		return nil, nil
	}
	if t.pin != nil {
		return t.pin, nil
	}
	if t.cfg.PIN == nil {
		return nil, ErrNoPIN
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pin, err := t.cfg.PIN(ctx, prompt)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: PIN entry: %w", err)
	}
	if len(pin) == 0 {
		return nil, ErrNoPIN
	}
	return append([]byte(nil), pin...), nil
}

func loginError(err error) error {
	switch {
	case isRV(err, p11.CKR_PIN_INCORRECT):
		return &pinError{kind: ErrPINIncorrect, rv: err}
	case isRV(err, p11.CKR_PIN_LOCKED):
		return &pinError{kind: ErrPINLocked, rv: err}
	case isRV(err, p11.CKR_PIN_LEN_RANGE), isRV(err, p11.CKR_PIN_INVALID):
		return &pinError{kind: ErrPINIncorrect, rv: err}
	}
	return fmt.Errorf("pkcs11: login: %w", err)
}

// login makes sure the session is logged in as the user, asking for the PIN once.
func (t *Token) login(ctx context.Context) error {
	if t.loggedIn || !t.loginRequired {
		return nil
	}
	pin, err := t.askPIN(ctx, fmt.Sprintf("PIN for %q", t.label))
	if err != nil {
		return err
	}
	err = t.mod.ctx.Login(t.session, p11.CKU_USER, string(pin))
	switch {
	case err == nil, isRV(err, p11.CKR_USER_ALREADY_LOGGED_IN):
		// Already logged in by another session of this process: the PIN was not checked, so it is not kept.
		if err == nil && pin != nil {
			t.pin = pin
		} else {
			for i := range pin {
				pin[i] = 0
			}
		}
		t.loggedIn = true
		return nil
	}
	for i := range pin {
		pin[i] = 0
	}
	return loginError(err)
}

// tokenKey is the crypto.Signer of one key on the token.
type tokenKey struct {
	t      *Token
	label  string
	id     []byte
	cert   *x509.Certificate
	ecSize int // >0 for ECDSA

	mu         sync.Mutex
	found      bool
	handle     p11.ObjectHandle
	alwaysAuth bool
}

func (k *tokenKey) Public() crypto.PublicKey { return k.cert.PublicKey }

func (k *tokenKey) String() string { return fmt.Sprintf("pkcs11 key %q on %s", k.label, k.t) }

// Sign implements crypto.Signer with context.Background().
func (k *tokenKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rand, digest, opts)
}

// DigestInfo prefixes for PKCS#1 v1.5 signatures (RFC 8017 §9.2 note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// SignContext signs digest on the token: PKCS#1 v1.5 (CKM_RSA_PKCS over DigestInfo) for RSA keys, CKM_ECDSA
// for EC keys (returned as ASN.1 DER, as crypto.Signer requires). It logs in first when needed, and does
// the context-specific login of CKA_ALWAYS_AUTHENTICATE keys.
func (k *tokenKey) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("pkcs11: nil SignerOpts")
	}
	var (
		mech *p11.Mechanism
		data []byte
	)
	if k.ecSize > 0 {
		mech = p11.NewMechanism(p11.CKM_ECDSA, nil)
		data = digest
	} else {
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return nil, errors.New("pkcs11: RSA-PSS is not supported")
		}
		h := opts.HashFunc()
		if h != 0 {
			prefix, ok := digestInfoPrefix[h]
			if !ok {
				return nil, fmt.Errorf("pkcs11: unsupported hash %v", h)
			}
			if len(digest) != h.Size() {
				return nil, fmt.Errorf("pkcs11: digest is %d bytes, want %d for %v", len(digest), h.Size(), h)
			}
			data = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
		} else {
			data = digest
		}
		mech = p11.NewMechanism(p11.CKM_RSA_PKCS, nil)
	}

	t := k.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if err := t.login(ctx); err != nil {
		return nil, err
	}
	if err := k.findPrivate(); err != nil {
		return nil, err
	}
	sig, err := k.sign(ctx, mech, data)
	if isRV(err, p11.CKR_USER_NOT_LOGGED_IN) && !k.alwaysAuth && t.loginRequired {
		// The token forgot the login (card removed and reinserted, another application logged out).
		t.loggedIn = false
		if err := t.login(ctx); err != nil {
			return nil, err
		}
		sig, err = k.sign(ctx, mech, data)
	}
	if err != nil {
		return nil, err
	}
	if k.ecSize > 0 {
		if len(sig) != 2*k.ecSize {
			return nil, fmt.Errorf("pkcs11: ECDSA signature of %d bytes, want %d", len(sig), 2*k.ecSize)
		}
		return ecdsasig.RawToDER(sig)
	}
	return sig, nil
}

// findPrivate locates the private key object (once) and reads CKA_ALWAYS_AUTHENTICATE.
func (k *tokenKey) findPrivate() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.found {
		return nil
	}
	t := k.t
	var handles []p11.ObjectHandle
	if len(k.id) > 0 {
		hs, err := t.find([]*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_ID, k.id),
		})
		if err != nil {
			return err
		}
		handles = hs
	}
	if len(handles) == 0 {
		hs, err := t.find([]*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_LABEL, k.label),
		})
		if err != nil {
			return err
		}
		handles = hs
	}
	if len(handles) == 0 {
		return fmt.Errorf("pkcs11: no private key for the certificate %q on the token", k.label)
	}
	k.handle = handles[0]
	attrs, err := t.mod.ctx.GetAttributeValue(t.session, k.handle, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, nil),
	})
	if err == nil && len(attrs) == 1 && len(attrs[0].Value) > 0 && attrs[0].Value[0] != 0 {
		k.alwaysAuth = true
	}
	k.found = true
	return nil
}

// sign runs C_SignInit, the context-specific login when the key wants it, and C_Sign.
func (k *tokenKey) sign(ctx context.Context, mech *p11.Mechanism, data []byte) ([]byte, error) {
	t := k.t
	c := t.mod.ctx
	if err := c.SignInit(t.session, []*p11.Mechanism{mech}, k.handle); err != nil {
		return nil, fmt.Errorf("pkcs11: sign with %q: %w", k.label, err)
	}
	if k.alwaysAuth {
		pin, err := t.askPIN(ctx, fmt.Sprintf("PIN for %q (signature key %q)", t.label, k.label))
		if err == nil {
			err = c.Login(t.session, p11.CKU_CONTEXT_SPECIFIC, string(pin))
			if err != nil {
				err = loginError(err)
			} else if pin != nil && t.pin == nil {
				t.pin = pin
			}
		}
		if err != nil {
			if errors.Is(err, ErrPINIncorrect) || errors.Is(err, ErrPINLocked) {
				t.forgetPIN()
			}
			// The signing operation stays active after a failed context-specific login; a fresh session
			// ends it (the login state belongs to the application, not to the session).
			t.resetSession()
			return nil, err
		}
	}
	sig, err := c.Sign(t.session, data)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with %q: %w", k.label, err)
	}
	return sig, nil
}

// resetSession replaces the session, opening the new one before closing the old so that the application
// stays logged in.
func (t *Token) resetSession() {
	s, err := t.mod.ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return
	}
	_ = t.mod.ctx.CloseSession(t.session)
	t.session = s
}
