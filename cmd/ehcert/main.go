// Command ehcert requests, renews and revokes Belgian eHealth certificates and their encryption tokens (ETKs),
// calls every CertRA v2 and EtkRA v2 operation on its own, looks up ETKs in the ETK Depot, and runs a local
// simulator of the platform.
//
// Start with
//
//	go run ./cmd/ehcert demo
//
// which runs the whole life of a certificate against an in-process simulator, with a test citizen's software eID.
//
// # Exit codes
//
//	0  success
//	1  failure (anything not listed below)
//	2  usage error: unknown command, bad flags or arguments, missing input
//	3  the platform refused the request (an eHealth status or SOAP fault): the message names the eHealth code, the
//	   step, and whether retrying or `ehcert resume --workdir DIR` can help
//	4  the platform could not be reached (network failure, timeout, HTTP 5xx from a proxy): try again later
//	5  wrong PIN or password, or a problem with a key (missing, locked token, key/certificate mismatch)
//	6  pending: the process waits for something outside it (manual validation by eHealth, a foreigner's
//	   confirmation); run `ehcert resume --workdir DIR` later
//	7  validation failed (`ehcert etk verify`: the ETK is not valid)
//
// `ehcert check` is a monitoring check and follows the monitoring-plugin convention instead: 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN (bad flags, an unreadable keystore or no password are UNKNOWN too).
//
// # Monitoring and logs
//
// `ehcert check --keystore FILE|WORKDIR` reports the expiry of a keystore's certificate and ETKs (with --online,
// also CertRA's view and whether the ETK Depot publishes this keystore's ETK); `ehcert serve-metrics` exports the
// same as Prometheus gauges (ehcert_certificate_days_to_expiry, ehcert_check_status, ...) at /metrics. The global
// --log-level (off by default) writes one slog record per eHealth call on stderr, as text or --log-format json:
// never a body, a key, a certificate, a PIN or a password.
//
// # Secrets
//
// PINs and passwords are never taken from the command line. They are read, in this order, from the file named by
// --pin-file, --eid-password-file or --password-file, from the environment (EHCERT_PIN, EHCERT_EID_PASSWORD,
// EHCERT_KEYSTORE_PASSWORD), or typed at the terminal without echo.
//
// # Work directories
//
// create, renew, revoke and foreigner keep their process in a work directory (--workdir; a new one is made when
// omitted and its path is printed). Its layout is that of flows.DirStore:
//
//	<workdir>/process.json   state of the process (no key, PIN or password)
//	<workdir>/auth-key.pem   pending authentication key, encrypted under the keystore password
//	<workdir>/enc-key.pem    pending encryption key, encrypted under the keystore password
//	<workdir>/contract.html  the contract that was accepted
//	<workdir>/previous.p12   renew: copy of the keystore being renewed
//	<workdir>/keystore.p12   the result: a PKCS#12 keystore the eHealth connector loads
//	<workdir>/etk.der        the registered ETK
//
// A process that stopped (crash, signal, pending validation) is continued with `ehcert resume --workdir DIR`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes; see the package documentation.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitPlatform    = 3
	exitUnreachable = 4
	exitCredentials = 5
	exitPending     = 6
	exitInvalid     = 7
)

const exitCodeHelp = `Exit codes:
  0  success
  1  failure
  2  usage error (bad flags or arguments)
  3  the platform refused the request (eHealth code, step and whether retry/resume helps are printed)
  4  the platform could not be reached (network, timeout, proxy 5xx): try again later
  5  wrong PIN or password, or a key problem
  6  pending (e.g. manual validation): run "ehcert resume --workdir DIR" later
  7  validation failed (etk verify)
"ehcert check" uses the monitoring convention instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, the next one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code. Errors are printed to stderr.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr)
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	a.close()
	if err == nil {
		return exitOK
	}
	var es *exitStatus
	if errors.As(err, &es) {
		return es.code
	}
	code, lines := describe(err)
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintf(stderr, "ehcert: %s\n", l)
		} else {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
	}
	return code
}
