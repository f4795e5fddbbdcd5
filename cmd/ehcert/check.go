package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/observe"
)

// Defaults of serve-metrics.
const (
	defaultMetricsListen   = "127.0.0.1:9464"
	defaultMetricsInterval = time.Hour
)

const checkExitHelp = `Exit codes (monitoring plugin convention, unlike the other commands):
  0 OK        nothing to do before the replacement period
  1 WARNING   fewer than --warning-days left, ETK waiting for activation, depot still on the previous ETK
  2 CRITICAL  fewer than --critical-days left, expired, revoked, or the depot publishes an ETK this keystore
              cannot decrypt (or none)
  3 UNKNOWN   the keystore could not be read, bad flags, or an --online check could not be made
The last line of advice ("Next: ...") says what to do, e.g. "ehcert renew --keystore FILE".`

// checkFlags are the flags check and serve-metrics share.
type checkFlags struct {
	warn, crit int
	online     bool
}

func addCheckFlags(c *cobra.Command, f *checkFlags) {
	c.Flags().IntVar(&f.warn, "warning-days", expiry.DefaultWarningDays, "WARNING when a current entry has fewer days left (0 or negative: never)")
	c.Flags().IntVar(&f.crit, "critical-days", expiry.DefaultCriticalDays, "CRITICAL when a current entry has fewer days left (0 or negative: never; expired is always CRITICAL)")
	c.Flags().BoolVar(&f.online, "online", false, "also ask CertRA (signed with the keystore's own authentication key: no eID, no PIN) and the ETK Depot; uses --env, --ca-file, --user-agent, --from, --timeout")
}

// threshold maps a day-count flag to expiry.Options: there 0 means the default and a negative value disables
// the threshold; "fewer than 0 days left" is never true of a valid entry either, so 0 disables it too.
func threshold(days int) int {
	if days <= 0 {
		return -1
	}
	return days
}

// expiryOptions are the options of a check with f's thresholds; online adds the CertRA and ETK Depot clients of
// the selected environment (CertRA's Signer stays nil: Check signs with the keystore's own key).
func (a *app) expiryOptions(f *checkFlags, path string, password []byte) (expiry.Options, error) {
	opts := expiry.Options{KeystorePath: path, Password: password, WarningDays: threshold(f.warn), CriticalDays: threshold(f.crit)}
	if !f.online {
		return opts, nil
	}
	env, err := a.environment()
	if err != nil {
		return opts, err
	}
	sc, err := a.soapClient()
	if err != nil {
		return opts, err
	}
	opts.CertRA = &certra.Client{SOAP: sc, Endpoint: env.CertRA, Now: a.now}
	if opts.Depot, err = a.depotClient(); err != nil {
		return opts, err
	}
	return opts, nil
}

func (a *app) checkCommand() *cobra.Command {
	var f checkFlags
	var ks string
	unknownFlags := func(err error) error {
		return a.checkUnknown(ks, &f, err, `Fix the command line (see "ehcert check --help").`)
	}
	c := &cobra.Command{
		Use:   "check --keystore FILE|WORKDIR",
		Short: "Check a keystore's expiry for monitoring (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
		Long: `check reports the expiry of an eHealth keystore: the authentication certificate and every encryption key
(ETK) in it, with the days left and whether the replacement period is open. --keystore is a PKCS#12 file or the
work directory of a create/renew process (its keystore.p12 is read).

Offline (the default) the dates come from the keystore and the replacement period is estimated to open 90 days
before expiry. --online also asks CertRA (GetCertificateInfoForAuthenticationCertificate, signed with the
keystore's own authentication key: no eID, no PIN) for the certificate's status and exact replacement period, and
the ETK Depot whether the ETK it publishes is one this keystore can decrypt.

Entries a renewal kept (previous keys, to decrypt older messages) are listed but never affect the status.

The keystore password comes from EHCERT_KEYSTORE_PASSWORD or --password-file (typed only on a terminal); without
one the check is UNKNOWN. The first line of output is "STATUS: summary", the second "Next: <what to do>";
--json prints the report as JSON (schema: expiry/report.schema.json).

` + checkExitHelp,
		Args: cobra.ArbitraryArgs,
		// check reports every problem, bad flags included, as UNKNOWN (3) on stdout: Nagios reads 2 as CRITICAL.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if err := a.setupLogging(); err != nil {
				return unknownFlags(err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownFlags(fmt.Errorf("check takes no arguments, got %q", args[0]))
			}
			if ks == "" {
				return unknownFlags(fmt.Errorf("--keystore FILE|WORKDIR is required"))
			}
			var pw []byte
			// A missing keystore is reported by the check itself, without asking for a password first.
			if _, err := os.Stat(ks); err == nil {
				p, err := a.keystorePassword(false)
				if err != nil {
					return a.checkUnknown(ks, &f, err, "Give the keystore password with EHCERT_KEYSTORE_PASSWORD or --password-file FILE.")
				}
				pw = []byte(p)
			}
			opts, err := a.expiryOptions(&f, ks, pw)
			if err != nil {
				return a.checkUnknown(ks, &f, err, "Fix the settings of the online check (--env, --ca-file, --user-agent, --from) or drop --online.")
			}
			opts.Now = a.clock()
			r, _ := expiry.Check(cmd.Context(), opts) // the report says UNKNOWN when the keystore could not be read
			return a.printCheck(cmd.Context(), r)
		},
	}
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return unknownFlags(err) })
	c.Flags().StringVar(&ks, "keystore", "", "the keystore to check: a PKCS#12 file or a process work directory (required)")
	c.Flags().StringVarP(&ks, "workdir", "w", "", "same as --keystore (a work directory)")
	addCheckFlags(c, &f)
	return c
}

// checkUnknown prints an UNKNOWN report for a check that could not start (bad flags, no password) and ends the
// command with exit code 3.
func (a *app) checkUnknown(path string, f *checkFlags, err error, action string) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	r := &expiry.Report{
		SchemaVersion: expiry.SchemaVersion,
		Status:        expiry.Unknown,
		ExitCode:      int(expiry.Unknown),
		Summary:       msg,
		Action:        action,
		Keystore:      path,
		CheckedAt:     a.clock().UTC(),
		Thresholds:    expiry.Thresholds{WarningDays: threshold(f.warn), CriticalDays: threshold(f.crit)},
		Online:        expiry.Online{CertRA: f.online, Depot: f.online},
		Items:         []expiry.Item{},
		Findings:      []expiry.Finding{{Status: expiry.Unknown, Message: msg, Action: action}},
	}
	return a.printCheck(context.Background(), r)
}

// printCheck writes the report (text or --json) and ends the command with its exit code.
func (a *app) printCheck(ctx context.Context, r *expiry.Report) error {
	var err error
	if a.jsonOut {
		err = r.WriteJSON(a.stdout)
	} else {
		err = r.WriteText(a.stdout)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "ehcert: writing the report: %v\n", err)
		return &exitStatus{int(expiry.Unknown)}
	}
	a.logReport(ctx, r)
	if r.ExitCode == exitOK {
		return nil
	}
	return &exitStatus{r.ExitCode}
}

// logReport logs the outcome of a check: keystore, status and days left (no subject: it may hold a national
// number).
func (a *app) logReport(ctx context.Context, r *expiry.Report) {
	if r == nil {
		return
	}
	level := slog.LevelInfo
	if r.Status != expiry.OK {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("keystore", r.Keystore), slog.String("status", r.Status.String())}
	for _, it := range r.Items {
		if it.Kind == expiry.KindAuthentication && it.Current {
			attrs = append(attrs, slog.Int("days_left", it.DaysLeft))
		}
	}
	a.logger().LogAttrs(ctx, level, "expiry check", attrs...)
}

func (a *app) serveMetricsCommand() *cobra.Command {
	var f checkFlags
	var keystores []string
	var listen string
	var interval time.Duration
	c := &cobra.Command{
		Use:   "serve-metrics --keystore FILE|WORKDIR [--keystore ...]",
		Short: "Export the keystores' days to expiry to Prometheus (/metrics) until interrupted",
		Long: `serve-metrics checks each --keystore as "ehcert check" does, at once and then every --interval, and serves the
results in the Prometheus exposition format at http://LISTEN/metrics (and "ok" at /healthz) until interrupted:

  ehcert_certificate_days_to_expiry{keystore,kind,alias,current}   days left (negative: expired)
  ehcert_certificate_not_after_seconds{keystore,kind,alias,current} not-after, Unix time
  ehcert_check_status{keystore}                                    0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
  ehcert_check_timestamp_seconds{keystore}                         time of the last check
  ehcert_ehealth_calls_total, ehcert_etkdepot_requests_total, ...   the calls of --online checks

plus the Go runtime and process metrics. An alert on the certificates, for example:

  min by (keystore) (ehcert_certificate_days_to_expiry{current="true"}) < 30

The first check of every keystore is made before the server listens, so the first scrape sees them all. The
keystore password is read once (EHCERT_KEYSTORE_PASSWORD or --password-file) and opens every keystore. The
metrics hold keystore paths, aliases and dates, never a secret; they are served without authentication, on
loopback by default.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if len(keystores) == 0 {
				return usagef("name at least one keystore: --keystore FILE|WORKDIR (repeatable)")
			}
			if interval <= 0 {
				return usagef("--interval %s: must be positive", interval)
			}
			if host, _, err := net.SplitHostPort(listen); err != nil {
				return usagef("--listen %q: want HOST:PORT, e.g. %s", listen, defaultMetricsListen)
			} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				a.say("serve-metrics: warning: %s is not a loopback address; the metrics are served without authentication", listen)
			}
			pw, err := a.keystorePassword(false)
			if err != nil {
				return err
			}
			tmpl, err := a.expiryOptions(&f, "", []byte(pw))
			if err != nil {
				return err
			}
			checks := make([]func(context.Context) *expiry.Report, len(keystores))
			names := make([]string, len(keystores))
			for i, ks := range keystores {
				abs, err := filepath.Abs(ks)
				if err != nil {
					return usagef("--keystore %s: %v", ks, err)
				}
				names[i] = abs
				checks[i] = func(ctx context.Context) *expiry.Report {
					o := tmpl
					o.KeystorePath = abs
					o.Now = a.clock()
					r, _ := expiry.Check(ctx, o) // a failed check is an UNKNOWN report, published as such
					a.logReport(ctx, r)
					return r
				}
			}

			// The first round, all keystores at once, before listening.
			reports := make([]*expiry.Report, len(checks))
			var wg sync.WaitGroup
			for i := range checks {
				wg.Go(func() { reports[i] = checks[i](ctx) })
			}
			wg.Wait()
			if ctx.Err() != nil {
				return nil // interrupted
			}
			for i, r := range reports {
				observe.Default.SetExpiry(names[i], r)
				a.say("%s: %s: %s", names[i], r.Status, r.Summary)
			}
			for i := range checks {
				go func() {
					t := time.NewTicker(interval)
					defer t.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
						}
						r := checks[i](ctx)
						if ctx.Err() != nil {
							return
						}
						observe.Default.SetExpiry(names[i], r)
					}
				}()
			}
			return observe.ListenAndServe(ctx, listen, observe.Handler(), func(addr string) {
				a.say("serving metrics on http://%s/metrics until interrupted", addr)
			})
		},
	}
	c.Flags().StringArrayVar(&keystores, "keystore", nil, "a keystore to watch: PKCS#12 file or process work directory (repeatable)")
	c.Flags().StringVar(&listen, "listen", defaultMetricsListen, "HOST:PORT to serve /metrics on (port 0: the system picks one, printed)")
	c.Flags().DurationVar(&interval, "interval", defaultMetricsInterval, "time between two checks of a keystore")
	addCheckFlags(c, &f)
	return c
}
