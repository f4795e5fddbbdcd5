package flows

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// Deps is what a process needs besides its saved state: where and how to send, the user's eID keys, the
// keystore password, the user's answers, and how to wait. A Deps is built once per run of a command and given
// to Create, Renew, Revoke, Foreigner or Resume; none of it is stored.
//
// PIN economy: the eID keys are taken here, once, as sign.Key values; a process never asks for a key again and
// signs at most once per key and run (GetActorQualities with EIDAuthentication, GenerateCertificate or Revoke
// with EIDSignature), so a PKCS#11 token asks for each PIN at most once.
type Deps struct {
	// Environment gives the CertRA and EtkRA endpoints (ehealth.Acceptance, ehealth.Production, or
	// ehealth.CustomEnvironment for a local ehealthtest server).
	Environment ehealth.Environment
	// SOAP sends the requests; nil means a zero soap.Client (http.DefaultClient, no tracing headers).
	SOAP *soap.Client

	// EIDAuthentication and EIDSignature are the "Authentication" and "Signature" keys of the user's eID.
	// Create needs both, Renew and Revoke need EIDSignature, a foreigner process needs neither.
	EIDAuthentication, EIDSignature sign.Key

	// Password protects the keystore the process writes and the pending private keys in the work directory.
	// It is never stored, logged or put in an error. For Renew it must also open the keystore being renewed.
	Password string

	// Accept shows a contract to the user (its HTML text) and returns whether they accept it. Nothing is signed
	// before it returns true. Required for Create, Renew and Revoke.
	Accept func(ctx context.Context, c Contract) (bool, error)
	// ShowValidation tells a foreigner which URL to open to confirm the request, and until when. It is called
	// once, after SubmitCSRForForeigner; Status shows the URL again later.
	ShowValidation func(ctx context.Context, v Validation) error

	// PollInterval is the first wait between two GetCertificate calls while the certificate is not delivered;
	// it grows exponentially up to MaxPollInterval. Zero means 10 s (as the connector); a negative value means
	// no wait at all (tests, benchmarks).
	PollInterval time.Duration
	// MaxPollInterval caps the wait between polls; zero means 5 minutes.
	MaxPollInterval time.Duration
	// StopWhenPending makes the process save its state and return a *PendingError at the first "not yet
	// delivered" instead of polling: the mode for manual validation, which can take days. Without it the
	// process polls until the certificate comes or ctx ends (then also a *PendingError).
	StopWhenPending bool

	// Now is the clock; nil means time.Now. Rand is the random source; nil means crypto/rand.Reader.
	Now  func() time.Time
	Rand io.Reader
	// GenerateKey makes the new authentication and encryption keys; nil means RSA-2048 from Rand. It must
	// return an *rsa.PrivateKey of at least 2048 bits (the platform's rule); a benchmark can hand out keys
	// generated in advance.
	GenerateKey func(rand io.Reader) (*rsa.PrivateKey, error)
	// KDFIterations is the PBKDF2-HMAC-SHA256 iteration count protecting pending keys of new processes; zero
	// means 600000. Lower it only in tests.
	KDFIterations int

	// Hooks are test seams.
	Hooks Hooks
	// Logger receives a record per step and per notable event (never keys, PINs or passwords; national
	// numbers only at debug level); nil discards.
	Logger *slog.Logger
}

// Hooks let tests interrupt a process.
type Hooks struct {
	// AfterStep is called after each step, once the step's outcome is saved: when it is set, the process saves
	// its state after every step instead of at its checkpoints only (see the package doc), so that each step
	// boundary is a state on disk. A non-nil error stops the process there, as a crash would: the error is
	// returned as is and the state on disk is that of the step just completed.
	AfterStep func(step string) error
}

// String, GoString and LogValue keep the password out of any output.
func (d Deps) String() string {
	return "flows.Deps{Environment: " + d.Environment.Name + ", Password: redacted}"
}

// GoString is String, so that %#v does not print the password either.
func (d Deps) GoString() string { return d.String() }

// LogValue implements slog.LogValuer.
func (d Deps) LogValue() slog.Value {
	return slog.GroupValue(slog.String("environment", d.Environment.Name), slog.String("password", "redacted"))
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) rand() io.Reader {
	if d.Rand != nil {
		return d.Rand
	}
	return rand.Reader
}

func (d *Deps) soap() *soap.Client {
	if d.SOAP != nil {
		return d.SOAP
	}
	return &soap.Client{}
}

func (d *Deps) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (d *Deps) pollInterval() time.Duration {
	switch {
	case d.PollInterval < 0:
		return 0
	case d.PollInterval == 0:
		return 10 * time.Second
	}
	return d.PollInterval
}

func (d *Deps) maxPollInterval() time.Duration {
	if d.MaxPollInterval > 0 {
		return d.MaxPollInterval
	}
	return 5 * time.Minute
}

func (d *Deps) kdfIterations() int {
	if d.KDFIterations > 0 {
		return d.KDFIterations
	}
	return defaultKDFIterations
}

func (d *Deps) generateKey() (crypto.Signer, error) {
	var k *rsa.PrivateKey
	var err error
	if d.GenerateKey != nil {
		k, err = d.GenerateKey(d.rand())
	} else {
		k, err = rsa.GenerateKey(d.rand(), 2048)
	}
	if err != nil {
		return nil, err
	}
	if k == nil || k.N.BitLen() < 2048 {
		return nil, &RequestError{Field: "Deps.GenerateKey", Reason: "must return an RSA key of at least 2048 bits"}
	}
	return k, nil
}

// Contract is a contract the user must read and accept before anything is signed.
type Contract struct {
	// Revocation is true for a revocation contract.
	Revocation bool
	// DN is the distinguished name of the certificate the contract is about.
	DN string
	// Signer is the person who will sign it with their eID.
	Signer Person
	// RevocationReason is set for a revocation contract.
	RevocationReason string
	// Text maps a language code ("fr", "nl", "en", "de") to the HTML text of the contract.
	Text map[string]string
}

// HTML returns the contract's text in the first of the languages given that it has, else in any language.
func (c Contract) HTML(langs ...string) string {
	for _, l := range langs {
		if t, ok := c.Text[l]; ok {
			return t
		}
	}
	for _, l := range []string{"en", "fr", "nl", "de"} {
		if t, ok := c.Text[l]; ok {
			return t
		}
	}
	for _, t := range c.Text {
		return t
	}
	return ""
}

// Validation is what a foreigner must do to have their certificate issued.
type Validation struct {
	URL     string
	Expires time.Time
}
