package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// usageError is a mistake in the command line (or missing input such as a secret with nowhere to read it from):
// exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// credentialError marks a wrong PIN or password or a key problem found by the CLI itself: exit code 5.
type credentialError struct{ err error }

func (e *credentialError) Error() string { return e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// invalidError marks a failed validation (etk verify): exit code 7.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

// exitStatus ends the command with its exit code as is, printing nothing more: "ehcert check" follows the
// monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) instead of the table of describe, and its
// report on stdout already said everything.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// workdirError ties an error of a process to its work directory, so that the advice names it. again is the
// command that continues it ("resume" when empty).
type workdirError struct {
	dir   string
	err   error
	again string
}

func (e *workdirError) Error() string { return e.err.Error() }
func (e *workdirError) Unwrap() error { return e.err }

// isCredentialErr reports errors about PINs, passwords and keys. Packages that talk to tokens (sign/pkcs11) add
// their own through credentialMatchers.
func isCredentialErr(err error) bool {
	var ce *credentialError
	var alias *sign.AliasNotFoundError
	var mismatch *sign.KeyMismatchError
	var missing *sign.MissingKeyError
	var unsupported *sign.UnsupportedKeyError
	var missingSigner *soap.MissingSignerError
	var keyFile *flows.KeyFileError
	switch {
	case errors.As(err, &ce), errors.Is(err, sign.ErrIncorrectPassword), errors.Is(err, keystore.ErrWrongPassword),
		errors.Is(err, flows.ErrWrongPassword), errors.Is(err, sign.ErrNoCertificate), errors.Is(err, sign.ErrEncryptedPEM),
		errors.As(err, &alias), errors.As(err, &mismatch), errors.As(err, &missing), errors.As(err, &unsupported),
		errors.As(err, &missingSigner), errors.As(err, &keyFile):
		return true
	}
	for _, m := range credentialMatchers {
		if m(err) {
			return true
		}
	}
	return false
}

// credentialMatchers recognise token errors (wrong PIN, locked PIN, no token) and credentialAdvisers say what
// to do about them; see pkcs11.go.
var (
	credentialMatchers []func(error) bool
	credentialAdvisers []func(error) string
)

// isUnreachable reports failures to reach the platform that may clear by themselves.
func isUnreachable(err error) bool {
	if isTLSTrust(err) {
		return false
	}
	var te *soap.TransportError
	if errors.As(err, &te) {
		return !errors.Is(err, context.Canceled)
	}
	var he *soap.HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var ae *etkdepot.APIError
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	if (errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe)) && !errors.Is(err, context.Canceled) {
		return !isTLSTrust(err)
	}
	return false
}

func isTLSTrust(err error) bool {
	var ua x509.UnknownAuthorityError
	var uap *x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var tv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &uap) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &tv)
}

// isPlatformRefusal reports an answer of the platform that refuses the request.
func isPlatformRefusal(err error) bool {
	var se *soap.StatusError
	var f *soap.Fault
	var ae *etkdepot.APIError
	var na *flows.NotAuthorizedError
	var nr *flows.NotReplaceableError
	var inUse *flows.ApplicationIDInUseError
	var ut *flows.UnknownOrganizationTypeError
	var he *soap.HTTPError
	switch {
	case errors.As(err, &se), errors.As(err, &f), errors.As(err, &na), errors.As(err, &nr), errors.As(err, &inUse),
		errors.As(err, &ut):
		return true
	case errors.As(err, &ae):
		return !ae.Temporary()
	case errors.As(err, &he):
		return !he.Temporary()
	}
	return false
}

// describe maps an error to its exit code and the lines to print: what failed, then what to do.
func describe(err error) (int, []string) {
	dir, again := "DIR", "resume"
	var wd *workdirError
	if errors.As(err, &wd) {
		dir = wd.dir
		if wd.again != "" {
			again = wd.again
		}
	}
	resume := fmt.Sprintf("ehcert %s --workdir %s", again, shellQuote(dir))
	var step *flows.StepError
	hasStep := errors.As(err, &step)
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	var pending *flows.PendingError
	var ue *usageError
	switch {
	case errors.As(err, &pending):
		add("%s", err.Error())
		if pending.ValidationURL != "" {
			add("the person must confirm the request at %s", pending.ValidationURL)
			if pending.ValidationExpires != nil {
				add("(before %s)", pending.ValidationExpires.Local().Format("2006-01-02 15:04"))
			}
		} else if pending.AutomaticallyValidated != nil && !*pending.AutomaticallyValidated {
			add("an eHealth operator must validate the request; this can take several days")
		}
		add("state saved; continue later with: %s", resume)
		return exitPending, lines

	case errors.As(err, &ue) || isCobraUsage(err) || (isBadInput(err) && !isCredentialErr(err)):
		lines = []string{err.Error()}
		var pe *flows.ProcessExistsError
		if errors.As(err, &pe) && !pe.Done {
			lines = append(lines, fmt.Sprintf("continue it with: %s", resume))
		}
		if errors.As(err, &ue) || isCobraUsage(err) {
			lines = append(lines, `(run "ehcert help" or add --help for usage)`)
		}
		return exitUsage, lines

	case isCredentialErr(err):
		add("%s", err.Error())
		switch {
		case errors.Is(err, sign.ErrIncorrectPassword), errors.Is(err, keystore.ErrWrongPassword), errors.Is(err, flows.ErrWrongPassword):
			add("the password is wrong; it is read from --eid-password-file/--password-file, else EHCERT_EID_PASSWORD/EHCERT_KEYSTORE_PASSWORD, else asked on the terminal")
		default:
			advice := "check the eID (card inserted, PIN) or the keystore and its password"
			for _, f := range credentialAdvisers {
				if s := f(err); s != "" {
					advice = s
					break
				}
			}
			add("%s", advice)
		}
		if hasStep {
			add("nothing more was sent; after fixing it: %s", resume)
		}
		return exitCredentials, lines

	case isValidationErr(err):
		add("%s", err.Error())
		var ve *etk.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				add("- %s", p.Error())
			}
		}
		return exitInvalid, lines

	case isUnreachable(err):
		add("%s", err.Error())
		if hasStep {
			add("the platform could not be reached at step %q; try again later with: %s", step.Step, resume)
		} else {
			add("the platform could not be reached (network, timeout or a proxy error); try again later")
		}
		return exitUnreachable, lines

	case isPlatformRefusal(err):
		add("%s", err.Error())
		platformAdvice(err, hasStep, step, resume, add)
		return exitPlatform, lines

	case isTLSTrust(err):
		add("%s", err.Error())
		add("the server's TLS certificate is not trusted: for the simulator, add --ca-file STATE_DIR/root.pem")
		return exitFailure, lines

	case errors.Is(err, context.Canceled):
		add("interrupted")
		if hasStep {
			add("state saved; continue with: %s", resume)
		}
		return exitFailure, lines
	}
	add("%s", err.Error())
	var cna *flows.ContractNotAcceptedError
	if errors.As(err, &cna) {
		add("nothing was signed; to accept it: %s --accept", resume)
	} else if hasStep && step.Retryable {
		add("step %q failed; retrying may help: %s", step.Step, resume)
	}
	return exitFailure, lines
}

// isBadInput reports input the libraries refused before sending anything: exit code 2.
func isBadInput(err error) bool {
	var re *flows.RequestError
	var ie *flows.InvalidIdentifierError
	var pe *flows.ProcessExistsError
	var eie *ehealth.InvalidIdentifierError
	var ute *ehealth.UnknownIdentifierTypeError
	var qe *etkdepot.QueryError
	var he *soap.InvalidHeaderError
	return errors.As(err, &re) || errors.As(err, &ie) || errors.As(err, &pe) || errors.As(err, &eie) ||
		errors.As(err, &ute) || errors.As(err, &qe) || errors.As(err, &he)
}

func isValidationErr(err error) bool {
	var ie *invalidError
	var ve *etk.ValidationError
	var re *etkdepot.RejectedError
	return errors.As(err, &ie) || errors.As(err, &ve) || errors.As(err, &re)
}

func platformAdvice(err error, hasStep bool, step *flows.StepError, resume string, add func(string, ...any)) {
	code := soap.Code(err)
	if hasStep && step.Code != "" {
		code = step.Code
	}
	var se *soap.StatusError
	var f *soap.Fault
	var ae *etkdepot.APIError
	where := ""
	switch {
	case hasStep:
		where = step.Step
	case errors.As(err, &se):
		where = se.Operation
	case errors.As(err, &f):
		where = f.Operation
	case errors.As(err, &ae):
		where = ae.Op
	}
	if code == "" && ae != nil {
		code = ae.Code
	}
	if code != "" {
		add("eHealth code: %s", code)
	}
	if se != nil {
		for _, d := range se.Details {
			if d.Message != "" && !strings.Contains(err.Error(), d.Message) {
				add("  %s: %s", d.Code, d.Message)
			}
		}
	}
	if where != "" {
		add("step: %s", where)
	}
	retry := false
	switch {
	case hasStep:
		retry = step.Retryable
	case se != nil:
		retry = se.Retryable()
	case f != nil:
		retry = f.HTTPStatus >= 500 && !strings.HasPrefix(code, "SOA-03")
	}
	switch {
	case retry && hasStep:
		add("this may clear by itself: retry later with %s", resume)
	case retry:
		add("this may clear by itself: retry later")
	case hasStep:
		add("retrying unchanged will not help; fix the cause, then %s (or start over in a new work directory)", resume)
	default:
		add("retrying unchanged will not help; check the request")
	}
}

// isCobraUsage recognises the errors cobra returns for unknown commands, arguments and flags.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag",
		"accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument",
		"bad flag syntax", "if any flags in the group"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
