package rediscache_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/soap"
)

// lookup is one ETK lookup of the test: an identifier and an application id.
type lookup struct{ typ, value, appID string }

func (l lookup) String() string { return l.typ + "=" + l.value + "/" + l.appID }

// platform is a local eHealth platform whose depot holds the ETKs of three holders, registered by the create
// process.
func platform(t testing.TB) (*ehealthtest.Server, []lookup) {
	t.Helper()
	srv := ehealthtest.NewServer(t, ehealthtest.WithLogf(func(string, ...any) {}))
	eid := srv.Citizen()
	deps := &flows.Deps{
		Environment: srv.Environment(), SOAP: &soap.Client{HTTPClient: srv.Client()},
		EIDAuthentication: eid.Authentication, EIDSignature: eid.Signature, Password: "test password",
		Accept:       func(context.Context, flows.Contract) (bool, error) { return true, nil },
		PollInterval: -1, Now: srv.Clock().Now, KDFIterations: 1000,
	}
	org := ehealthtest.DefaultOrganization
	contact := flows.Contact{EmailPrivate: "ops@example.test", PhonePrivate: "+32 2 000 00 00"}
	for _, req := range []flows.CreateRequest{
		{Contact: contact},
		{Contact: contact, Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID}},
		{Contact: contact, Organization: &flows.OrganizationRequest{Type: org.Type, ID: org.ID}, ApplicationID: "APP1"},
	} {
		if _, err := flows.Create(context.Background(), flows.DirStore(t.TempDir()), req, deps); err != nil {
			t.Fatal(err)
		}
	}
	return srv, []lookup{{"SSIN", ehealthtest.DefaultCitizenSSIN, ""}, {org.Type, org.ID, ""}, {org.Type, org.ID, "APP1"}}
}

// upstream counts the depot requests of every instance, per query, and can hold them or make them fail.
type upstream struct {
	base  http.RoundTripper
	mu    sync.Mutex
	count map[string]int
	total atomic.Int64
	delay time.Duration
	fail  atomic.Bool
}

func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/etks") {
		u.total.Add(1)
		u.mu.Lock()
		u.count[r.URL.RawQuery]++
		u.mu.Unlock()
		if u.fail.Load() {
			return nil, errors.New("depot unreachable (test)")
		}
		if u.delay > 0 {
			// Hold the request so that every instance misses while the first one fetches: without the shared
			// lock they would all go upstream.
			time.Sleep(u.delay)
		}
	}
	return u.base.RoundTrip(r)
}

func (u *upstream) perQuery() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]int{}
	for k, v := range u.count {
		out[k] = v
	}
	return out
}

// instance is one process of an integration engine: its own Redis connection, Cache and depot client.
type instance struct {
	cache  *rediscache.Cache
	client *etkdepot.Client
	log    *syncBuffer
	events sync.Map // rediscache.Event -> *atomic.Int64
}

func (in *instance) eventCount(e rediscache.Event) int64 {
	if v, ok := in.events.Load(e); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func newInstance(t *testing.T, addr string, srv *ehealthtest.Server, up *upstream) *instance {
	t.Helper()
	clock := srv.Clock()
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { rc.Close() })
	in := &instance{log: &syncBuffer{}}
	in.cache = &rediscache.Cache{
		Client: rc, Now: clock.Now, RetryAfter: time.Millisecond, // retry Redis at every call: still logged once
		Logger: slog.New(slog.NewTextHandler(in.log, nil)),
		OnEvent: func(e rediscache.Event) {
			v, _ := in.events.LoadOrStore(e, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		},
	}
	in.client = &etkdepot.Client{
		BaseURL: srv.Environment().ETKDepot, HTTPClient: &http.Client{Transport: up}, Cache: in.cache, Now: clock.Now,
		ValidateETK: func(raw []byte, want etkdepot.Identity) error {
			e, err := etk.Parse(raw)
			if err != nil {
				return err
			}
			return e.Validate(etk.ValidateOptions{Time: clock.Now(), Roots: srv.Roots(), SignerRoots: srv.Roots(),
				Expect: &etk.Identity{Type: want.Type, Value: want.Value, ApplicationID: want.ApplicationID}})
		},
	}
	return in
}

// lookupAll makes every instance look up every key at once and fails the test on any error. It returns whether
// some answer was stale.
func lookupAll(t *testing.T, instances []*instance, keys []lookup) (stale bool) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	var errs []error
	for i, in := range instances {
		for _, k := range keys {
			wg.Go(func() {
				<-start
				entries, err := in.client.ETKs(context.Background(), k.typ, k.value, k.appID)
				if err == nil {
					_, err = etkdepot.Select(entries, k.appID)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, errors.New("instance "+string(rune('A'+i))+" "+k.String()+": "+err.Error()))
				}
				for _, e := range entries {
					stale = stale || e.Stale
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return stale
}

func depotRequests(srv *ehealthtest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Target == "etks" {
			n++
		}
	}
	return n
}

// TestInstancesShareRedis: six instances with their own Redis connections look up three keys concurrently
// against one depot. Each missing key costs one upstream request between them, and so does each expired one.
// With the depot down, a new instance is served the expired entry from Redis. Redis killed: every lookup still
// succeeds (from the depot, through each instance's local cache), and each instance says so once.
func TestInstancesShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and runs create processes")
	}
	rs := startRedis(t)
	srv, keys := platform(t)
	srv.ResetRequests()
	up := &upstream{base: srv.Client().Transport, count: map[string]int{}, delay: 50 * time.Millisecond}
	const n = 6
	var instances []*instance
	for range n {
		instances = append(instances, newInstance(t, rs.Addr(), srv, up))
	}

	// 1. Every key missing everywhere: one request per key.
	lookupAll(t, instances, keys)
	checkCounts := func(step string, want int) {
		t.Helper()
		q := up.perQuery()
		if len(q) != len(keys) {
			t.Fatalf("%s: requests for %d queries, want %d: %v", step, len(q), len(keys), q)
		}
		for query, c := range q {
			if c != want {
				t.Errorf("%s: %d upstream requests for %s, want %d", step, c, query, want)
			}
		}
		if got := depotRequests(srv); got != want*len(keys) {
			t.Errorf("%s: the depot saw %d requests, want %d", step, got, want*len(keys))
		}
	}
	checkCounts("missing keys", 1)
	var waited int64
	for _, in := range instances {
		waited += in.eventCount(rediscache.EventWait)
	}
	t.Logf("%d lookups, %d upstream requests, %d waits for another instance's fetch", n*len(keys), up.total.Load(), waited)

	// 2. Still fresh: nobody asks the depot.
	srv.Clock().Advance(time.Hour)
	lookupAll(t, instances, keys)
	checkCounts("fresh keys", 1)

	// 3. Expired everywhere: one more request per key.
	srv.Clock().Advance(etkdepot.DefaultTTL)
	lookupAll(t, instances, keys)
	checkCounts("expired keys", 2)

	// 4. Expired again and the depot down: a new instance (nothing in memory) gets the stale entries from Redis.
	srv.Clock().Advance(etkdepot.DefaultTTL + time.Minute)
	up.fail.Store(true)
	fresh := newInstance(t, rs.Addr(), srv, up)
	if !lookupAll(t, []*instance{fresh}, keys) {
		t.Error("depot down: the answers are not flagged stale")
	}
	up.fail.Store(false)

	// 5. Redis killed: lookups still succeed, from the depot, and each instance logs the outage once.
	rs.Kill()
	srv.Clock().Advance(etkdepot.DefaultTTL + time.Minute) // nothing fresh in memory
	lookupAll(t, instances, keys)
	srv.Clock().Advance(etkdepot.DefaultTTL + time.Minute)
	lookupAll(t, instances, keys)
	late := newInstance(t, rs.Addr(), srv, up) // started while Redis is down
	lookupAll(t, []*instance{late}, keys)
	for i, in := range append(instances, late) {
		if c := strings.Count(in.log.String(), "Redis is unreachable"); c != 1 {
			t.Errorf("instance %d logged the outage %d times, want once:\n%s", i, c, in.log.String())
		}
		if in.eventCount(rediscache.EventLocal) == 0 {
			t.Errorf("instance %d never used its local cache", i)
		}
	}

	// 6. Redis back (empty): the instances use it again and say so once.
	rs.Restart()
	srv.Clock().Advance(etkdepot.DefaultTTL + time.Minute)
	before := up.total.Load()
	lookupAll(t, instances, keys)
	if got := up.total.Load() - before; got != int64(len(keys)) {
		t.Errorf("Redis back: %d upstream requests, want %d", got, len(keys))
	}
	for i, in := range instances {
		if !strings.Contains(in.log.String(), "Redis is reachable again") {
			t.Errorf("instance %d did not log the recovery:\n%s", i, in.log.String())
		}
	}
	for _, in := range instances {
		if s := in.log.String(); strings.Contains(s, ehealthtest.DefaultCitizenSSIN) || strings.Contains(s, ehealthtest.DefaultOrganization.ID) {
			t.Errorf("an identifier in the log: %s", s)
		}
	}
}
