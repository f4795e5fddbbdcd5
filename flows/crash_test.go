package flows_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/flows"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/soap"
)

var errCrash = errors.New("simulated crash")

// flowCase is one kind of process, ready to run against a fresh env.
type flowCase struct {
	name string
	kind flows.Kind
	// ops are the operations the process calls (for fault injection).
	ops []string
	// prepare readies the platform and returns how to start the process.
	prepare func(t *testing.T, e *env) (start func(ctx context.Context, store flows.Store, d *flows.Deps) (*flows.Result, error))
	// unblock does what an operator or a foreigner does while the process waits (nil: never waits).
	unblock func(t *testing.T, e *env, store flows.Store)
	// check checks a finished process.
	check func(t *testing.T, e *env, store flows.Store, res *flows.Result)
	// subject of the keys the platform knows.
	subject func(e *env) (typ, id, appID string)
}

var createOps = []string{"GetActorQualities", "GetGenericOrganizationTypes", "GetExistingApplicationIds", "GenerateContract",
	"GenerateCertificate", "GetCertificate", "StartETKRegistration", "CompleteETKRegistration"}

func flowCases() []flowCase {
	org := ehealthtest.DefaultOrganization
	return []flowCase{
		{
			// Its calls are a subset of create-org-appid's: no separate fault injection.
			name: "create-person", kind: flows.KindCreate,
			prepare: func(t *testing.T, e *env) func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error) {
				return func(ctx context.Context, s flows.Store, d *flows.Deps) (*flows.Result, error) {
					return flows.Create(ctx, s, personRequest(), d)
				}
			},
			check: func(t *testing.T, e *env, s flows.Store, res *flows.Result) {
				e.checkDone(s, res, "SSIN", ehealthtest.DefaultCitizenSSIN, "")
			},
			subject: func(*env) (string, string, string) { return "SSIN", ehealthtest.DefaultCitizenSSIN, "" },
		},
		{
			name: "create-org-appid", kind: flows.KindCreate, ops: createOps,
			prepare: func(t *testing.T, e *env) func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error) {
				return func(ctx context.Context, s flows.Store, d *flows.Deps) (*flows.Result, error) {
					return flows.Create(ctx, s, orgRequest("CRASH"), d)
				}
			},
			check: func(t *testing.T, e *env, s flows.Store, res *flows.Result) {
				e.checkDone(s, res, org.Type, org.ID, "CRASH")
			},
			subject: func(*env) (string, string, string) { return org.Type, org.ID, "CRASH" },
		},
		{
			name: "renew", kind: flows.KindRenew,
			ops: []string{"GetCertificateInfoForAuthenticationCertificate", "GenerateContract", "GenerateCertificate", "GetCertificate",
				"StartETKRegistration", "CompleteETKRegistration", "ActivateETK"},
			prepare: func(t *testing.T, e *env) func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error) {
				old := e.createPerson()
				e.old = old
				e.srv.Clock().Set(old.Certificate.NotAfter.Add(-20 * 24 * time.Hour))
				return func(ctx context.Context, s flows.Store, d *flows.Deps) (*flows.Result, error) {
					return flows.Renew(ctx, s, flows.RenewRequest{Keystore: old.Keystore}, d)
				}
			},
			check:   checkRenewed,
			subject: func(*env) (string, string, string) { return "SSIN", ehealthtest.DefaultCitizenSSIN, "" },
		},
		{
			name: "revoke", kind: flows.KindRevoke,
			ops: []string{"GenerateRevocationContract", "Revoke"},
			prepare: func(t *testing.T, e *env) func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error) {
				old := e.createPerson()
				e.old = old
				return func(ctx context.Context, s flows.Store, d *flows.Deps) (*flows.Result, error) {
					return flows.Revoke(ctx, s, flows.RevokeRequest{Certificate: old.Certificate, Reason: flows.ReasonSuperseded}, d)
				}
			},
			check: func(t *testing.T, e *env, s flows.Store, res *flows.Result) {
				reg, _ := e.srv.Registration(mustHexBytes(t, pkiHex(e.old.Certificate)))
				if reg.Status != "REVOKED" {
					t.Fatalf("status %s", reg.Status)
				}
				if res.RevokedPublicKeyIdentifier != pkiHex(e.old.Certificate) {
					t.Fatalf("result %+v", res)
				}
			},
			// A revocation makes no key: nothing to find on disk.
		},
		{
			name: "foreigner", kind: flows.KindForeigner,
			ops: []string{"SubmitCSRForForeigner", "GetCertificate", "StartETKRegistration", "CompleteETKRegistration"},
			prepare: func(t *testing.T, e *env) func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error) {
				return func(ctx context.Context, s flows.Store, d *flows.Deps) (*flows.Result, error) {
					fd := *d
					fd.EIDAuthentication, fd.EIDSignature = nil, nil
					return flows.Foreigner(ctx, s, flows.ForeignerRequest{SSINBis: foreignerSSIN, FirstName: "Jean", LastName: "Dupont", Contact: contact()}, &fd)
				}
			},
			unblock: func(t *testing.T, e *env, s flows.Store) {
				// The URL as the platform knows it (the process may have lost the answer that carried it).
				for _, r := range e.srv.Registrations() {
					if r.Foreigner && r.Status == "IN_PROGRESS" {
						if err := e.srv.ConfirmForeigner(r.ValidationURL); err != nil {
							t.Fatal(err)
						}
					}
				}
			},
			check: func(t *testing.T, e *env, s flows.Store, res *flows.Result) {
				e.checkDone(s, res, "SSIN", foreignerSSIN, "")
			},
			subject: func(*env) (string, string, string) { return "SSIN", foreignerSSIN, "" },
		},
	}
}

// checkRenewed checks a finished renewal: the new certificate has an active ETK, the old one's ETK is no
// longer active, exactly one certificate was requested by the renewal, and the keystore keeps the old keys.
func checkRenewed(t *testing.T, e *env, s flows.Store, res *flows.Result) {
	t.Helper()
	regs := e.registrations("SSIN", ehealthtest.DefaultCitizenSSIN, "")
	if len(regs) != 2 {
		t.Fatalf("%d certificate requests, want 2 (the original and its replacement)", len(regs))
	}
	newReg, ok := e.srv.Registration(mustHexBytes(t, pkiHex(res.Certificate)))
	if !ok || newReg.Status != "VALID_ACTIVE" || newReg.ETKStatus != "VALID_ACTIVE" {
		t.Fatalf("new registration %+v", newReg)
	}
	ks, err := keystore.Decode(res.Keystore, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.EncryptionKeys()) != 2 {
		t.Fatalf("%d encryption keys", len(ks.EncryptionKeys()))
	}
	if _, ok := ks.EncryptionKey(newReg.EncryptionCertificate.SerialNumber); !ok {
		t.Fatal("new encryption key missing")
	}
	if !bytes.Equal(res.ETK, newReg.ETK) {
		t.Fatal("the result's ETK is not the registered one")
	}
}

// run drives a process to its end: it resumes after errors it was told to expect and unblocks waits.
func (c flowCase) finish(t *testing.T, e *env, store flows.Store, d *flows.Deps) *flows.Result {
	t.Helper()
	for i := 0; i < 5; i++ {
		res, err := flows.Resume(context.Background(), store, d)
		if err == nil {
			return res
		}
		if flows.IsPending(err) && c.unblock != nil {
			c.unblock(t, e, store)
			continue
		}
		t.Fatalf("resume: %v", err)
	}
	t.Fatal("process does not finish")
	return nil
}

// keysOnDisk returns the public keys (SPKI DER) of every private key in the store: keystores and pending
// key files.
func keysOnDisk(t *testing.T, store flows.Store) map[string]bool {
	t.Helper()
	ctx := context.Background()
	out := map[string]bool{}
	for _, name := range []string{flows.FileKeystore, flows.FilePrevious} {
		b, err := store.Get(ctx, name)
		if errors.Is(err, flows.ErrNotFound) {
			continue
		}
		ks, err := keystore.Decode(b, []byte(testPassword))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, k := range ks.Keys {
			s, _ := k.Signer()
			spki, _ := x509.MarshalPKIXPublicKey(s.Public())
			out[string(spki)] = true
		}
	}
	for _, name := range []string{flows.FileAuthKey, flows.FileEncKey} {
		b, err := store.Get(ctx, name)
		if errors.Is(err, flows.ErrNotFound) {
			continue
		}
		k, err := flows.OpenKeyFile(b, testPassword)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		spki, _ := x509.MarshalPKIXPublicKey(k.Public())
		out[string(spki)] = true
	}
	return out
}

// knownKeys returns the public keys the platform has seen from this process's subject: the keys of its
// certificate requests and every key sent to StartETKRegistration.
func knownKeys(t *testing.T, e *env, typ, id, appID string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	pkis := map[string]bool{}
	for _, r := range e.registrations(typ, id, appID) {
		pkis[hexOf(r.PublicKeyIdentifier)] = true
	}
	for _, rr := range e.srv.Requests() {
		switch rr.Target {
		case "GenerateCertificate", "SubmitCSRForForeigner":
			csr := extractCSR(rr.Request)
			if csr != nil {
				if b, err := certreq.PublicKeyIdentifier(csr.PublicKey); err == nil && pkis[hexOf(b)] {
					out[string(csr.RawSubjectPublicKeyInfo)] = true
				}
			}
		case "StartETKRegistration":
			var env struct {
				Body struct {
					Req genetkra.StartETKRegistrationRequest
				}
			}
			if xml.Unmarshal(rr.Request, &env) == nil && len(env.Body.Req.PublicEncryptionKey) > 0 {
				out[string(env.Body.Req.PublicEncryptionKey)] = true
			}
		}
	}
	return out
}

// extractCSR finds the base64 CSR element of a recorded request.
func extractCSR(body []byte) *x509.CertificateRequest {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "CSR" {
			var s string
			if d.DecodeElement(&s, &se) != nil {
				return nil
			}
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
			if err != nil {
				return nil
			}
			csr, err := x509.ParseCertificateRequest(der)
			if err != nil {
				return nil
			}
			return csr
		}
	}
}

// checkKeysOnDisk fails when the platform knows a key of the process that is not on disk.
func checkKeysOnDisk(t *testing.T, e *env, c flowCase, store flows.Store) {
	t.Helper()
	if c.subject == nil {
		return
	}
	typ, id, app := c.subject(e)
	disk := keysOnDisk(t, store)
	for k := range knownKeys(t, e, typ, id, app) {
		if !disk[k] {
			pub, _ := x509.ParsePKIXPublicKey([]byte(k))
			b, _ := certreq.PublicKeyIdentifier(pub)
			t.Errorf("the platform knows key %X, which is not on disk", b)
		}
	}
}

// Crash the process after every step, then resume it: it finishes with exactly one certificate and one
// active ETK, and at the moment of the crash every private key the platform knows is on disk.
func TestCrashAfterEveryStep(t *testing.T) {
	for _, c := range flowCases() {
		for _, step := range flows.Steps(c.kind) {
			t.Run(c.name+"/"+step, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				start := c.prepare(t, e)
				store := flows.DirStore(t.TempDir())
				d := *e.deps
				d.StopWhenPending = true
				d.Hooks.AfterStep = func(s string) error {
					if s == step {
						return errCrash
					}
					return nil
				}
				_, err := start(context.Background(), store, &d)
				for flows.IsPending(err) && c.unblock != nil {
					c.unblock(t, e, store)
					_, err = flows.Resume(context.Background(), store, &d)
				}
				if !errors.Is(err, errCrash) {
					t.Fatalf("err = %v, want the crash after %s", err, step)
				}
				checkKeysOnDisk(t, e, c, store)
				st, err := flows.Status(context.Background(), store)
				if err != nil || st.Step != step {
					t.Fatalf("status after crash: %+v, %v", st, err)
				}
				d.Hooks.AfterStep = nil
				res := c.finish(t, e, store, &d)
				c.check(t, e, store, res)
				checkKeysOnDisk(t, e, c, store)
			})
		}
	}
}

// faultKinds are the failures ehealthtest injects, each answered as the process must: a typed, retryable
// StepError, the state still resumable.
var faultKinds = []ehealthtest.Fault{
	{Kind: ehealthtest.Drop},
	{Kind: ehealthtest.DropAfter},
	{Kind: ehealthtest.HTTP500Fault},
	{Kind: ehealthtest.HTML503, RetryAfter: "1"},
	{Kind: ehealthtest.Garbage},
	{Kind: ehealthtest.Truncated},
	{Kind: ehealthtest.Oversized, Size: 5 << 20},
	{Kind: ehealthtest.Delay, Delay: 5 * time.Second}, // a timeout: the client gives up first
}

// TestFaultAtEveryCall injects every fault into every call of every process once. The run fails with a
// typed, retryable *StepError naming the step; Resume then completes the process.
func TestFaultAtEveryCall(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, c := range flowCases() {
		for _, op := range c.ops {
			for _, f := range faultKinds {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, op, f.Kind), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					start := c.prepare(t, e)
					store := flows.DirStore(t.TempDir())
					d := *e.deps
					d.StopWhenPending = true
					if f.Kind == ehealthtest.Delay {
						// The client gives up on the delayed call (only that one) after a short while.
						hc := *e.srv.Client()
						hc.Transport = &timeoutOnce{base: hc.Transport, op: op, after: 300 * time.Millisecond}
						d.SOAP = &soap.Client{HTTPClient: &hc}
					}
					e.srv.Inject(op, f)
					_, err := start(context.Background(), store, &d)
					for flows.IsPending(err) && c.unblock != nil {
						c.unblock(t, e, store)
						_, err = flows.Resume(context.Background(), store, &d)
					}
					var se *flows.StepError
					if !errors.As(err, &se) {
						t.Fatalf("err = %v (%T), want a *StepError", err, err)
					}
					if !se.Retryable {
						t.Errorf("%v: not retryable", err)
					}
					if !strings.Contains(err.Error(), op) {
						t.Errorf("error %q does not name the operation %s", err, op)
					}
					checkKeysOnDisk(t, e, c, store)
					e.srv.ClearFaults()
					res := c.finish(t, e, store, &d)
					c.check(t, e, store, res)
				})
			}
		}
	}
}

// timeoutOnce gives the first request of one operation a deadline, as a client timeout would.
type timeoutOnce struct {
	base  http.RoundTripper
	op    string
	after time.Duration
	done  atomic.Bool
}

func (t *timeoutOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	action := strings.ToLower(r.Header.Get("SOAPAction"))
	if !strings.HasSuffix(strings.Trim(action, `"`), ":"+strings.ToLower(t.op)) || t.done.Swap(true) {
		return base.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), t.after)
	resp, err := base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error { b.cancel(); return b.ReadCloser.Close() }
