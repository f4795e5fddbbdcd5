package expiry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ehcert/ehcert/expiry"
)

// Example_check is the offline check of a keystore 45 days before its certificate expires, as `ehcert check`
// runs it; online, set Options.CertRA and Options.Depot.
func Example_check() {
	t := &testing.T{}
	p := newPKI(t)
	auth := p.auth(ehealthSubject("0123456749"), t0)
	ks := connectorKeystore(t, p, auth, p.enc(auth))

	r, err := expiry.Check(context.Background(), expiry.Options{
		Keystore: ks,
		Now:      auth.cert.NotAfter.Add(-45 * 24 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Status, r.ExitCode)
	fmt.Println(r.Summary)
	fmt.Println(r.Action)
	// r.WriteText(os.Stdout) prints the report for people, r.WriteJSON(os.Stdout) for machines.
	// Output:
	// WARNING 1
	// the eHealth authentication certificate expires in 45 days (2027-03-01)
	// Renew it now, the replacement period is open: ehcert renew --keystore <keystore file> (before 2027-03-01).
}
