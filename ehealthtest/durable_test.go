package ehealthtest_test

import (
	"bytes"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
)

// A durable platform keeps its PKI, citizens, clock and registrations across restarts, and never writes a
// private key into its JSON state.
func TestDurableState(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, ehealthtest.WithStateDir(dir))
	h := e.newHolder(e.eid, subjectSpec{})
	complete, _, err := e.registerETK(h)
	if err != nil {
		t.Fatal(err)
	}
	bob := e.srv.NewCitizen("90010100123", "Bob", "Janssens", ehealthtest.Organization{Type: "NIHII-HOSPITAL", ID: "71000436", Name: "Test Hospital"})
	e.srv.Clock().Advance(time.Hour)
	roots := e.srv.RootsPEM()
	e.srv.Close()
	e.srv.Close() // idempotent

	e2 := newEnv(t, ehealthtest.WithStateDir(dir))
	if !bytes.Equal(e2.srv.RootsPEM(), roots) {
		t.Fatal("the PKI changed across a restart")
	}
	if off := e2.srv.Clock().Offset(); off < 59*time.Minute || off > 61*time.Minute {
		t.Errorf("clock offset %v, want about 1h", off)
	}
	if !e2.eid.Authentication.Public().(*rsa.PublicKey).Equal(e.eid.Authentication.Public()) {
		t.Error("the default citizen's key changed")
	}
	bob2, err := e2.srv.LookupCitizen(bob.SSIN)
	if err != nil || len(bob2.Organizations) != 1 || !bob2.Signature.Certificate().Equal(bob.Signature.Certificate()) {
		t.Fatalf("Bob after restart: %v %+v", err, bob2)
	}
	reg, ok := e2.srv.Registration(h.pki)
	if !ok || reg.ETKStatus != "VALID_ACTIVE" || !bytes.Equal(reg.ETK, complete.ETK) {
		t.Fatalf("registration after restart: %+v", reg)
	}
	// The restarted platform accepts the certificate it issued before.
	info, err := e2.certra(&sign.Keyring{EHealthAuthentication: h.sign}).GetCertificateInfoForAuthenticationCertificate(e2.ctx,
		&gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil || info.CertificateInfo.ETKStatus != gen.ETKStatusTypeVALID_ACTIVE {
		t.Fatalf("after restart: %v", err)
	}
	if got := depotETKs(t, e2, "SSIN", e.eid.SSIN, ""); len(got) != 1 {
		t.Fatalf("depot after restart: %d ETKs", len(got))
	}

	// Files: no key material in the JSON, secrets 0600.
	state, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(state, []byte("PRIVATE KEY")) || strings.Contains(string(state), "\"key\"") {
		t.Error("state.json holds key material")
	}
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".key") || strings.HasSuffix(p, "state.json") {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v", p, fi.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "roots.pem")); err != nil {
		t.Error(err)
	}
}

// The software eID exports as a PKCS#12 keystore with the BeID aliases.
func TestEIDToPKCS12(t *testing.T) {
	srv := newServer(t)
	eid := srv.Citizen()
	p12, err := eid.ToPKCS12("secret")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.Decode(p12, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for alias, want := range map[string]*ehealthtest.Key{ehealthtest.AliasAuthentication: eid.Authentication, ehealthtest.AliasSignature: eid.Signature} {
		k, ok := ks.Key(alias)
		if !ok || !k.Certificate().Equal(want.Certificate()) {
			t.Errorf("alias %s: %v", alias, k)
		}
	}
	key, err := sign.LoadPKCS12(p12, []byte("secret"), ehealthtest.AliasSignature)
	if err != nil {
		t.Fatal(err)
	}
	if len(key.Chain()) != 2 || key.Chain()[0].Subject.SerialNumber != eid.SSIN {
		t.Errorf("chain %v", key.Chain())
	}
	if _, err := keystore.Decode(p12, []byte("wrong")); err == nil {
		t.Error("wrong password accepted")
	}
}
