package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/internal/atomicfile"
	"github.com/ehcert/ehcert/sign"
)

// demoREST are the ETK Depot endpoints the demo must call (ehealthtest's Target names).
var demoREST = []string{ehealthtest.TargetETKs, ehealthtest.TargetJWKS, ehealthtest.TargetJWK, ehealthtest.TargetKeyHolders}

func (a *app) demoCommand() *cobra.Command {
	var workdir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole life of a certificate against an in-process simulator (start here)",
		Long: `demo starts a local eHealth platform (the simulator) in this process and, with its test citizen's software eID,
runs every CertRA and EtkRA operation and every ETK Depot lookup through the real processes:

  1. create a certificate and ETK for an organisation (qualities, organisation types, application ids,
     contract shown and accepted, CSR, certificate, ETK registration)
  2. certificate information for the citizen (eID) and for the new certificate (eHealth key)
  3. ETK Depot lookups of the new ETK: etks, jwks, jwks/{kid}, keyholders
  4. renew it in its replacement period (the simulator's clock is moved forward) and activate the new ETK
  5. revoke the replaced certificate
  6. a foreigner's certificate, after the simulated confirmation in a browser

Everything goes to a work directory (--workdir, default a new temporary directory): the processes, the keystores
and their password (DIR/keystore.password, readable only by you), the ETKs, the simulator's state (serve it again
with "ehcert simulator --state-dir DIR/simulator") and the trace of every HTTP exchange (--trace-dir, default
DIR/trace). Nothing leaves this machine; --env is ignored. If a step fails, the demo stops, names the step and
exits with a non-zero code (see "ehcert help").`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDemo(cmd.Context(), workdir)
		},
	}
	c.Flags().StringVarP(&workdir, "workdir", "w", "", "directory for everything the demo creates; must be new or empty (default: a new temporary directory)")
	return c
}

// demoPasswordFile is the file, in the demo's work directory, holding the password of the keystores it makes.
const demoPasswordFile = "keystore.password"

// demoFaultEnv names faults the demo injects into its in-process simulator, so that tests can see it fail:
// "TARGET:KIND[,TARGET:KIND...]", where TARGET is an operation name (GetCertificateInfoForCitizen, ActivateETK,
// ...) or an ETK Depot endpoint (etks, jwks, jwk, keyholders) and KIND an ehealthtest.FaultKind name
// (HTTP500Fault, HTML503, Garbage, ...). Every request to TARGET fails that way for the rest of the demo. Only the
// demo reads it; it is meant for tests and is not shown in --help. A malformed value is a usage error.
const demoFaultEnv = "EHCERT_DEMO_FAULT"

// demoFaultKinds are the kinds demoFaultEnv accepts.
var demoFaultKinds = []ehealthtest.FaultKind{ehealthtest.Delay, ehealthtest.Drop, ehealthtest.DropAfter,
	ehealthtest.HTTP500Fault, ehealthtest.HTML503, ehealthtest.Garbage, ehealthtest.Truncated, ehealthtest.Oversized}

type demoFault struct {
	target string
	kind   ehealthtest.FaultKind
}

// parseDemoFaults reads the value of demoFaultEnv.
func parseDemoFaults(v string) ([]demoFault, error) {
	var out []demoFault
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		target, kindName, ok := strings.Cut(item, ":")
		if !ok {
			return nil, usagef("%s=%q: want TARGET:KIND, e.g. GetCertificateInfoForCitizen:HTTP500Fault", demoFaultEnv, v)
		}
		known := slices.Contains(demoREST, target)
		for _, op := range ehealth.Operations() {
			known = known || op.Name == target
		}
		if !known {
			return nil, usagef("%s: unknown target %q (an operation such as GetCertificate, or one of %s)", demoFaultEnv, target, strings.Join(demoREST, ", "))
		}
		i := slices.IndexFunc(demoFaultKinds, func(k ehealthtest.FaultKind) bool { return strings.EqualFold(k.String(), kindName) })
		if i < 0 {
			var names []string
			for _, k := range demoFaultKinds {
				names = append(names, k.String())
			}
			return nil, usagef("%s: unknown fault kind %q (one of %s)", demoFaultEnv, kindName, strings.Join(names, ", "))
		}
		out = append(out, demoFault{target: target, kind: demoFaultKinds[i]})
	}
	return out, nil
}

// demoStepError names the demo step that failed; describe classifies the error it wraps.
type demoStepError struct {
	n, total int
	title    string
	err      error
}

func (e *demoStepError) Error() string {
	return fmt.Sprintf("demo step %d/%d (%s) failed: %v", e.n, e.total, e.title, e.err)
}

func (e *demoStepError) Unwrap() error { return e.err }

// demoRun holds what the demo made, for its summary.
type demoRun struct {
	workdir, traceDir, password, passwordFile string
	created, renewed                          processSummary
	revoked                                   processSummary
	foreigner                                 processSummary
	etk                                       etkSummary
	kid                                       string
}

func (a *app) runDemo(ctx context.Context, workdir string) (err error) {
	faults, err := parseDemoFaults(os.Getenv(demoFaultEnv))
	if err != nil {
		return err
	}
	if workdir == "" {
		workdir, err = os.MkdirTemp("", "ehcert-demo-")
		if err != nil {
			return err
		}
	} else {
		if entries, err := os.ReadDir(workdir); err == nil && len(entries) > 0 {
			return usagef("--workdir %s is not empty; the demo needs a new or empty directory", workdir)
		}
		if err := os.MkdirAll(workdir, 0o700); err != nil {
			return err
		}
	}
	workdir, _ = filepath.Abs(workdir)
	run := &demoRun{workdir: workdir, password: randomPassword(), passwordFile: filepath.Join(workdir, demoPasswordFile)}
	// The keystores' password goes to a file only its owner reads, never to the terminal.
	if err := atomicfile.WriteFile(run.passwordFile, []byte(run.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the keystore password: %w", err)
	}

	simDir := filepath.Join(workdir, "simulator")
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{StateDir: simDir})
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	defer srv.Close()
	files, err := writeSimulatorFiles(srv, simDir)
	if err != nil {
		return err
	}

	// Point the global options at the simulator.
	a.env, a.envSel, a.caFile, a.extra = srv.URL, nil, files.root, nil
	a.userAgent, a.from = "", ""
	a.now = srv.Clock().Now
	if a.traceDir == "" {
		a.traceDir = filepath.Join(workdir, "trace")
	}
	run.traceDir, _ = filepath.Abs(a.traceDir)
	citizen := srv.Citizen()
	a.eidAuth, a.eidSig = citizen.Authentication, citizen.Signature
	org := citizen.Organizations[0]
	for _, f := range faults {
		srv.Inject(f.target, ehealthtest.Fault{Kind: f.kind, Times: -1})
		a.say("ehcert demo: %s=%s:%s: every %s request fails (test of the failure path)", demoFaultEnv, f.target, f.kind, f.target)
	}

	a.say("ehcert demo: a local eHealth platform at %s", srv.URL)
	a.say("test citizen %s %s (SSIN %s) with a software eID; work directory %s", citizen.FirstName, citizen.LastName, citizen.SSIN, workdir)

	const total = 6
	titles := [total + 1]string{1: "create", 2: "certificate information", 3: "ETK Depot lookups", 4: "renew", 5: "revoke", 6: "foreigner"}
	header := func(n int, format string, args ...any) {
		a.say("\n[%d/%d] %s", n, total, fmt.Sprintf(format, args...))
	}
	failed := func(n int, err error) error {
		return &demoStepError{n: n, total: total, title: titles[n], err: err}
	}
	pf := &processFlags{accept: true, pollInterval: 200 * time.Millisecond,
		contact: flows.Contact{EmailPrivate: "it@ehealthtest-clinic.example", PhonePrivate: "+3221234567"}}

	// 1. Create.
	header(1, "Create a certificate and ETK for %s (%s %s)", org.Name, org.Type, org.ID)
	createDir := filepath.Join(workdir, "create")
	res, err := a.demoProcess(ctx, pf, flows.KindCreate, createDir, func(d *flows.Deps) (*flows.Result, error) {
		return flows.Create(ctx, flows.DirStore(createDir), flows.CreateRequest{
			Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID}, Contact: pf.contact}, d)
	}, run)
	if err != nil {
		return failed(1, err)
	}
	run.created = summarizeResult(createDir, res)

	// 2. Certificate information.
	header(2, "Certificate information")
	if err := a.demoCertificateInfo(ctx, run, res, citizen); err != nil {
		return failed(2, err)
	}

	// 3. ETK Depot.
	header(3, "ETK Depot lookups of the new ETK")
	es, ks, holder, err := a.lookupDepot(ctx, org.Type, org.ID, "", func(s string) { a.say("  %s", s) })
	if err != nil {
		return failed(3, err)
	}
	run.etk, run.kid = es, ks.KID
	a.say("  ETK of %s, encryption certificate serial %s, validated", es.Holder, es.Serial)
	a.say("  JWK kid %s (x5t#S256 %s)", ks.KID, ks.Thumbprint)
	a.say("  key holder: %s %s %q", holder.Kind, holder.Type+"="+holder.Value, holder.Name)

	// 4. Renew.
	notAfter := res.Certificate.NotAfter
	target := notAfter.Add(-30 * 24 * time.Hour)
	header(4, "Renew in the replacement period (simulator clock moved to %s) and activate the new ETK", target.Format(time.DateOnly))
	srv.Clock().Advance(target.Sub(srv.Clock().Now()))
	renewDir := filepath.Join(workdir, "renew")
	res2, err := a.demoProcess(ctx, pf, flows.KindRenew, renewDir, func(d *flows.Deps) (*flows.Result, error) {
		return flows.Renew(ctx, flows.DirStore(renewDir), flows.RenewRequest{Keystore: res.Keystore}, d)
	}, run)
	if err != nil {
		return failed(4, err)
	}
	run.renewed = summarizeResult(renewDir, res2)

	// 5. Revoke the replaced certificate.
	header(5, "Revoke the replaced certificate (reason: superseded)")
	revokeDir := filepath.Join(workdir, "revoke")
	res3, err := a.demoProcess(ctx, pf, flows.KindRevoke, revokeDir, func(d *flows.Deps) (*flows.Result, error) {
		return flows.Revoke(ctx, flows.DirStore(revokeDir), flows.RevokeRequest{Certificate: res.Certificate, Reason: flows.ReasonSuperseded}, d)
	}, run)
	if err != nil {
		return failed(5, err)
	}
	run.revoked = summarizeResult(revokeDir, res3)

	// 6. Foreigner.
	header(6, "A foreigner's certificate (SSIN-bis, confirmed in the simulator's browser page)")
	foreignDir := filepath.Join(workdir, "foreigner")
	res4, err := a.demoProcess(ctx, pf, flows.KindForeigner, foreignDir, func(d *flows.Deps) (*flows.Result, error) {
		show := d.ShowValidation
		d.ShowValidation = func(ctx context.Context, v flows.Validation) error {
			if err := show(ctx, v); err != nil {
				return err
			}
			a.say("    (demo: the foreigner confirms the request now)")
			return srv.ConfirmForeigner(v.URL)
		}
		return flows.Foreigner(ctx, flows.DirStore(foreignDir), flows.ForeignerRequest{
			SSINBis: demoSSINBis(), FirstName: "Jean", LastName: "Dupont", Contact: pf.contact}, d)
	}, run)
	if err != nil {
		return failed(6, err)
	}
	run.foreigner = summarizeResult(foreignDir, res4)

	if err := demoCoverage(srv); err != nil {
		return err
	}
	return a.demoSummary(run, srv, files)
}

// demoProcess runs one process with the demo's settings: contracts accepted, the eID of the simulator's citizen,
// the demo's keystore password.
func (a *app) demoProcess(ctx context.Context, pf *processFlags, kind flows.Kind, dir string, start func(*flows.Deps) (*flows.Result, error), run *demoRun) (*flows.Result, error) {
	d, prog, err := a.deps(ctx, pf, flows.Steps(kind), kind != flows.KindForeigner, false, false)
	if err != nil {
		return nil, err
	}
	if kind != flows.KindRevoke {
		d.Password = run.password
	}
	res, err := start(d)
	prog.finish()
	if err != nil {
		return nil, &workdirError{dir: dir, err: fmt.Errorf("demo %s: %w", kind, err)}
	}
	return res, nil
}

// demoCertificateInfo calls the two certificate information operations: as the citizen (eID) and as the new
// certificate (its own key).
func (a *app) demoCertificateInfo(ctx context.Context, run *demoRun, res *flows.Result, citizen *ehealthtest.EID) error {
	env, err := a.environment()
	if err != nil {
		return err
	}
	sc, err := a.soapClient()
	if err != nil {
		return err
	}
	c := &certra.Client{SOAP: sc, Endpoint: env.CertRA, Signer: citizen.Keyring(), Now: a.now}
	a.say("  GetCertificateInfoForCitizen (signed with the eID Authentication key)")
	ci, err := c.GetCertificateInfoForCitizen(ctx, &gencertra.GetCertificateInfoForCitizenRequest{})
	if err != nil {
		return err
	}
	for _, info := range ci.CertificateInfo {
		a.say("    %s  %s  ETK %s", describeEntity(info), info.AuthenticationCertificateStatus, info.ETKStatus)
	}
	key, err := loadEHealthKey(res.Keystore, []byte(run.password))
	if err != nil {
		return fmt.Errorf("open the new keystore: %w", err)
	}
	c.Signer = &sign.Keyring{EHealthAuthentication: key}
	a.say("  GetCertificateInfoForAuthenticationCertificate (signed with the new eHealth key)")
	ai, err := c.GetCertificateInfoForAuthenticationCertificate(ctx, &gencertra.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil {
		return err
	}
	if info := ai.CertificateInfo; info != nil {
		repl := "not replaceable yet"
		if info.Replaceable {
			repl = "replaceable"
		}
		if info.ReplacementPeriodStartDate != nil {
			repl += " (replacement period from " + info.ReplacementPeriodStartDate.Time().Format(time.DateOnly) + ")"
		}
		a.say("    %s  ETK %s, %s", info.AuthenticationCertificateStatus, info.ETKStatus, repl)
	}
	return nil
}

func describeEntity(info gencertra.CertificateInfoType) string {
	if e := info.CertificateEntity; e != nil && e.CertificateIdentifier != nil && e.CertificateIdentifier.Actor != nil {
		act := e.CertificateIdentifier.Actor
		var ids []string
		for _, id := range act.Id {
			ids = append(ids, id.Type+"="+id.Value)
		}
		s := strings.Join(ids, ",")
		if e.CertificateIdentifier.ApplicationId != "" {
			s += "/" + e.CertificateIdentifier.ApplicationId
		}
		return s
	}
	return info.PublicKeyIdentifier.String()
}

// demoCoverage checks that the demo called every operation and endpoint.
func demoCoverage(srv *ehealthtest.Server) error {
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		seen[r.Target] = true
	}
	var missing []string
	for _, op := range ehealth.Operations() {
		if !seen[op.Name] {
			missing = append(missing, op.Name)
		}
	}
	for _, t := range demoREST {
		if !seen[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("demo: these operations were not called: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (a *app) demoSummary(run *demoRun, srv *ehealthtest.Server, files simFiles) error {
	if a.jsonOut {
		return a.printJSON(map[string]any{
			"workdir": run.workdir, "trace": run.traceDir, "simulator": filepath.Dir(files.root),
			"create": run.created, "renew": run.renewed, "revoke": run.revoked, "foreigner": run.foreigner,
			"etk": run.etk, "kid": run.kid, "operations": len(ehealth.Operations()) + len(demoREST),
			"keystorePasswordFile": run.passwordFile, "eidPasswordFile": filepath.Join(filepath.Dir(files.root), simEIDPassword),
		})
	}
	w := a.stdout
	n := 0
	if entries, err := os.ReadDir(run.traceDir); err == nil {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".http") {
				n++
			}
		}
	}
	fmt.Fprintf(w, "\nehcert demo: done. All %d SOAP operations and %d ETK Depot endpoints were called.\n\n", len(ehealth.Operations()), len(demoREST))
	fmt.Fprintf(w, "Created in %s:\n", run.workdir)
	fmt.Fprintf(w, "  create/keystore.p12     %s (ETK serial %s; revoked after renewal)\n", run.created.Subject, run.created.EncryptionSerial)
	fmt.Fprintf(w, "  renew/keystore.p12      the renewed certificate, serial %s, valid until %s (ETK activated: %v)\n", run.renewed.Serial, run.renewed.NotAfter.Format(time.DateOnly), run.renewed.Activated)
	fmt.Fprintf(w, "  revoke/                 the revocation of key %s\n", run.revoked.Revoked)
	fmt.Fprintf(w, "  foreigner/keystore.p12  %s\n", run.foreigner.Subject)
	fmt.Fprintf(w, "  trace/                  %d HTTP exchanges (request/response files: evidence for eHealth)\n", n)
	fmt.Fprintf(w, "  simulator/              the platform's state; root.pem, citizen-eid.p12 (password in %s)\n", simEIDPassword)
	fmt.Fprintf(w, "Keystore password (test keys only): in %s (readable only by you)\n", run.passwordFile)
	fmt.Fprintf(w, "\nNext: serve this platform again with\n  ehcert simulator --state-dir %s --reset-clock\n", shellQuote(filepath.Dir(files.root)))
	return nil
}

func randomPassword() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "ehcert-demo-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// demoSSINBis is a valid SSIN-bis number (birth month + 40) of a test foreigner.
func demoSSINBis() string {
	const base = "904315123"
	n, _ := strconv.Atoi(base)
	return fmt.Sprintf("%s%02d", base, 97-n%97)
}
