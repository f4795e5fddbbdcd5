package expiry

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// Defaults of Options.
const (
	// DefaultWarningDays: fewer days left than this on a current entry is a WARNING.
	DefaultWarningDays = 60
	// DefaultCriticalDays: fewer days left than this on a current entry is CRITICAL.
	DefaultCriticalDays = 14
	// DefaultReplacementPeriod is the offline estimate of the replacement period: it opens this long before the
	// authentication certificate expires. The cookbook (001 §4.3.5) says "about 3 months before expiration" and
	// that the server defines the exact period; 90 days is what ehealthtest uses. Online, CertRA's
	// ReplacementPeriodStartDate and Replaceable are used instead.
	DefaultReplacementPeriod = 90 * 24 * time.Hour
	// WorkDirKeystore is the keystore file of a flows work directory (flows.FileKeystore).
	WorkDirKeystore = "keystore.p12"
)

// Options say what to check and how.
type Options struct {
	// Keystore is the keystore to check. When nil, it is read from KeystorePath with Password.
	Keystore *keystore.Keystore
	// KeystorePath is a PKCS#12 keystore or a flows work directory (its keystore.p12 is read). It is shown in
	// the report and in the renew command the report suggests; it may be set together with Keystore.
	KeystorePath string
	// Password opens the keystore at KeystorePath. It is never stored in the report or put in an error.
	Password []byte

	// Now is the moment of the check; zero means time.Now().
	Now time.Time
	// WarningDays and CriticalDays are the thresholds: a current entry with fewer days left is WARNING or
	// CRITICAL. Zero means DefaultWarningDays and DefaultCriticalDays; a negative value disables the threshold.
	WarningDays, CriticalDays int
	// ReplacementPeriod is the offline estimate of the replacement period; zero means DefaultReplacementPeriod.
	ReplacementPeriod time.Duration

	// CertRA, when set, makes the check online: GetCertificateInfoForAuthenticationCertificate is called,
	// signed with the keystore's authentication key unless CertRA.Signer is already set. Its answer gives the
	// certificate and ETK status and the exact replacement period. CertRA is not modified.
	CertRA *certra.Client
	// Depot, when set, is asked for the ETK of the certificate's holder (GET /etks), and the ETK's encryption
	// key is compared with the keystore's encryption keys. Depot.ValidateETK must be set (see etkdepot).
	Depot *etkdepot.Client
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func days(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// LoadKeystore reads the keystore at path: a PKCS#12 file, or a flows work directory whose keystore.p12 is read.
// It returns the path of the file it read. A wrong password is an error matching keystore.ErrWrongPassword.
func LoadKeystore(path string, password []byte) (*keystore.Keystore, string, error) {
	if path == "" {
		return nil, "", errors.New("expiry: no keystore path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, path, fmt.Errorf("expiry: keystore: %w", err)
	}
	if fi.IsDir() {
		path = filepath.Join(path, WorkDirKeystore)
	}
	ks, err := keystore.ReadFile(path, password)
	if err != nil {
		return nil, path, fmt.Errorf("expiry: keystore %s: %w", path, err)
	}
	return ks, path, nil
}

// Check examines a keystore at opts.Now and returns the report. It always returns a report, which WriteText and
// WriteJSON can print; err is non-nil only when the keystore could not be read (the report's status is then
// UNKNOWN). Failures of the online checks (CertRA, Depot) are findings in the report, not errors.
func Check(ctx context.Context, opts Options) (*Report, error) {
	now := opts.now().UTC()
	r := &Report{
		SchemaVersion: SchemaVersion,
		Keystore:      opts.KeystorePath,
		CheckedAt:     now,
		Thresholds:    Thresholds{WarningDays: days(opts.WarningDays, DefaultWarningDays), CriticalDays: days(opts.CriticalDays, DefaultCriticalDays)},
		Items:         []Item{},
		Findings:      []Finding{},
	}
	if fi, err := os.Stat(opts.KeystorePath); err == nil && fi.IsDir() {
		r.Keystore = filepath.Join(opts.KeystorePath, WorkDirKeystore)
		r.workDir = opts.KeystorePath
	}
	ks := opts.Keystore
	if ks == nil {
		var err error
		ks, _, err = LoadKeystore(opts.KeystorePath, opts.Password)
		if err != nil {
			msg := "the keystore could not be read: " + err.Error()
			action := "Check the keystore path and password."
			if errors.Is(err, keystore.ErrWrongPassword) {
				msg, action = "the password does not open the keystore", "Check the keystore password."
			}
			r.add(Finding{Status: Unknown, Message: msg, Action: action})
			r.finish()
			return r, err
		}
	}

	c := &checker{opts: &opts, now: now, r: r, ks: ks}
	c.classify()
	c.offline()
	if opts.CertRA != nil {
		r.Online.CertRA = true
		c.certra(ctx)
	}
	if opts.Depot != nil {
		r.Online.Depot = true
		c.depot(ctx)
	}
	r.finish()
	return r, nil
}

type checker struct {
	opts *Options
	now  time.Time
	r    *Report
	ks   *keystore.Keystore

	auth     *keystore.KeyEntry // the "authentication" entry, nil when absent
	authCert *x509.Certificate  // its certificate, nil when absent or a placeholder
	authItem int                // index of its item, -1 when absent
	encItems []int              // indexes of the encryption items
}

// classify makes one item per key entry and decides which ones are current.
func (c *checker) classify() {
	c.authItem = -1
	if e, ok := c.ks.Authentication(); ok && e.Certificate() != nil {
		c.auth = e
		if !isPlaceholder(e.Certificate()) {
			c.authCert = e.Certificate()
		}
	}
	for i := range c.ks.Keys {
		e := &c.ks.Keys[i]
		cert := e.Certificate()
		if cert == nil {
			continue
		}
		it := newItem(e.Alias, cert, c.now)
		switch {
		case e == c.auth:
			it.Kind, it.Current = KindAuthentication, true
			it.Placeholder = isPlaceholder(cert)
			c.authItem = len(c.r.Items)
		case strings.EqualFold(e.Alias, keystore.AuthenticationAlias):
			it.Kind = KindAuthentication // a duplicate alias differing in case: not the one used
		case keystore.IsEncryptionCertificate(cert):
			it.Kind = KindEncryption
			// FACTS §8: the encryption certificate is signed with the authentication key. Without a delivered
			// authentication certificate nothing can be told apart: every encryption key counts.
			it.Current = c.authCert == nil || signedBy(cert, c.authCert)
			c.encItems = append(c.encItems, len(c.r.Items))
		default:
			it.Kind = KindAuthentication // "authentication-<serial>" after a renewal
		}
		c.r.Items = append(c.r.Items, it)
	}
}

// isPlaceholder tells the connector's placeholder certificate (C=Dummy, serial 0) of a key waiting for delivery.
func isPlaceholder(c *x509.Certificate) bool {
	return c.SerialNumber != nil && c.SerialNumber.Sign() == 0 && len(c.Subject.Country) == 1 && c.Subject.Country[0] == "Dummy"
}

func signedBy(c, parent *x509.Certificate) bool {
	return parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func newItem(alias string, cert *x509.Certificate, now time.Time) Item {
	subject, err := certreq.FormatRawDN(cert.RawSubject)
	if err != nil {
		subject = cert.Subject.String()
	}
	issuer, err := certreq.FormatRawDN(cert.RawIssuer)
	if err != nil {
		issuer = cert.Issuer.String()
	}
	serial := ""
	if cert.SerialNumber != nil {
		serial = cert.SerialNumber.String()
	}
	return Item{
		Alias: alias, Subject: subject, Issuer: issuer, Serial: serial,
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(),
		DaysLeft: DaysLeft(cert.NotAfter, now), Expired: !now.Before(cert.NotAfter), Status: OK,
	}
}

// DaysLeft is the number of whole days from now until notAfter, rounded down: 0 on the last day, negative once
// expired (-1 during the first day after).
func DaysLeft(notAfter, now time.Time) int {
	return int(math.Floor(notAfter.Sub(now).Hours() / 24))
}

// offline evaluates the dates of every current entry and estimates the replacement period.
func (c *checker) offline() {
	r := c.r
	warn, crit := r.Thresholds.WarningDays, r.Thresholds.CriticalDays
	if c.authItem < 0 {
		r.add(Finding{Status: Unknown, Message: `the keystore has no "authentication" entry: it is not an eHealth keystore`,
			Action: "Check that this is the keystore your software uses."})
	} else if it := &r.Items[c.authItem]; it.Placeholder {
		r.add(Finding{Status: Critical, Alias: it.Alias,
			Message: "the authentication certificate has not been delivered yet (the keystore holds the placeholder certificate)",
			Action:  "Finish the request: ehcert resume --workdir <work directory of the create process>."})
	} else {
		period := c.opts.ReplacementPeriod
		if period <= 0 {
			period = DefaultReplacementPeriod
		}
		start := it.NotAfter.Add(-period)
		it.Replacement = &Replacement{Open: !c.now.Before(start) && c.now.Before(it.NotAfter), StartsAt: start, Source: SourceEstimated}
	}

	current := 0
	for i := range r.Items {
		it := &r.Items[i]
		if !it.Current || it.Placeholder {
			continue
		}
		if it.Kind == KindEncryption {
			current++
		}
		what := "the eHealth authentication certificate"
		if it.Kind == KindEncryption {
			what = "the encryption key (ETK) " + it.Alias
		}
		switch {
		case it.Expired:
			r.add(Finding{Status: Critical, Alias: it.Alias, Message: fmt.Sprintf("%s expired on %s", what, day(it.NotAfter))})
		case c.now.Before(it.NotBefore):
			r.add(Finding{Status: Warning, Alias: it.Alias, Message: fmt.Sprintf("%s is not valid before %s", what, day(it.NotBefore))})
		case crit >= 0 && it.DaysLeft < crit:
			r.add(Finding{Status: Critical, Alias: it.Alias, Message: fmt.Sprintf("%s expires in %s (%s)", what, plural(it.DaysLeft, "day"), day(it.NotAfter))})
		case warn >= 0 && it.DaysLeft < warn:
			r.add(Finding{Status: Warning, Alias: it.Alias, Message: fmt.Sprintf("%s expires in %s (%s)", what, plural(it.DaysLeft, "day"), day(it.NotAfter))})
		}
	}
	if c.authCert != nil && current == 0 {
		r.add(Finding{Status: Warning, Message: "the keystore has no encryption key for the current certificate: nobody can encrypt messages for it",
			Action: "Register an ETK for this certificate (ehcert resume --workdir <work directory>, or a new ehcert create)."})
	}
}

// certra asks CertRA about the authentication certificate, signed with its own key.
func (c *checker) certra(ctx context.Context) {
	r := c.r
	if c.authCert == nil {
		r.add(Finding{Status: Unknown, Message: "CertRA was not asked: the keystore has no delivered authentication certificate"})
		return
	}
	res := &CertRAResult{}
	r.CertRA = res
	cl := *c.opts.CertRA
	if cl.Signer == nil {
		signer, ok := c.auth.Signer()
		var key sign.Key
		var err error
		if ok {
			key, err = sign.NewKey(signer, c.auth.Chain)
		} else {
			err = errors.New("the authentication key cannot sign")
		}
		if err != nil {
			res.Error = err.Error()
			r.add(Finding{Status: Unknown, Message: "CertRA was not asked: " + err.Error()})
			return
		}
		cl.Signer = &sign.Keyring{EHealthAuthentication: key}
	}
	resp, err := cl.GetCertificateInfoForAuthenticationCertificate(ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err == nil && (resp == nil || resp.CertificateInfo == nil) {
		err = errors.New("the answer holds no CertificateInfo")
	}
	if err != nil {
		res.Error, res.Code = err.Error(), soap.Code(err)
		r.add(Finding{Status: Unknown, Message: "CertRA could not be asked about the certificate: " + err.Error(),
			Action: "Try again later; the dates above are from the keystore."})
		return
	}
	info := resp.CertificateInfo
	res.CertificateStatus = string(info.AuthenticationCertificateStatus)
	res.ETKStatus = string(info.ETKStatus)
	res.Replaceable = info.Replaceable
	if d := info.AuthenticationCertificateDetails; d != nil {
		t := d.ValidNotAfter.Time().UTC()
		res.NotAfter = &t
	}
	it := &r.Items[c.authItem]
	if info.ReplacementPeriodStartDate != nil {
		start := info.ReplacementPeriodStartDate.Time().UTC()
		res.ReplacementPeriodStart = &start
		it.Replacement = &Replacement{Open: info.Replaceable, StartsAt: start, Source: SourceCertRA}
	} else if it.Replacement != nil {
		it.Replacement.Open = info.Replaceable
		it.Replacement.Source = SourceCertRA
	}

	switch info.AuthenticationCertificateStatus {
	case gen.CertificateStatusTypeVALID_ACTIVE:
	case gen.CertificateStatusTypeREVOKED:
		r.add(Finding{Status: Critical, Alias: it.Alias, Message: "CertRA says the authentication certificate is revoked",
			Action: "Request a new certificate: ehcert create."})
	case gen.CertificateStatusTypeEXPIRED:
		r.add(Finding{Status: Critical, Alias: it.Alias, Message: "CertRA says the authentication certificate has expired",
			Action: "Request a new certificate: ehcert create."})
	default:
		r.add(Finding{Status: Warning, Alias: it.Alias, Message: "CertRA says the authentication certificate is " + res.CertificateStatus})
	}
	switch info.ETKStatus {
	case gen.ETKStatusTypeVALID_ACTIVE:
	case gen.ETKStatusTypeWAIT_FOR_ACTIVATION:
		r.add(Finding{Status: Warning, Message: "CertRA says the ETK waits for activation",
			Action: "Finish the renewal, which activates it: ehcert resume --workdir <work directory of the renew process>."})
	case gen.ETKStatusTypeREVOKED, gen.ETKStatusTypeEXPIRED:
		r.add(Finding{Status: Critical, Message: "CertRA says the ETK is " + res.ETKStatus})
	default:
		r.add(Finding{Status: Warning, Message: "CertRA says the ETK is " + res.ETKStatus,
			Action: "Register an ETK for this certificate (ehcert resume --workdir <work directory>)."})
	}
}

// depot compares the ETK the depot publishes for the certificate's holder with the keystore's encryption keys.
func (c *checker) depot(ctx context.Context) {
	r := c.r
	if c.authCert == nil {
		r.add(Finding{Status: Unknown, Message: "the ETK Depot was not asked: the keystore has no delivered authentication certificate"})
		return
	}
	res := &DepotResult{}
	r.Depot = res
	id, err := etk.IdentityOf(c.authCert)
	if err != nil {
		res.Error = err.Error()
		r.add(Finding{Status: Unknown, Message: "the ETK Depot was not asked: " + err.Error()})
		return
	}
	res.Holder = id.String()
	entries, err := c.opts.Depot.ETKs(ctx, id.Type, id.Value, id.ApplicationID)
	var entry etkdepot.Entry
	if err == nil {
		entry, err = etkdepot.Select(entries, id.ApplicationID)
	}
	if errors.Is(err, etkdepot.ErrNotFound) {
		res.Published = false
		f := Finding{Status: Critical, Message: "the ETK Depot publishes no ETK for " + res.Holder + ": nobody can encrypt messages for it"}
		if c.now.Before(c.authCert.NotAfter) {
			f.Action = "Register the ETK: ehcert resume --workdir <work directory of the process that made this keystore>."
		} // else: the depot stops publishing at expiry; the action is the expired certificate's
		r.add(f)
		return
	}
	if err != nil {
		res.Error = err.Error()
		r.add(Finding{Status: Unknown, Message: "the ETK Depot could not be asked: " + err.Error(), Action: "Try again later."})
		return
	}
	res.Published, res.Stale = true, entry.Stale
	e, err := etk.Parse(entry.ETK)
	if err != nil || e.EncryptionCertificate == nil {
		if err == nil {
			err = errors.New("no encryption certificate")
		}
		res.Error = err.Error()
		r.add(Finding{Status: Unknown, Message: "the depot's ETK could not be read: " + err.Error()})
		return
	}
	ec := e.EncryptionCertificate
	res.ETKSerial = ec.SerialNumber.String()
	na := ec.NotAfter.UTC()
	res.ETKNotAfter = &na
	for _, i := range c.encItems {
		it := &r.Items[i]
		ke, ok := c.ks.Key(it.Alias)
		if !ok || ke.Certificate() == nil || !bytes.Equal(ke.Certificate().RawSubjectPublicKeyInfo, ec.RawSubjectPublicKeyInfo) {
			continue
		}
		t := true
		it.PublishedInDepot = &t
		res.MatchesAlias = it.Alias
		res.MatchesCurrent = it.Current
		if it.Current {
			break
		}
	}
	for _, i := range c.encItems {
		if it := &r.Items[i]; it.PublishedInDepot == nil {
			f := false
			it.PublishedInDepot = &f
		}
	}
	switch {
	case res.MatchesAlias == "":
		r.add(Finding{Status: Critical, Message: "the ETK the depot publishes for " + res.Holder + " (serial " + res.ETKSerial +
			") is not one of this keystore's keys: messages encrypted for it cannot be read with this keystore",
			Action: "Make sure your software uses the keystore of the latest create or renew process for " + res.Holder + "."})
	case !res.MatchesCurrent:
		r.add(Finding{Status: Warning, Alias: res.MatchesAlias, Message: "the depot still publishes the previous ETK (" + res.MatchesAlias + "), not the current one",
			Action: "Activate the new ETK by finishing the renewal: ehcert resume --workdir <work directory of the renew process>."})
	}
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
