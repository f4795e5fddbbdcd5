package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/flows"
)

// processFlags are the flags shared by create, renew, revoke, foreigner and resume.
type processFlags struct {
	workdir      string
	accept       bool
	noWait       bool
	pollInterval time.Duration
	contact      flows.Contact
	baseServices []string
}

func addWorkdirFlag(c *cobra.Command, pf *processFlags, required bool) {
	if required {
		c.Flags().StringVarP(&pf.workdir, "workdir", "w", "", "work directory of the process (required)")
	} else {
		c.Flags().StringVarP(&pf.workdir, "workdir", "w", "", "work directory of the process; must be new or empty (default: a new ./ehcert-KIND-TIME)")
	}
}

func addRunFlags(c *cobra.Command, pf *processFlags, contract bool) {
	if contract {
		c.Flags().BoolVar(&pf.accept, "accept", false, "accept the contract without asking (it is still printed and saved in the work directory)")
	}
	c.Flags().BoolVar(&pf.noWait, "no-wait", false, "stop (exit code 6) instead of waiting when the certificate is not delivered yet")
	c.Flags().DurationVar(&pf.pollInterval, "poll-interval", 10*time.Second, "first wait between two GetCertificate calls (doubles up to 5m)")
}

func addContactFlags(c *cobra.Command, pf *processFlags, required bool) {
	req := ""
	if required {
		req = " (required)"
	}
	c.Flags().StringVar(&pf.contact.EmailPrivate, "email", "", "e-mail of the person responsible for the certificate"+req)
	c.Flags().StringVar(&pf.contact.PhonePrivate, "phone", "", "phone of the person responsible for the certificate"+req)
	c.Flags().StringVar(&pf.contact.EmailGeneral, "email-general", "", "general e-mail address (optional)")
	c.Flags().StringVar(&pf.contact.PhoneGeneral, "phone-general", "", "general phone number (optional)")
	c.Flags().StringSliceVar(&pf.baseServices, "base-service", nil, "eHealth base service the certificate is for: tsa, consultrn, codage, other (repeatable)")
}

func (pf *processFlags) needContact() error {
	if pf.contact.EmailPrivate == "" || pf.contact.PhonePrivate == "" {
		return usagef("--email and --phone are required (contact of the person responsible for the certificate)")
	}
	return nil
}

// store returns the process's work directory, choosing a new one when none is given.
func (a *app) store(pf *processFlags, kind flows.Kind, mustExist bool) (flows.DirStore, error) {
	dir := pf.workdir
	if dir == "" {
		if mustExist {
			return "", usagef("--workdir DIR is required")
		}
		dir = fmt.Sprintf("ehcert-%s-%s", kind, time.Now().Format("20060102-150405"))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usagef("--workdir: %v", err)
	}
	if mustExist {
		if _, err := os.Stat(filepath.Join(abs, flows.FileState)); err != nil {
			return "", usagef("%s holds no ehcert process (%s missing)", abs, flows.FileState)
		}
	}
	pf.workdir = abs
	return flows.DirStore(abs), nil
}

// startProcess creates the work directory of a new process of the given kind, builds its Deps (asking for the
// eID and passwords it needs) and runs it with run, then prints the outcome.
func (a *app) startProcess(ctx context.Context, pf *processFlags, kind flows.Kind, needEID, needPassword, confirm bool,
	run func(flows.DirStore, *flows.Deps) (*flows.Result, error)) error {
	store, err := a.store(pf, kind, false)
	if err != nil {
		return err
	}
	d, prog, err := a.deps(ctx, pf, flows.Steps(kind), needEID, needPassword, confirm)
	if err != nil {
		return err
	}
	a.say("%s: work directory %s", kind, store)
	res, err := run(store, d)
	return a.finishProcess(string(store), prog, res, err)
}

// deps builds what a process needs for this run.
func (a *app) deps(ctx context.Context, pf *processFlags, steps []string, needEID, needPassword, confirm bool) (*flows.Deps, *progress, error) {
	env, err := a.environment()
	if err != nil {
		return nil, nil, err
	}
	sc, err := a.soapClient()
	if err != nil {
		return nil, nil, err
	}
	prog := newProgress(a.stderr, a.quiet, steps)
	d := &flows.Deps{
		Environment:     env,
		SOAP:            sc,
		Accept:          a.acceptContract(pf, prog),
		ShowValidation:  a.showValidation(prog),
		PollInterval:    pf.pollInterval,
		StopWhenPending: pf.noWait,
		Now:             a.now,
		Logger:          a.withLogs(prog),
	}
	if needPassword {
		pw, err := a.keystorePassword(confirm)
		if err != nil {
			return nil, nil, err
		}
		d.Password = pw
	}
	if needEID {
		auth, sig, err := a.eid(ctx)
		if err != nil {
			return nil, nil, err
		}
		d.EIDAuthentication, d.EIDSignature = auth, sig
	}
	return d, prog, nil
}

func (a *app) acceptContract(pf *processFlags, prog *progress) func(context.Context, flows.Contract) (bool, error) {
	return func(ctx context.Context, c flows.Contract) (bool, error) {
		prog.finish()
		what := "Contract for a new certificate"
		if c.Revocation {
			what = "Revocation contract (reason: " + c.RevocationReason + ")"
		}
		if !(pf.accept && a.quiet) {
			fmt.Fprintf(a.stderr, "\n%s\n  DN:     %s\n  signer: %s %s (%s)\n\n", what, c.DN, c.Signer.FirstName, c.Signer.LastName, c.Signer.SSIN)
			for _, l := range strings.Split(htmlToText(c.HTML("en", "fr", "nl", "de")), "\n") {
				fmt.Fprintf(a.stderr, "  | %s\n", l)
			}
			fmt.Fprintln(a.stderr)
		}
		if pf.accept {
			a.say("  contract accepted (--accept)")
			return true, nil
		}
		if a.stdin == nil || !isTerminal(a.stdin) {
			a.say("  not accepted: no terminal to ask on; read the contract above and run again with --accept")
			return false, nil
		}
		fmt.Fprint(a.stderr, "Accept this contract and sign it with your eID? [y/N] ")
		line, err := readLine(a.stdin)
		if err != nil {
			return false, err
		}
		line = strings.ToLower(line)
		return line == "y" || line == "yes", nil
	}
}

func (a *app) showValidation(prog *progress) func(context.Context, flows.Validation) error {
	return func(_ context.Context, v flows.Validation) error {
		prog.line("the foreigner must now confirm the request in a browser:")
		prog.line("  %s", v.URL)
		if !v.Expires.IsZero() {
			prog.line("  (before %s)", v.Expires.Local().Format("2006-01-02 15:04"))
		}
		return nil
	}
}

var (
	reBreak = regexp.MustCompile(`(?i)<\s*(br|/p|/li|/h[1-6]|/div|/tr)\s*/?>`)
	reTag   = regexp.MustCompile(`<[^>]*>`)
	reBlank = regexp.MustCompile(`\n\s*\n\s*\n+`)
)

// htmlToText renders a contract's HTML as plain text for a terminal.
func htmlToText(s string) string {
	s = reBreak.ReplaceAllString(s, "\n")
	s = reTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.TrimSpace(reBlank.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// processSummary is what a finished process prints.
type processSummary struct {
	Kind                string    `json:"kind"`
	Workdir             string    `json:"workdir"`
	Subject             string    `json:"subject,omitempty"`
	Serial              string    `json:"serial,omitempty"`
	NotAfter            time.Time `json:"notAfter,omitzero"`
	PublicKeyIdentifier string    `json:"publicKeyIdentifier,omitempty"`
	EncryptionSerial    string    `json:"encryptionSerial,omitempty"`
	Activated           bool      `json:"activated,omitempty"`
	Keystore            string    `json:"keystore,omitempty"`
	ETK                 string    `json:"etk,omitempty"`
	Revoked             string    `json:"revokedPublicKeyIdentifier,omitempty"`
}

func summarizeResult(dir string, r *flows.Result) processSummary {
	s := processSummary{Kind: string(r.Kind), Workdir: dir, EncryptionSerial: r.EncryptionSerial, Activated: r.Activated,
		Revoked: r.RevokedPublicKeyIdentifier}
	if c := r.Certificate; c != nil {
		s.Subject = dnString(c)
		s.Serial = c.SerialNumber.String()
		s.NotAfter = c.NotAfter.UTC()
		if pki, err := certreq.PublicKeyIdentifier(c.PublicKey); err == nil {
			s.PublicKeyIdentifier = strings.ToUpper(hex.EncodeToString(pki))
		}
	}
	if len(r.Keystore) > 0 {
		s.Keystore = filepath.Join(dir, flows.FileKeystore)
	}
	if len(r.ETK) > 0 {
		s.ETK = filepath.Join(dir, flows.FileETK)
	}
	return s
}

func (a *app) printResult(s processSummary) error {
	if a.jsonOut {
		return a.printJSON(s)
	}
	w := a.stdout
	fmt.Fprintf(w, "%s: done\n", s.Kind)
	if s.Subject != "" {
		fmt.Fprintf(w, "  certificate:   %s\n", s.Subject)
		fmt.Fprintf(w, "  serial:        %s (until %s)\n", s.Serial, s.NotAfter.Format(time.DateOnly))
		fmt.Fprintf(w, "  key id:        %s\n", s.PublicKeyIdentifier)
	}
	if s.EncryptionSerial != "" {
		act := ""
		switch {
		case s.Activated:
			act = " (activated)"
		case s.Kind == string(flows.KindRenew) && s.Keystore != "":
			act = " (not activated yet: ehcert activate --workdir " + shellQuote(s.Workdir) + ")"
		}
		fmt.Fprintf(w, "  ETK serial:    %s%s\n", s.EncryptionSerial, act)
	}
	if s.Revoked != "" {
		fmt.Fprintf(w, "  revoked:       %s\n", s.Revoked)
	}
	if s.Keystore != "" {
		fmt.Fprintf(w, "  keystore:      %s\n", s.Keystore)
	}
	if s.ETK != "" {
		fmt.Fprintf(w, "  ETK:           %s\n", s.ETK)
	}
	fmt.Fprintf(w, "  work dir:      %s\n", s.Workdir)
	return nil
}

// finishProcess prints the outcome of a run, and ties errors to the work directory.
func (a *app) finishProcess(dir string, prog *progress, res *flows.Result, err error) error {
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		return &workdirError{dir: dir, err: err}
	}
	return a.printResult(summarizeResult(dir, res))
}

func (a *app) createCommand() *cobra.Command {
	var pf processFlags
	var org, orgName, appID string
	c := &cobra.Command{
		Use:   "create",
		Short: "Request a new eHealth certificate and register its ETK (signed with your eID)",
		Long: `create runs the whole creation process (cookbook §4.3.4) in a work directory: qualities, contract (shown; you
accept it), new keys, CSR signed with the eID, certificate, ETK registration, keystore. Without --org the
certificate is for you (natural person). A stopped process is continued with "ehcert resume --workdir DIR".`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := pf.needContact(); err != nil {
				return err
			}
			req := flows.CreateRequest{ApplicationID: appID, Contact: pf.contact, BaseServiceUsage: pf.baseServices}
			if org != "" {
				typ, id, err := parseOrg(org)
				if err != nil {
					return err
				}
				req.Organization = &flows.OrganizationRequest{Type: typ, ID: id, Name: orgName}
			} else if appID != "" || orgName != "" {
				return usagef("--app-id and --org-name need --org")
			}
			return a.startProcess(ctx, &pf, flows.KindCreate, true, true, true, func(store flows.DirStore, d *flows.Deps) (*flows.Result, error) {
				return flows.Create(ctx, store, req, d)
			})
		},
	}
	addWorkdirFlag(c, &pf, false)
	c.Flags().StringVar(&org, "org", "", "organisation TYPE:ID the certificate is for, e.g. CBE:0123456749 (default: yourself)")
	c.Flags().StringVar(&orgName, "org-name", "", "organisation name (default: the name the platform knows)")
	c.Flags().StringVar(&appID, "app-id", "", "application id of the organisation certificate")
	addContactFlags(c, &pf, true)
	addRunFlags(c, &pf, true)
	return c
}

func (a *app) renewCommand() *cobra.Command {
	var pf processFlags
	var ksPath string
	var deferActivation bool
	c := &cobra.Command{
		Use:   "renew",
		Short: "Replace a certificate in its replacement period and activate the new ETK",
		Long: `renew replaces the certificate of --keystore (same DN, new keys) during its replacement period, registers and
activates the new ETK (cookbook §4.3.5). The new keystore keeps the old entries. The keystore password opens the old
keystore and protects the new one.

With --defer-activation the new ETK is registered but left waiting for activation: senders keep encrypting to the
old ETK until you activate the new one, once the new keystore is deployed, with
  ehcert activate --workdir WORKDIR`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ksPath == "" {
				return usagef("--keystore FILE (the keystore to renew) is required")
			}
			data, err := os.ReadFile(ksPath)
			if err != nil {
				return usagef("--keystore: %v", err)
			}
			req := flows.RenewRequest{Keystore: data, BaseServiceUsage: pf.baseServices, DeferActivation: deferActivation}
			if pf.contact != (flows.Contact{}) {
				ct := pf.contact
				req.Contact = &ct
			}
			return a.startProcess(ctx, &pf, flows.KindRenew, true, true, false, func(store flows.DirStore, d *flows.Deps) (*flows.Result, error) {
				return flows.Renew(ctx, store, req, d)
			})
		},
	}
	addWorkdirFlag(c, &pf, false)
	c.Flags().StringVar(&ksPath, "keystore", "", "the eHealth keystore (PKCS#12) whose certificate is renewed")
	c.Flags().BoolVar(&deferActivation, "defer-activation", false, "register the new ETK but do not activate it (later: ehcert activate --workdir WORKDIR)")
	addContactFlags(c, &pf, false)
	addRunFlags(c, &pf, true)
	return c
}

func (a *app) revokeCommand() *cobra.Command {
	var pf processFlags
	var pki, certFile, ksPath, reason string
	c := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a certificate and its ETK (revocation contract signed with your eID)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			req := flows.RevokeRequest{Reason: reason}
			n := 0
			for _, s := range []string{pki, certFile, ksPath} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return usagef("name the certificate to revoke with exactly one of --pki HEX, --cert FILE or --keystore FILE")
			}
			switch {
			case pki != "":
				b, err := parsePKI(pki)
				if err != nil {
					return err
				}
				req.PublicKeyIdentifier = strings.ToUpper(hex.EncodeToString(b))
			case certFile != "":
				cert, err := readCertificate(certFile)
				if err != nil {
					return err
				}
				req.Certificate = cert
			default:
				k, err := a.ehealthKey(ksPath)
				if err != nil {
					return err
				}
				req.Certificate = k.Chain()[0]
			}
			return a.startProcess(ctx, &pf, flows.KindRevoke, true, false, false, func(store flows.DirStore, d *flows.Deps) (*flows.Result, error) {
				return flows.Revoke(ctx, store, req, d)
			})
		},
	}
	addWorkdirFlag(c, &pf, false)
	c.Flags().StringVar(&pki, "pki", "", "PublicKeyIdentifier (hex) of the certificate to revoke")
	c.Flags().StringVar(&certFile, "cert", "", "the certificate to revoke (PEM or DER)")
	c.Flags().StringVar(&ksPath, "keystore", "", "the eHealth keystore whose certificate is revoked")
	c.Flags().StringVar(&reason, "reason", flows.ReasonCessationOfOperation, "keyCompromise, affiliationChanged, superseded or cessationOfOperation")
	addRunFlags(c, &pf, true)
	return c
}

func (a *app) foreignerCommand() *cobra.Command {
	var pf processFlags
	var req flows.ForeignerRequest
	c := &cobra.Command{
		Use:   "foreigner",
		Short: "Request a certificate for a person without a Belgian eID (confirmed in a browser)",
		Long: `foreigner submits a CSR for a person with an SSIN-bis number (cookbook §4.3.7). The person confirms the
request at the URL printed; the process then waits for the certificate and registers the ETK. Nothing is
signed with an eID.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if req.SSINBis == "" || req.FirstName == "" || req.LastName == "" {
				return usagef("--ssin-bis, --first-name and --last-name are required")
			}
			if err := pf.needContact(); err != nil {
				return err
			}
			req.Contact = pf.contact
			return a.startProcess(ctx, &pf, flows.KindForeigner, false, true, true, func(store flows.DirStore, d *flows.Deps) (*flows.Result, error) {
				return flows.Foreigner(ctx, store, req, d)
			})
		},
	}
	addWorkdirFlag(c, &pf, false)
	c.Flags().StringVar(&req.SSINBis, "ssin-bis", "", "the person's SSIN-bis number")
	c.Flags().StringVar(&req.FirstName, "first-name", "", "first name")
	c.Flags().StringVar(&req.LastName, "last-name", "", "last name")
	addContactFlags(c, &pf, true)
	addRunFlags(c, &pf, false)
	return c
}

func (a *app) resumeCommand() *cobra.Command {
	var pf processFlags
	c := &cobra.Command{
		Use:   "resume",
		Short: "Continue a stopped process (crash, signal, pending validation) from its last completed step",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, err := a.store(&pf, "", true)
			if err != nil {
				return err
			}
			st, err := flows.Status(ctx, store)
			if err != nil {
				return &workdirError{dir: pf.workdir, err: err}
			}
			needEID, needPassword := resumeNeeds(st)
			d, prog, err := a.deps(ctx, &pf, flows.Steps(st.Kind), needEID, needPassword, false)
			if err != nil {
				return err
			}
			if st.Done {
				a.say("%s: the process is already finished", st.Kind)
			} else {
				a.say("%s: resuming after step %q in %s", st.Kind, st.Step, store)
			}
			res, err := flows.Resume(ctx, store, d)
			return a.finishProcess(string(store), prog, res, err)
		},
	}
	addWorkdirFlag(c, &pf, true)
	addRunFlags(c, &pf, true)
	return c
}

func (a *app) activateCommand() *cobra.Command {
	var pf processFlags
	c := &cobra.Command{
		Use:   "activate",
		Short: "Activate the new ETK of a renewal run with --defer-activation",
		Long: `activate sends ActivateETK for a finished renewal whose activation was deferred (renew --defer-activation),
signed with the new key of the work directory's keystore, and records it in the work directory. Run it once the new
keystore is deployed: senders then encrypt to the new ETK. An ETK already active is not an error; a renewal already
activated sends nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, err := a.store(&pf, "", true)
			if err != nil {
				return err
			}
			d, prog, err := a.deps(ctx, &pf, []string{"activate"}, false, true, false)
			if err != nil {
				return err
			}
			res, err := flows.Activate(ctx, store, d)
			if err != nil {
				prog.finish()
				return &workdirError{dir: string(store), err: err, again: "activate"}
			}
			return a.finishProcess(string(store), prog, res, nil)
		},
	}
	addWorkdirFlag(c, &pf, true)
	return c
}

// resumeNeeds says whether the rest of a process signs with the eID and needs the keystore password.
func resumeNeeds(st *flows.ProcessStatus) (eid, password bool) {
	if st.Done {
		return false, false
	}
	steps := flows.Steps(st.Kind)
	done := slices.Index(steps, st.Step) // -1 before the first step
	signing := map[flows.Kind]string{flows.KindCreate: "generate-certificate", flows.KindRenew: "generate-certificate", flows.KindRevoke: "revoke"}
	if s, ok := signing[st.Kind]; ok {
		eid = done < slices.Index(steps, s)
	}
	return eid, st.Kind != flows.KindRevoke
}

func (a *app) statusCommand() *cobra.Command {
	var pf processFlags
	c := &cobra.Command{
		Use:   "status",
		Short: "Show where a process is and what it waits for (sends nothing)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.store(&pf, "", true)
			if err != nil {
				return err
			}
			st, err := flows.Status(cmd.Context(), store)
			if err != nil {
				return &workdirError{dir: pf.workdir, err: err}
			}
			if a.jsonOut {
				return a.printJSON(st)
			}
			w := a.stdout
			fmt.Fprintf(w, "process:   %s %s\n", st.Kind, st.ID)
			state := "running or stopped"
			switch {
			case st.Done:
				state = "finished"
			case st.PendingSince != nil:
				state = "waiting for the certificate since " + st.PendingSince.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(w, "state:     %s\n", state)
			fmt.Fprintf(w, "last step: %s\n", orDash(st.Step))
			if !st.Done {
				fmt.Fprintf(w, "next step: %s\n", orDash(st.Next))
			}
			fmt.Fprintf(w, "subject:   %s %s", st.Subject.Type, st.Subject.ID)
			if st.Subject.ApplicationID != "" {
				fmt.Fprintf(w, " / %s", st.Subject.ApplicationID)
			}
			fmt.Fprintln(w)
			if st.DN != "" {
				fmt.Fprintf(w, "DN:        %s\n", st.DN)
			}
			if st.PublicKeyIdentifier != "" {
				fmt.Fprintf(w, "key id:    %s\n", st.PublicKeyIdentifier)
			}
			if st.AutomaticallyValidated != nil && !*st.AutomaticallyValidated {
				fmt.Fprintln(w, "validation: manual (an eHealth operator must approve; this can take days)")
			}
			if st.ValidationURL != "" {
				fmt.Fprintf(w, "confirm at: %s\n", st.ValidationURL)
			}
			if st.EncryptionSerial != "" {
				fmt.Fprintf(w, "ETK serial: %s\n", st.EncryptionSerial)
			}
			if st.LastError != "" {
				fmt.Fprintf(w, "last error: %s\n", st.LastError)
			}
			fmt.Fprintf(w, "updated:   %s\n", st.Updated.Local().Format(time.RFC3339))
			if !st.Done {
				fmt.Fprintf(w, "continue:  ehcert resume --workdir %s\n", shellQuote(pf.workdir))
			}
			return nil
		},
	}
	addWorkdirFlag(c, &pf, true)
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dnString formats a certificate's subject as eHealth writes DNs (multi-valued OUs kept apart).
func dnString(c *x509.Certificate) string {
	if s, err := certreq.FormatRawDN(c.RawSubject); err == nil {
		return s
	}
	return c.Subject.String()
}

// readCertificate reads one certificate in PEM or DER.
func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, usagef("%s is not a certificate: %v", path, err)
	}
	return c, nil
}
