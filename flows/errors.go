package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// StepError reports the step of a process that failed. The state on disk is that of the last completed step:
// Resume continues from there. Use errors.As to reach the cause (*soap.StatusError, *soap.Fault, ...).
type StepError struct {
	Process string // process id
	Kind    Kind
	Step    string
	// Code is the eHealth error code (EteeStatusDetail) or SOAP fault code, when the platform gave one.
	Code string
	// Retryable reports whether running Resume again, unchanged, can succeed (a network failure, a 5xx, a
	// platform error that may clear by itself). False means something must change first.
	Retryable bool
	Err       error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flows: %s process %s: step %q", e.Kind, e.Process, e.Step)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Retryable {
		b.WriteString(" [retryable: resume the process]")
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// PendingError is returned when a process waits for something outside it: the platform has not delivered the
// certificate yet (manual validation can take days; a foreigner must confirm in a browser) and the caller asked
// to stop instead of waiting (Deps.StopWhenPending), or ctx ended the wait. The state is saved; call Resume later.
type PendingError struct {
	Process string
	Kind    Kind
	Step    string
	// Since is when the platform first answered "not yet delivered".
	Since time.Time
	// AutomaticallyValidated is false when an operator must validate the request.
	AutomaticallyValidated *bool
	// ValidationURL is the URL a foreigner must open (foreigner processes only) and ValidationExpires its expiry.
	ValidationURL     string
	ValidationExpires *time.Time
	// Err is the context error when the wait was cut short by ctx, nil when stopped on request.
	Err error
}

func (e *PendingError) Error() string {
	s := fmt.Sprintf("flows: %s process %s is waiting for the certificate since %s", e.Kind, e.Process, e.Since.UTC().Format(time.RFC3339))
	if e.AutomaticallyValidated != nil && !*e.AutomaticallyValidated {
		s += " (manual validation by eHealth)"
	}
	if e.ValidationURL != "" {
		s += "; the foreigner must confirm at " + e.ValidationURL
	}
	return s + "; resume later"
}

func (e *PendingError) Unwrap() error { return e.Err }

// IsPending reports whether err says the process is waiting for the platform and should be resumed later.
func IsPending(err error) bool {
	var p *PendingError
	return errors.As(err, &p)
}

// ContractNotAcceptedError is returned when the user did not accept the contract. Nothing was signed. Resume
// shows the same contract again.
type ContractNotAcceptedError struct{ DN string }

func (e *ContractNotAcceptedError) Error() string {
	return fmt.Sprintf("flows: the contract for %s was not accepted; nothing was signed", e.DN)
}

// NotReplaceableError is returned by Renew when the platform says the certificate cannot be replaced (yet).
type NotReplaceableError struct {
	Status                 string     // AuthenticationCertificateStatus
	ReplacementPeriodStart *time.Time // when replacement becomes possible, if known
	NotAfter               *time.Time
}

func (e *NotReplaceableError) Error() string {
	s := "flows: the certificate is not replaceable"
	if e.Status != "" {
		s += " (status " + e.Status + ")"
	}
	if e.ReplacementPeriodStart != nil {
		s += "; its replacement period starts " + e.ReplacementPeriodStart.UTC().Format(time.DateOnly)
	}
	return s
}

// NotAuthorizedError is returned when GetActorQualities does not allow a certificate for a natural person
// (personal certificates are only validated automatically; contact the eHealth contact center).
type NotAuthorizedError struct{ SSIN string }

func (e *NotAuthorizedError) Error() string {
	return "flows: the platform does not authorise a personal certificate for this person (GetActorQualities)"
}

// InvalidIdentifierError reports an organisation identifier refused by the platform's own rules
// (GetGenericOrganizationTypes: validation regex or check digits) before anything is requested.
type InvalidIdentifierError struct {
	Type, ID, Reason string
}

func (e *InvalidIdentifierError) Error() string {
	return fmt.Sprintf("flows: invalid %s identifier %q: %s", e.Type, e.ID, e.Reason)
}

// UnknownOrganizationTypeError reports an organisation type that the platform does not offer and for which the
// signer has no authorisation.
type UnknownOrganizationTypeError struct{ Type string }

func (e *UnknownOrganizationTypeError) Error() string {
	return fmt.Sprintf("flows: organisation type %q is not offered by the platform (GetGenericOrganizationTypes)", e.Type)
}

// ApplicationIDInUseError is returned when the organisation already has a certificate with the requested
// application id (or without one, when none was requested).
type ApplicationIDInUseError struct {
	Organization  string
	ApplicationID string // "" means "a certificate without application id"
}

func (e *ApplicationIDInUseError) Error() string {
	if e.ApplicationID == "" {
		return fmt.Sprintf("flows: organisation %s already has a certificate without application id; choose an application id", e.Organization)
	}
	return fmt.Sprintf("flows: application id %q is already used by organisation %s", e.ApplicationID, e.Organization)
}

// MismatchError reports an answer of the platform that does not fit the process: a delivered certificate for
// another key, a contract for another DN, a renewal DN that differs from the certificate being replaced.
type MismatchError struct{ What, Got, Want string }

func (e *MismatchError) Error() string {
	return fmt.Sprintf("flows: %s mismatch: got %q, want %q", e.What, e.Got, e.Want)
}

// ProcessExistsError is returned when a new process is started in a store that already holds one.
type ProcessExistsError struct {
	Kind Kind
	Step string
	Done bool
}

func (e *ProcessExistsError) Error() string {
	if e.Done {
		return fmt.Sprintf("flows: the store already holds a finished %s process; use a new work directory", e.Kind)
	}
	return fmt.Sprintf("flows: the store already holds a %s process at step %q; resume it or use a new work directory", e.Kind, e.Step)
}

// MissingDependencyError reports a Deps field a step needs but that is not set (nothing was sent).
type MissingDependencyError struct{ Field string }

func (e *MissingDependencyError) Error() string {
	return "flows: missing dependency: " + e.Field
}

// RequestError reports a request that cannot start a process (missing or invalid field). Err is the cause when
// another package refused the field (keystore.ErrWrongPassword for a keystore the password does not open).
type RequestError struct {
	Field, Reason string
	Err           error
}

func (e *RequestError) Error() string { return fmt.Sprintf("flows: %s: %s", e.Field, e.Reason) }

// Unwrap returns the cause, if any.
func (e *RequestError) Unwrap() error { return e.Err }

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
