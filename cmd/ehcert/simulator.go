package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// Files the simulator writes in its state directory, next to ehealthtest's own state.
const (
	simRootFile     = "root.pem"             // trust anchors: the platform root and the TLS CA
	simEIDFile      = "citizen-eid.p12"      // the test citizen's software eID
	simEIDPassword  = "citizen-eid.password" // its password (a worthless test eID; kept so restarts reuse it)
	simDefaultState = "ehcert-simulator"
)

func (a *app) simulatorCommand() *cobra.Command {
	var addr, stateDir string
	var issueAfterPolls int
	var issueDelay, certValidity, replacementPeriod time.Duration
	var manual, resetClock bool
	c := &cobra.Command{
		Use:   "simulator",
		Short: "Serve a local eHealth platform (CertRA, EtkRA, ETK Depot) for tests",
		Long: `simulator serves a local, durable eHealth platform over TLS until interrupted.

The first line of output is the base URL, for --env. The state directory keeps the PKI, the test citizens and
every request across restarts; it also receives:

  root.pem              the roots to trust: use --ca-file STATE_DIR/root.pem
  citizen-eid.p12       the test citizen's software eID (aliases Authentication and Signature); its password is
                        printed and kept in citizen-eid.password

An operator's API (no authentication; it is a local test server) does what eHealth's staff and browsers do:

  POST URL/ehealthtest/approve/<PublicKeyIdentifier>   approve a request waiting for manual validation
  POST URL/ehealthtest/refuse/<PublicKeyIdentifier>    refuse it
  POST URL/ehealthtest/confirm/<PublicKeyIdentifier>   confirm a foreigner's request
  POST URL/ehealthtest/clock?advance=2160h             move the platform's clock
  GET  URL/ehealthtest/registrations                   every request, as JSON

Renewal. A certificate can be renewed only in its replacement period (the last 90 days of its 3 years, by
default). Moving the platform's clock there (clock?advance=) also makes every request signed with this machine's
time too old for the platform, so "ehcert renew" fails. To exercise renew without moving the clock, make new
certificates renewable as soon as they are issued:

  --cert-validity 720h          certificates valid 30 days: inside the default 90-day replacement period at once
  --replacement-period 26300h   a replacement period longer than the 3-year validity

Both apply to certificates issued while the simulator runs with them (the state keeps each certificate's dates;
the replacement period is checked with the current flag). For example:

  ehcert simulator --state-dir ./sim --cert-validity 720h
  ehcert ... create --org CBE:0123456749 --workdir ./a ...
  ehcert ... renew --keystore ./a/keystore.p12 --workdir ./b --accept

Everything it issues is for testing only.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stateDir == "" {
				stateDir = simDefaultState
			}
			if certValidity < 0 || replacementPeriod < 0 {
				return usagef("--cert-validity and --replacement-period must not be negative")
			}
			opts := ehealthtest.Options{Addr: addr, StateDir: stateDir, IssueAfterPolls: issueAfterPolls, IssueDelay: issueDelay,
				CertificateValidity: certValidity, ReplacementPeriod: replacementPeriod}
			if manual {
				opts.ManualValidation = func(string, string) bool { return true }
			}
			if !a.quiet {
				opts.Logf = func(format string, args ...any) {
					fmt.Fprintf(a.stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
				}
			}
			srv, err := ehealthtest.NewUnstartedServer(opts)
			if err != nil {
				return fmt.Errorf("simulator state in %s: %w", stateDir, err)
			}
			if resetClock {
				srv.Clock().Set(time.Now())
			}
			if err := srv.Start(); err != nil {
				return err
			}
			defer srv.Close()
			info, err := writeSimulatorFiles(srv, stateDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, srv.URL)
			abs, _ := filepath.Abs(stateDir)
			eid := srv.Citizen()
			fmt.Fprintf(a.stdout, "state directory: %s\n", abs)
			fmt.Fprintf(a.stdout, "trust:           --ca-file %s\n", info.root)
			fmt.Fprintf(a.stdout, "test eID:        --eid-p12 %s (%s %s, SSIN %s)\n", info.eid, eid.FirstName, eid.LastName, eid.SSIN)
			fmt.Fprintf(a.stdout, "eID password:    %s (EHCERT_EID_PASSWORD)\n", info.password)
			for _, o := range eid.Organizations {
				fmt.Fprintf(a.stdout, "organisation:    %s %s %q\n", o.Type, o.ID, o.Name)
			}
			fmt.Fprintf(a.stdout, "example:         EHCERT_EID_PASSWORD=%s ehcert --env %s --ca-file %s --eid-p12 %s create --org %s:%s --email you@example.org --phone 021234567 --workdir ./wd\n",
				info.password, srv.URL, info.root, info.eid, eid.Organizations[0].Type, eid.Organizations[0].ID)
			fmt.Fprintf(a.stdout, "operator API:    %s/ehealthtest/ (approve, refuse, confirm, clock, registrations; see --help)\n", srv.URL)
			if v, rp := orDefault(certValidity, simDefaultValidity), orDefault(replacementPeriod, simDefaultReplacement); rp >= v {
				fmt.Fprintf(a.stdout, "renewal:         new certificates (valid %s) are in their replacement period (%s) at once: renew works now\n", days(v), days(rp))
			}
			if off := srv.Clock().Offset(); off > time.Minute || off < -time.Minute {
				fmt.Fprintf(a.stdout, "warning:         the platform's clock is %s ahead of this machine's (a demo moved it); requests\n"+
					"                 signed now are refused as too old: restart with --reset-clock\n", off.Round(time.Hour))
			}
			fmt.Fprintln(a.stdout, "serving until interrupted (Ctrl-C)")
			<-cmd.Context().Done()
			a.say("simulator: stopping")
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address HOST:PORT (port 0: the system picks one)")
	c.Flags().StringVar(&stateDir, "state-dir", "", "directory of the simulator's durable state (default ./"+simDefaultState+")")
	c.Flags().IntVar(&issueAfterPolls, "issue-after-polls", 1, "GetCertificate call that delivers an approved certificate (answers CERT_NOT_YET_DELIVERED before)")
	c.Flags().DurationVar(&issueDelay, "issue-delay", 0, "least time between approval and delivery of a certificate")
	c.Flags().BoolVar(&resetClock, "reset-clock", false, "set the platform's clock back to this machine's time (the demo moves it years ahead)")
	c.Flags().DurationVar(&certValidity, "cert-validity", 0, "validity of the certificates issued (default 3 years, 26280h); shorter than the replacement period makes them renewable at once")
	c.Flags().DurationVar(&replacementPeriod, "replacement-period", 0, "period before a certificate's expiry in which it can be renewed (default 90 days, 2160h)")
	c.Flags().BoolVar(&manual, "manual-validation", false, "organisation requests wait for manual validation (never approved by this simulator)")
	return c
}

// The simulator's defaults (ehealthtest.Options), for the startup message.
const (
	simDefaultValidity    = 3 * 365 * 24 * time.Hour
	simDefaultReplacement = 90 * 24 * time.Hour
)

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// days formats a duration of whole days as "N days".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return strings.TrimSuffix(d.String(), "0m0s")
}

type simFiles struct{ root, eid, password string }

// writeSimulatorFiles writes root.pem and the citizen's software eID into dir, reusing the saved password.
func writeSimulatorFiles(srv *ehealthtest.Server, dir string) (simFiles, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return simFiles{}, err
	}
	f := simFiles{root: filepath.Join(abs, simRootFile), eid: filepath.Join(abs, simEIDFile)}
	roots := append(append([]byte(nil), srv.RootsPEM()...), srv.TLSRootsPEM()...)
	if err := atomicfile.WriteFile(f.root, roots, 0o644); err != nil {
		return f, err
	}
	pwPath := filepath.Join(abs, simEIDPassword)
	pw, err := os.ReadFile(pwPath)
	switch {
	case err == nil:
		f.password = strings.TrimSpace(string(pw))
	case errors.Is(err, fs.ErrNotExist):
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return f, err
		}
		f.password = base64.RawURLEncoding.EncodeToString(b[:])
		if err := atomicfile.WriteFile(pwPath, []byte(f.password+"\n"), 0o600); err != nil {
			return f, err
		}
	default:
		return f, err
	}
	p12, err := srv.Citizen().ToPKCS12(f.password)
	if err != nil {
		return f, err
	}
	if old, err := os.ReadFile(f.eid); err != nil || !bytes.Equal(old, p12) {
		if err := atomicfile.WriteFile(f.eid, p12, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}
