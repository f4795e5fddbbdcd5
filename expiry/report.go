package expiry

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON document WriteJSON prints (the schemaVersion member).
const SchemaVersion = 1

// Schema is the JSON Schema (report.schema.json) of the document WriteJSON prints.
//
//go:embed report.schema.json
var Schema []byte

// Status is the outcome of a check, ordered like the exit codes of monitoring checks.
type Status int

// The statuses; their values are the exit codes.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

var statusNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// String returns OK, WARNING, CRITICAL or UNKNOWN.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(statusNames) {
		return nil, fmt.Errorf("expiry: invalid status %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if string(b) == n {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("expiry: unknown status %q", b)
}

// severity orders statuses for combining: a CRITICAL finding wins, then WARNING, then UNKNOWN. An UNKNOWN (an
// online check that could not be made) does not hide what the keystore's own dates say.
func (s Status) severity() int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// Kinds of Item.
const (
	KindAuthentication = "authentication"
	KindEncryption     = "encryption"
)

// Sources of Replacement.
const (
	// SourceCertRA: from GetCertificateInfoForAuthenticationCertificate (Replaceable, ReplacementPeriodStartDate).
	SourceCertRA = "certra"
	// SourceEstimated: estimated offline as NotAfter - Options.ReplacementPeriod.
	SourceEstimated = "estimated"
)

// Report is the outcome of Check. Its JSON form is described by Schema.
type Report struct {
	SchemaVersion int `json:"schemaVersion"`
	// Status is the overall outcome; ExitCode is its exit code.
	Status   Status `json:"status"`
	ExitCode int    `json:"exitCode"`
	// Summary is one line for a monitoring system: the most severe finding, or what is fine.
	Summary string `json:"summary"`
	// Action is one plain sentence saying what to do next.
	Action string `json:"action"`
	// Keystore is the keystore file checked ("" when the caller gave a parsed keystore without a path).
	Keystore   string     `json:"keystore"`
	CheckedAt  time.Time  `json:"checkedAt"`
	Thresholds Thresholds `json:"thresholds"`
	// Online says which online checks were asked for.
	Online Online `json:"online"`
	// Items are the key entries of the keystore, in keystore order.
	Items []Item `json:"items"`
	// CertRA and Depot are the answers of the online checks, when asked for.
	CertRA *CertRAResult `json:"certra,omitempty"`
	Depot  *DepotResult  `json:"depot,omitempty"`
	// Findings are what is not OK, most severe first.
	Findings []Finding `json:"findings"`

	workDir string // the flows work directory checked, "" for a keystore file
}

// workDirPlaceholder is how actions name a work directory the check does not know.
var workDirPlaceholder = regexp.MustCompile(`<work directory[^>]*>`)

// Thresholds are the day counts below which a current entry is WARNING or CRITICAL (negative: disabled).
type Thresholds struct {
	WarningDays  int `json:"warningDays"`
	CriticalDays int `json:"criticalDays"`
}

// Online says which online checks were asked for.
type Online struct {
	CertRA bool `json:"certra"`
	Depot  bool `json:"depot"`
}

// Item is one key entry of the keystore.
type Item struct {
	// Kind is KindAuthentication or KindEncryption.
	Kind  string `json:"kind"`
	Alias string `json:"alias"`
	// Current is true for the entries in use: the "authentication" entry and the encryption keys of its
	// certificate. Entries kept from before a renewal are not current and do not affect the status.
	Current bool `json:"current"`
	// Placeholder is true for an authentication entry still holding the placeholder certificate (not delivered).
	Placeholder bool   `json:"placeholder,omitempty"`
	Subject     string `json:"subject"`
	Issuer      string `json:"issuer"`
	// Serial is the certificate's serial number in decimal (an encryption key's alias).
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// DaysLeft is DaysLeft(NotAfter, CheckedAt): whole days, negative once expired.
	DaysLeft int  `json:"daysLeft"`
	Expired  bool `json:"expired"`
	// Status is the most severe finding about this entry.
	Status Status `json:"status"`
	// Replacement is the replacement period of the current authentication certificate.
	Replacement *Replacement `json:"replacement,omitempty"`
	// PublishedInDepot tells, for an encryption key, whether the depot publishes its ETK (nil: not checked).
	PublishedInDepot *bool `json:"publishedInDepot,omitempty"`
}

// Replacement is the replacement period of an authentication certificate.
type Replacement struct {
	// Open is true when a replacement may be requested now (ehcert renew).
	Open bool `json:"open"`
	// StartsAt is when the period opens.
	StartsAt time.Time `json:"startsAt"`
	// Source is SourceCertRA or SourceEstimated.
	Source string `json:"source"`
}

// CertRAResult is what CertRA said about the authentication certificate.
type CertRAResult struct {
	// CertificateStatus and ETKStatus are the AuthenticationCertificateStatus and ETKStatus values.
	CertificateStatus      string     `json:"certificateStatus,omitempty"`
	ETKStatus              string     `json:"etkStatus,omitempty"`
	Replaceable            bool       `json:"replaceable"`
	ReplacementPeriodStart *time.Time `json:"replacementPeriodStart,omitempty"`
	NotAfter               *time.Time `json:"notAfter,omitempty"`
	// Error and Code describe a failed call (Code: the eHealth code, soap.Code).
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// DepotResult is what the ETK Depot publishes for the certificate's holder.
type DepotResult struct {
	// Holder is TYPE=value[/APPID].
	Holder string `json:"holder,omitempty"`
	// Published is false when the depot has no ETK for the holder.
	Published bool `json:"published"`
	// ETKSerial and ETKNotAfter describe the published ETK's encryption certificate.
	ETKSerial   string     `json:"etkSerial,omitempty"`
	ETKNotAfter *time.Time `json:"etkNotAfter,omitempty"`
	// MatchesAlias is the alias of the keystore's key the ETK encrypts to ("" when none).
	MatchesAlias string `json:"matchesAlias,omitempty"`
	// MatchesCurrent is true when that key is current.
	MatchesCurrent bool `json:"matchesCurrent"`
	// Stale is true when the answer came from the ETK cache because the depot failed.
	Stale bool   `json:"stale,omitempty"`
	Error string `json:"error,omitempty"`
}

// Finding is one thing that is not OK.
type Finding struct {
	Status Status `json:"status"`
	// Alias is the entry concerned ("" for the keystore as a whole).
	Alias   string `json:"alias,omitempty"`
	Message string `json:"message"`
	// Action is what to do about it.
	Action string `json:"action"`
}

func (r *Report) add(f Finding) { r.Findings = append(r.Findings, f) }

// finish fills in the actions, the item statuses, the overall status, the summary and the action.
func (r *Report) finish() {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Action == "" {
			f.Action = r.renewAction()
		}
		if r.workDir != "" {
			f.Action = workDirPlaceholder.ReplaceAllLiteralString(f.Action, shellQuote(r.workDir))
		}
		for j := range r.Items {
			if it := &r.Items[j]; it.Alias == f.Alias && f.Alias != "" && f.Status.severity() > it.Status.severity() {
				it.Status = f.Status
			}
		}
	}
	// Most severe first; the order of discovery among equals.
	fs := r.Findings
	slices.SortStableFunc(fs, func(a, b Finding) int { return b.Status.severity() - a.Status.severity() })
	r.Status = OK
	if len(fs) > 0 {
		r.Status = fs[0].Status
		r.Summary = fs[0].Message
		r.Action = fs[0].Action
	} else {
		r.Summary, r.Action = r.okSummary()
	}
	r.ExitCode = int(r.Status)
}

// auth returns the current authentication item, or nil.
func (r *Report) auth() *Item {
	for i := range r.Items {
		if it := &r.Items[i]; it.Kind == KindAuthentication && it.Current {
			return it
		}
	}
	return nil
}

// renewAction is the next step for a certificate that expires or has expired.
func (r *Report) renewAction() string {
	it := r.auth()
	cmd := r.RenewCommand()
	switch {
	case it == nil || it.Placeholder:
		return "Check that this is the keystore your software uses."
	case it.Expired:
		return "The certificate can no longer be renewed: request a new one with ehcert create, then install the new keystore."
	case it.Replacement != nil && it.Replacement.Open:
		return fmt.Sprintf("Renew it now, the replacement period is open: %s (before %s).", cmd, day(it.NotAfter))
	case it.Replacement != nil:
		return fmt.Sprintf("Renew it as soon as the replacement period opens on %s: %s.", day(it.Replacement.StartsAt), cmd)
	}
	return "Renew it: " + cmd + "."
}

func (r *Report) okSummary() (summary, action string) {
	it := r.auth()
	if it == nil {
		return "no certificate to check", "Nothing to do."
	}
	summary = fmt.Sprintf("the eHealth certificate %s is valid until %s (%s left)", it.Subject, day(it.NotAfter), plural(it.DaysLeft, "day"))
	switch {
	case it.Replacement != nil && it.Replacement.Open:
		action = fmt.Sprintf("The replacement period is open: renew before %s with %s.", day(it.NotAfter), r.RenewCommand())
	case it.Replacement != nil:
		action = fmt.Sprintf("Nothing to do now; the replacement period opens on %s, then run %s.", day(it.Replacement.StartsAt), r.RenewCommand())
	default:
		action = "Nothing to do now."
	}
	return summary, action
}

// RenewCommand is the ehcert command line that renews the checked keystore's certificate.
func (r *Report) RenewCommand() string {
	ks := "<keystore file>"
	if r.Keystore != "" {
		ks = shellQuote(r.Keystore)
	}
	return "ehcert renew --keystore " + ks
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters (the connector's keystore
// names hold spaces and '=').
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+,", r)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
