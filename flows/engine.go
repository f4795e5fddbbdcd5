package flows

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// step is one idempotent unit of a process. run may be called again after a crash at any point inside it: it
// must rely only on the state record and the files of the store, and it must persist its intent (a key, a
// request Id) before it sends a request that changes the platform's state.
type step struct {
	name string
	run  func(ctx context.Context, p *proc) error
}

// flowSteps lists the steps of each kind of process, in order. Filled by init to avoid an initialisation cycle.
var flowSteps map[Kind][]step

func init() {
	flowSteps = map[Kind][]step{
		KindCreate:    createSteps(),
		KindRenew:     renewSteps(),
		KindRevoke:    revokeSteps(),
		KindForeigner: foreignerSteps(),
	}
}

// Steps returns the names of the steps of a kind of process, in order.
func Steps(k Kind) []string {
	var out []string
	for _, s := range flowSteps[k] {
		out = append(out, s.name)
	}
	return out
}

// proc is one run of a process: its state, its store and what the caller gave.
type proc struct {
	st    *State
	store Store
	deps  *Deps
	log   *slog.Logger
	plat  platform

	kek     *kek
	authKey crypto.Signer // the new authentication key, once loaded or generated
	encKey  crypto.Signer
	oldAuth sign.Key // renew: the key of the certificate being replaced
	keyring *sign.Keyring

	// Checkpoints (checkpoint.go): the files waiting for the next one, the state record as last written, and
	// whether the last request sent changed the platform's state.
	staged                  []File
	savedContent, savedFull []byte
	afterMutating           bool
}

func newProc(st *State, store Store, deps *Deps) *proc {
	p := &proc{st: st, store: store, deps: deps}
	p.log = deps.logger().With(slog.String("process", st.ID), slog.String("kind", string(st.Kind)))
	p.keyring = &sign.Keyring{EIDAuthentication: deps.EIDAuthentication, EIDSignature: deps.EIDSignature}
	p.plat = checkpointed{platform: newPlatform(deps, p.keyring), p: p}
	return p
}

// save writes the staged files and the state record (a checkpoint that also records the last step).
func (p *proc) save(ctx context.Context) error { return p.checkpoint(ctx, true) }

func (p *proc) now() time.Time { return p.deps.now() }

func (p *proc) nowPtr() *time.Time {
	t := p.now().UTC()
	return &t
}

// lock takes the store's lock, if it has one.
func lock(ctx context.Context, store Store) (func(), error) {
	if l, ok := store.(Locker); ok {
		return l.Lock(ctx)
	}
	return func() {}, nil
}

// run executes the steps after the last completed one. The caller holds the store's lock.
func (p *proc) run(ctx context.Context) (*Result, error) {
	steps := flowSteps[p.st.Kind]
	start := 0
	if p.st.Step != "" {
		start = -1
		for i, s := range steps {
			if s.name == p.st.Step {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, &StateError{Err: fmt.Errorf("unknown step %q for a %s process", p.st.Step, p.st.Kind)}
		}
	}
	for i := start; i < len(steps); i++ {
		s := steps[i]
		if err := ctx.Err(); err != nil {
			return nil, p.fail(ctx, s.name, err)
		}
		p.log.Debug("step", slog.String("step", s.name))
		if err := s.run(ctx, p); err != nil {
			return nil, p.fail(ctx, s.name, err)
		}
		p.st.Step = s.name
		p.st.LastError = ""
		last := i == len(steps)-1
		if last {
			p.st.Done = true
		}
		// A step's outcome is saved at the next checkpoint (checkpoint.go): before the next request that
		// depends on it, or now for the last step, and now for every step when a hook watches the boundaries.
		if last || p.deps.Hooks.AfterStep != nil {
			if err := p.save(ctx); err != nil {
				return nil, p.fail(ctx, s.name, err)
			}
		}
		if last {
			// The finished state is durable, after the keystore that finish found holding the new keys.
			if err := p.removePendingKeys(ctx); err != nil {
				return nil, p.fail(ctx, s.name, err)
			}
		}
		p.log.Info("step done", slog.String("step", s.name))
		if p.deps.Hooks.AfterStep != nil {
			if err := p.deps.Hooks.AfterStep(s.name); err != nil {
				return nil, err
			}
		}
	}
	return p.result(ctx)
}

// fail records err in the state (best effort, even when ctx is done) and returns the typed error.
func (p *proc) fail(ctx context.Context, stepName string, err error) error {
	var pe *PendingError
	if errors.As(err, &pe) {
		p.st.LastError = ""
		p.save(context.WithoutCancel(ctx))
		p.log.Info("pending", slog.String("step", stepName), slog.Time("since", pe.Since))
		return err
	}
	se := &StepError{Process: p.st.ID, Kind: p.st.Kind, Step: stepName, Err: err}
	se.Code, se.Retryable = classify(err)
	p.st.LastError = se.Error()
	p.save(context.WithoutCancel(ctx))
	p.log.Warn("step failed", slog.String("step", stepName), slog.String("code", se.Code),
		slog.Bool("retryable", se.Retryable), slog.String("error", err.Error()))
	return se
}

// classify extracts the eHealth code of err and decides whether resuming unchanged can help.
func classify(err error) (code string, retryable bool) {
	code = soap.Code(err)
	var (
		se  *soap.StatusError
		f   *soap.Fault
		he  *soap.HTTPError
		te  *soap.TransportError
		pe  *soap.ProtocolError
		tl  *soap.ResponseTooLargeError
		cna *ContractNotAcceptedError
		lk  *LockedError
	)
	switch {
	case errors.As(err, &se):
		// A code that may clear by itself, or a Responder status without a code (the platform's own trouble).
		responder := len(se.Codes()) == 0 && len(se.StatusCodes) > 0 && se.StatusCodes[0] == ehealth.StatusResponder
		return code, se.Retryable() || se.Pending() || responder
	case errors.As(err, &f):
		if code == "" {
			code = f.Code
		}
		// A server fault (backend trouble, SOA-00xxx "service error") may clear; a client fault, or an eHealth
		// fault about the message (SOA-03xxx), authentication (SOA-01xxx) or authorisation (SOA-02xxx), means
		// the request must change.
		ec := f.EHealthCode()
		return code, !isClientFault(f.Code) && (ec == "" || strings.HasPrefix(ec, "SOA-00"))
	case errors.As(err, &he):
		return code, he.StatusCode >= 500 || he.StatusCode == 429
	case errors.As(err, &te), errors.As(err, &pe), errors.As(err, &tl):
		// Dropped connections, timeouts, garbage or truncated answers: the platform may or may not have acted;
		// the steps are idempotent, so resuming is safe.
		return code, true
	case isContextErr(err), errors.As(err, &cna), errors.As(err, &lk):
		return code, true
	}
	return code, false
}

func isClientFault(code string) bool {
	for _, s := range []string{"Client", "client"} {
		if len(code) >= len(s) && code[len(code)-len(s):] == s {
			return true
		}
	}
	return false
}

// start creates a new process in store, refusing a store that already holds one.
func start(ctx context.Context, store Store, deps *Deps, kind Kind, init func(st *State) error) (*Result, error) {
	if store == nil {
		return nil, &MissingDependencyError{Field: "store"}
	}
	if deps == nil {
		deps = &Deps{}
	}
	unlock, err := lock(ctx, store)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if st, err := loadState(ctx, store); err == nil {
		return nil, &ProcessExistsError{Kind: st.Kind, Step: st.Step, Done: st.Done}
	} else if !errors.Is(err, ErrNoProcess) {
		return nil, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := deps.rand().Read(salt); err != nil {
		return nil, err
	}
	now := deps.now().UTC()
	st := &State{Version: StateVersion, Kind: kind, ID: hex.EncodeToString(id), Created: now, Updated: now,
		KDF: KDFParams{Salt: salt, Iterations: deps.kdfIterations()}}
	if err := init(st); err != nil {
		return nil, err
	}
	p := newProc(st, store, deps)
	if err := p.save(ctx); err != nil {
		return nil, err
	}
	p.log.Info("process started")
	return p.run(ctx)
}

// openProc locks the process held in store and loads its saved state; the caller runs unlock when done.
func openProc(ctx context.Context, store Store, deps *Deps) (p *proc, unlock func(), err error) {
	if deps == nil {
		deps = &Deps{}
	}
	if store == nil {
		return nil, nil, &MissingDependencyError{Field: "store"}
	}
	unlock, err = lock(ctx, store)
	if err != nil {
		return nil, nil, err
	}
	st, err := loadState(ctx, store)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	p = newProc(st, store, deps)
	p.markSaved()
	return p, unlock, nil
}

// Resume continues the process held in store from its last completed step. A finished process returns its
// Result without sending anything. deps must hold what the remaining steps need (the same password; the eID
// keys if a contract is still to be signed).
func Resume(ctx context.Context, store Store, deps *Deps) (*Result, error) {
	p, unlock, err := openProc(ctx, store, deps)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st := p.st
	if st.Done {
		// A crash between the last save and the removal of the pending keys left them behind.
		if err := p.removePendingKeys(ctx); err != nil {
			p.log.Warn("pending key files not removed", slog.Any("error", err))
		}
		return p.result(ctx)
	}
	p.log.Info("process resumed", slog.String("after", st.Step))
	return p.run(ctx)
}

// Result is what a finished process produced. Keystore and ETK are also in the store (FileKeystore, FileETK).
type Result struct {
	Kind Kind
	// Certificate is the delivered authentication certificate (create, renew, foreigner) and Chain its chain,
	// leaf first.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// EncryptionSerial is the decimal serial of the registered encryption certificate: its keystore alias.
	EncryptionSerial string
	// Keystore is the PKCS#12 keystore (password: Deps.Password); ETK the ETK as returned (nil when the
	// platform reported it already registered and it was not returned again).
	Keystore []byte
	ETK      []byte
	// Activated is true when a renewal ETK was activated.
	Activated bool
	// RevokedPublicKeyIdentifier is set by a revocation.
	RevokedPublicKeyIdentifier string
}

func (p *proc) result(ctx context.Context) (*Result, error) {
	r := &Result{Kind: p.st.Kind}
	if p.st.Revocation != nil {
		r.RevokedPublicKeyIdentifier = p.st.Revocation.PublicKeyIdentifier
	}
	if p.st.Auth != nil && len(p.st.Auth.Chain) > 0 {
		chain, err := parseChain(p.st.Auth.Chain)
		if err != nil {
			return nil, &StateError{Err: err}
		}
		r.Chain, r.Certificate = chain, chain[0]
	}
	if p.st.Enc != nil {
		r.EncryptionSerial = p.st.Enc.Serial
		r.Activated = p.st.Enc.Activated
	}
	if p.st.Kind != KindRevoke {
		if b, err := p.store.Get(ctx, FileKeystore); err == nil {
			r.Keystore = b
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if b, err := p.store.Get(ctx, FileETK); err == nil {
			r.ETK = b
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return r, nil
}

func parseChain(ders [][]byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("empty certificate chain")
	}
	return out, nil
}

// ProcessStatus describes a process for a person: where it is and what it waits for.
type ProcessStatus struct {
	Kind    Kind
	ID      string
	Step    string // last step whose outcome is saved, "" before the first (a running process saves at checkpoints)
	Next    string // the step Resume runs next, "" when done
	Done    bool
	Created time.Time
	Updated time.Time
	Subject Subject
	// DN is the certificate's distinguished name once the contract is known.
	DN string
	// PublicKeyIdentifier of the new authentication key, once generated.
	PublicKeyIdentifier string
	// PendingSince is set while the platform has not delivered the certificate.
	PendingSince           *time.Time
	AutomaticallyValidated *bool
	// ValidationURL and ValidationExpires are the foreigner's confirmation URL and its expiry.
	ValidationURL     string
	ValidationExpires *time.Time
	EncryptionSerial  string
	ToBeActivated     bool
	LastError         string
}

// Status reports where the process in store is, without sending anything or needing the password.
func Status(ctx context.Context, store Store) (*ProcessStatus, error) {
	st, err := loadState(ctx, store)
	if err != nil {
		return nil, err
	}
	s := &ProcessStatus{Kind: st.Kind, ID: st.ID, Step: st.Step, Done: st.Done, Created: st.Created,
		Updated: st.Updated, Subject: st.Subject, LastError: st.LastError}
	steps := flowSteps[st.Kind]
	for i, x := range steps {
		if st.Step == "" {
			s.Next = steps[0].name
			break
		}
		if x.name == st.Step && i+1 < len(steps) {
			s.Next = steps[i+1].name
		}
	}
	if st.Done {
		s.Next = ""
	}
	if st.Contract != nil {
		s.DN = st.Contract.DN
	}
	if st.Renewal != nil && s.DN == "" {
		s.DN = st.Renewal.DN
	}
	if a := st.Auth; a != nil {
		s.PublicKeyIdentifier = a.PublicKeyIdentifier
		if len(a.Chain) == 0 {
			s.PendingSince = a.PendingSince
		}
		s.AutomaticallyValidated = a.AutomaticallyValidated
	}
	if f := st.Foreigner; f != nil {
		s.ValidationURL, s.ValidationExpires = f.ValidationURL, f.ExpirationDate
	}
	if e := st.Enc; e != nil {
		s.EncryptionSerial, s.ToBeActivated = e.Serial, e.ToBeActivated && !e.Activated
	}
	return s, nil
}
