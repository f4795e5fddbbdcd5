package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/observe"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/tracedir"
)

// version is the ehcert version sent in the User-Agent.
const version = "0.1.0"

// Defaults of the tracing headers for a custom environment (the simulator); the real platform needs the user's own.
const (
	defaultUserAgent = "ehcert-cli/" + version
	defaultFrom      = "ehcert@example.org"
)

// app holds the global options of one command line and the clients built from them, lazily.
type app struct {
	stdin  *os.File
	stdout io.Writer
	stderr io.Writer

	env          string
	caFile       string
	userAgent    string
	from         string
	jsonOut      bool
	traceDir     string
	timeout      time.Duration
	pkcs11Module string
	pkcs11Token  string
	eidP12       string
	pinFile      string
	eidPassFile  string
	passFile     string
	quiet        bool
	logLevel     string
	logFormat    string
	redisAddr    string

	// now is the clock used for IssueInstants; nil means time.Now (the demo sets the simulator's clock).
	now func() time.Time

	hc      *http.Client
	dhc     *http.Client // the ETK Depot's: hc, logged and counted
	envSel  *ehealth.Environment
	extra   []*x509.Certificate
	closers []func()

	eidAuth, eidSig sign.Key

	// logHandler writes the log records of --log-level (nil: logs off); log is the logger built on it.
	logHandler slog.Handler
	log        *slog.Logger
	rc         *rediscache.Cache
}

func newApp(stdin *os.File, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ehcert",
		Short: "eHealth certificates and ETKs: request, renew, revoke, look up",
		Long: `ehcert manages Belgian eHealth certificates (CertRA v2) and encryption tokens (EtkRA v2, ETK Depot).

Start with "ehcert demo": it runs the whole life of a certificate against a local simulator.

The platform is chosen with --env: "acc" (acceptance, the default), "prod" (must be spelled out) or the base URL of
a simulator ("ehcert simulator" prints it). The real platform needs --user-agent and --from (cookbook §4.1.2).

PINs and passwords are never read from the command line: use EHCERT_PIN, EHCERT_EID_PASSWORD,
EHCERT_KEYSTORE_PASSWORD, the --pin-file/--eid-password-file/--password-file flags, or type them when asked.

Monitoring: "ehcert check" checks a keystore's expiry for Nagios/Icinga-style agents (its own exit codes: 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN); "ehcert serve-metrics" exports the days to expiry to Prometheus.
--log-level info logs every eHealth call (service, operation, outcome, request id, duration; never a body, key,
PIN or password) on stderr.

` + exitCodeHelp,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           version,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return a.setupLogging() }

	f := root.PersistentFlags()
	f.StringVar(&a.env, "env", envOr("EHCERT_ENV", "acc"), `platform: "acc", "prod" or a base URL such as https://127.0.0.1:8443 ($EHCERT_ENV)`)
	f.StringVar(&a.caFile, "ca-file", os.Getenv("EHCERT_CA_FILE"), "PEM file of extra trusted roots (TLS and platform certificates), e.g. the simulator's root.pem ($EHCERT_CA_FILE)")
	f.StringVar(&a.userAgent, "user-agent", os.Getenv("EHCERT_USER_AGENT"), `User-Agent "product/version" sent to eHealth; required for acc and prod ($EHCERT_USER_AGENT)`)
	f.StringVar(&a.from, "from", os.Getenv("EHCERT_FROM"), "e-mail address sent as From (emergency contact); required for acc and prod ($EHCERT_FROM)")
	f.BoolVar(&a.jsonOut, "json", false, "print results as JSON")
	f.StringVar(&a.traceDir, "trace-dir", "", "write every HTTP exchange to this directory (NNN-<Operation>-request.xml, -response.xml, .http)")
	f.DurationVar(&a.timeout, "timeout", 60*time.Second, "timeout of one HTTP exchange")
	f.StringVar(&a.pkcs11Module, "pkcs11-module", os.Getenv("EHCERT_PKCS11_MODULE"), "PKCS#11 module of the eID reader (default: OpenSC in its usual places) ($EHCERT_PKCS11_MODULE)")
	f.StringVar(&a.pkcs11Token, "pkcs11-token", os.Getenv("EHCERT_PKCS11_TOKEN"), "label of the PKCS#11 token (default: the only one present) ($EHCERT_PKCS11_TOKEN)")
	f.StringVar(&a.eidP12, "eid-p12", os.Getenv("EHCERT_EID_P12"), `software/test eID: PKCS#12 with "Authentication" and "Signature" keys ($EHCERT_EID_P12)`)
	f.StringVar(&a.pinFile, "pin-file", "", "file holding the eID PIN (else $EHCERT_PIN, else asked)")
	f.StringVar(&a.eidPassFile, "eid-password-file", "", "file holding the --eid-p12 password (else $EHCERT_EID_PASSWORD, else asked)")
	f.StringVar(&a.passFile, "password-file", "", "file holding the eHealth keystore password (else $EHCERT_KEYSTORE_PASSWORD, else asked)")
	f.BoolVarP(&a.quiet, "quiet", "q", false, "print only results and errors")
	f.StringVar(&a.logLevel, "log-level", envOr("EHCERT_LOG_LEVEL", logLevelOff), logFlagsHelp+" ($EHCERT_LOG_LEVEL)")
	f.StringVar(&a.logFormat, "log-format", envOr("EHCERT_LOG_FORMAT", logFormatText), "format of the log records: text or json ($EHCERT_LOG_FORMAT)")
	f.StringVar(&a.redisAddr, "etk-cache-redis", os.Getenv("EHCERT_ETK_CACHE_REDIS"), "HOST:PORT of a Redis shared as ETK Depot cache by several ehcert processes; Redis down never fails a lookup ($EHCERT_ETK_CACHE_REDIS)")
	f.StringVar(&a.redisAddr, "redis", os.Getenv("EHCERT_ETK_CACHE_REDIS"), "same as --etk-cache-redis")
	f.MarkHidden("redis")

	root.AddCommand(
		a.demoCommand(),
		a.simulatorCommand(),
		a.createCommand(),
		a.renewCommand(),
		a.revokeCommand(),
		a.foreignerCommand(),
		a.resumeCommand(),
		a.activateCommand(),
		a.statusCommand(),
		a.certraCommand(),
		a.etkraCommand(),
		a.etkCommand(),
		a.jwksCommand(),
		a.keyholderCommand(),
		a.checkCommand(),
		a.serveMetricsCommand(),
	)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// noArgs, exactArgs and maxArgs are cobra argument checks that report usage errors.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", c.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s needs %s (got %d arguments)", c.CommandPath(), what, len(args))
		}
		return nil
	}
}

// environment resolves --env. The real platform (acc, prod) needs the user's own tracing headers.
func (a *app) environment() (ehealth.Environment, error) {
	if a.envSel != nil {
		return *a.envSel, nil
	}
	var e ehealth.Environment
	real := true
	switch strings.ToLower(a.env) {
	case "acc", "acpt", "acceptance":
		e = ehealth.Acceptance
	case "prod", "production":
		e = ehealth.Production
	default:
		if !strings.HasPrefix(a.env, "https://") && !strings.HasPrefix(a.env, "http://") {
			return e, usagef("--env %q: want acc, prod or a base URL (https://host:port)", a.env)
		}
		e = ehealth.CustomEnvironment(a.env)
		real = false
	}
	if real {
		if a.userAgent == "" || a.from == "" {
			return e, usagef("the eHealth %s platform needs --user-agent \"yourproduct/1.0\" and --from you@yourcompany.be (cookbook §4.1.2: they identify your software and an emergency contact)", e.Name)
		}
	} else {
		if a.userAgent == "" {
			a.userAgent = defaultUserAgent
		}
		if a.from == "" {
			a.from = defaultFrom
		}
	}
	if err := soap.ValidateUserAgent(a.userAgent); err != nil {
		return e, &usageError{err}
	}
	if err := soap.ValidateFrom(a.from); err != nil {
		return e, &usageError{err}
	}
	a.envSel = &e
	return e, nil
}

// isReal reports whether the selected environment is eHealth's own.
func (a *app) isReal() bool {
	e, err := a.environment()
	return err == nil && (e.Name == ehealth.Acceptance.Name || e.Name == ehealth.Production.Name)
}

// sentUserAgent is the User-Agent as sent: the user's product, then ehcert as the connector.
func (a *app) sentUserAgent() string {
	if strings.Contains(a.userAgent, "ehcert") {
		return a.userAgent
	}
	return a.userAgent + " ehcert/" + version
}

// extraRoots reads --ca-file once.
func (a *app) extraRoots() ([]*x509.Certificate, error) {
	if a.extra != nil || a.caFile == "" {
		return a.extra, nil
	}
	data, err := os.ReadFile(a.caFile)
	if err != nil {
		return nil, usagef("--ca-file: %v", err)
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, usagef("--ca-file %s: %v", a.caFile, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, usagef("--ca-file %s holds no PEM certificate", a.caFile)
	}
	a.extra = certs
	return certs, nil
}

// httpClient is the client of every exchange with the platform: system roots plus --ca-file, and the trace
// directory when asked.
func (a *app) httpClient() (*http.Client, error) {
	if a.hc != nil {
		return a.hc, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	extra, err := a.extraRoots()
	if err != nil {
		return nil, err
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	a.closers = append(a.closers, tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if a.traceDir != "" {
		rt = &tracedir.Transport{Dir: a.traceDir, Base: tr}
	}
	a.hc = &http.Client{Transport: rt, Timeout: a.timeout}
	return a.hc, nil
}

// soapClient builds the SOAP transport with the tracing headers.
func (a *app) soapClient() (*soap.Client, error) {
	if _, err := a.environment(); err != nil {
		return nil, err
	}
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	c, err := soap.NewClient(hc, a.sentUserAgent(), a.from)
	if err != nil {
		return nil, &usageError{err}
	}
	c.Observer = observe.Chain(c.Observer, a.soapObserver())
	return c, nil
}

// platformRoots are the anchors for certificates the platform issues (ETKs, JWKS chains): the built-in eHealth
// anchors of acc or prod plus --ca-file.
func (a *app) platformRoots() (*x509.CertPool, []*x509.Certificate, error) {
	pool := x509.NewCertPool()
	extra, err := a.extraRoots()
	if err != nil {
		return nil, nil, err
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	var legacy []*x509.Certificate
	e, err := a.environment()
	if err != nil {
		return nil, nil, err
	}
	anchors, leg := builtinAnchors(e.Name)
	for _, c := range anchors {
		pool.AddCert(c)
	}
	legacy = append(legacy, leg...)
	return pool, legacy, nil
}

func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// secret reads a PIN or password (never from argv).
func (a *app) secret(what, envVar, file string) ([]byte, error) {
	return secretSource{what: what, envVar: envVar, file: file}.read(a.stdin, a.stderr)
}

// keystorePassword reads the eHealth keystore password.
func (a *app) keystorePassword(confirm bool) (string, error) {
	b, err := secretSource{what: "keystore password", envVar: "EHCERT_KEYSTORE_PASSWORD", file: a.passFile, confirm: confirm}.read(a.stdin, a.stderr)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", usagef("the keystore password must not be empty")
	}
	return string(b), nil
}

// eid returns the user's eID keys: from --eid-p12, or from the PKCS#11 token.
func (a *app) eid(ctx context.Context) (auth, sig sign.Key, err error) {
	if a.eidAuth != nil || a.eidSig != nil {
		return a.eidAuth, a.eidSig, nil
	}
	if a.eidP12 != "" {
		data, err := os.ReadFile(a.eidP12)
		if err != nil {
			return nil, nil, usagef("--eid-p12: %v", err)
		}
		pw, err := a.secret("eID keystore password", "EHCERT_EID_PASSWORD", a.eidPassFile)
		if err != nil {
			return nil, nil, err
		}
		auth, err = sign.LoadPKCS12(data, pw, "Authentication")
		if err != nil {
			return nil, nil, fmt.Errorf("eID keystore %s: %w", a.eidP12, err)
		}
		sig, err = sign.LoadPKCS12(data, pw, "Signature")
		if err != nil {
			return nil, nil, fmt.Errorf("eID keystore %s: %w", a.eidP12, err)
		}
		a.eidAuth, a.eidSig = auth, sig
		return auth, sig, nil
	}
	auth, sig, err = a.tokenEID(ctx)
	if err != nil {
		return nil, nil, err
	}
	a.eidAuth, a.eidSig = auth, sig
	return auth, sig, nil
}

// ehealthKey loads the "authentication" key of an eHealth keystore (the connector's PKCS#12).
func (a *app) ehealthKey(path string) (sign.Key, error) {
	if path == "" {
		return nil, usagef("this command needs the eHealth keystore: --keystore FILE")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--keystore: %v", err)
	}
	pw, err := a.keystorePassword(false)
	if err != nil {
		return nil, err
	}
	k, err := loadEHealthKey(data, []byte(pw))
	if err != nil {
		return nil, fmt.Errorf("keystore %s: %w", path, err)
	}
	return k, nil
}

// loadEHealthKey reads the "authentication" key of a connector keystore (which may hold trusted entries that
// sign.LoadPKCS12 does not read).
func loadEHealthKey(data, password []byte) (sign.Key, error) {
	ks, err := keystore.Decode(data, password)
	if err != nil {
		return nil, err
	}
	e, ok := ks.Authentication()
	if !ok {
		var aliases []string
		for _, k := range ks.Keys {
			aliases = append(aliases, k.Alias)
		}
		return nil, &sign.AliasNotFoundError{Alias: keystore.AuthenticationAlias, Available: aliases}
	}
	s, ok := e.Signer()
	if !ok {
		return nil, &credentialError{fmt.Errorf("the authentication key cannot sign")}
	}
	return sign.NewKey(s, e.Chain)
}

// say prints a progress or information line to stderr unless --quiet.
func (a *app) say(format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// printJSON writes v as indented JSON to stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal (progress lines are drawn only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}
