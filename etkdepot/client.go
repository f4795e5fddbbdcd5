package etkdepot

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etk"
	depotapi "github.com/ehcert/ehcert/gen/etkdepot"
	"github.com/ehcert/ehcert/soap"
)

// Default settings of a Client.
const (
	// AcceptanceURL and ProductionURL are the base URLs of the depot (FACTS §13).
	AcceptanceURL = depotapi.ServerUrlAcceptance
	ProductionURL = depotapi.ServerUrlProduction

	// DefaultUserAgent is sent when Client.UserAgent is empty. Products should send their own, as the cookbook
	// asks (§5.1.2): "{software}/{version} {connector}/{version}".
	DefaultUserAgent = "ehcert/0 ehcert-etkdepot/1"
	// DefaultMaxResponseBytes bounds a response body when Client.MaxResponseBytes is zero.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultTTL is how long an answer stays fresh in the cache when Client.TTL is zero.
	DefaultTTL = 8 * time.Hour
	// DefaultMaxStale is how long past its expiry a cached answer may be served when the depot fails, when
	// Client.MaxStale is zero.
	DefaultMaxStale = 72 * time.Hour
	// DefaultRefetchInterval is the least time between two fetches of one JWK set caused by unknown kids, when
	// Client.RefetchInterval is zero.
	DefaultRefetchInterval = time.Minute
)

// Identity is what an ETK is registered under: identifier type, value and optional application id (an alias of
// ehealth.Identity, shared with packages certreq and etk).
type Identity = ehealth.Identity

// Entry is one ETK of the depot: the identity it is registered under and the ETK itself.
type Entry struct {
	Identity
	// ETK is the ETK, a CMS SignedData (BER or DER, FACTS §10), decoded from the depot's base64. It is shared
	// with the client's cache: do not modify it.
	ETK []byte
	// FetchedAt is when the depot gave this answer.
	FetchedAt time.Time
	// Stale is true when the entry comes from the cache after its time to live, because the depot failed.
	Stale bool
}

// KeyHolder is the holder of an ETK, as GET /keyholders/{kid} describes it (cookbook §5.2.4).
type KeyHolder struct {
	// Kind is the kind of holder, the property the depot put it under ("enterprise" in the cookbook).
	Kind string
	// Identity is the holder's identifier (Type upper case, e.g. "CBE"); empty when the answer names no known
	// identifier type. ApplicationID is always empty.
	Identity
	// Name is the holder's name.
	Name string
	// Audience, Issuer and ID are the aud, iss and jti members.
	Audience, Issuer, ID string
	// IssuedAt and Expires are the iat and exp members (zero when absent).
	IssuedAt, Expires time.Time
	// FetchedAt is when the depot gave this answer.
	FetchedAt time.Time
	// Stale is true when the answer comes from the cache after its time to live, because the depot failed.
	Stale bool
}

// Query is a JWK set lookup (cookbook §5.2.2).
type Query struct {
	// Type and Value are the identifier; Value is padded to the type's length (FACTS §7).
	Type, Value string
	// ApplicationID restricts the lookup to one application; optional.
	ApplicationID string
	// Use is "sig" (authentication keys) or "enc" (encryption keys). Required.
	Use string
	// At is the moment of the lookup; zero means now and sends no parameter. It is sent as the `date` query
	// parameter in RFC 3339 (UTC, whole seconds): the name and format are our assumption (see openapi/). The
	// x5c chains are verified at At when it is set.
	At time.Time
}

// Client is a client of the ETK Depot REST API (etee/v1). The zero value is a working client of the acceptance
// depot without a cache; every lookup but KeyHolder needs Roots (or, for ETKs, ETKOptions or ValidateETK). A
// Client is safe for concurrent use; its fields must not change after the first call.
type Client struct {
	// BaseURL is the depot's base URL, up to and including /etee/v1. Empty means AcceptanceURL.
	BaseURL string
	// HTTPClient sends the requests. Nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// UserAgent and From are the tracing headers of the cookbook (§5.1.2). An empty UserAgent sends
	// DefaultUserAgent; an empty From sends none. Invalid values make every call fail with a *QueryError.
	UserAgent, From string
	// MaxResponseBytes bounds every response body; zero means DefaultMaxResponseBytes. Larger answers fail
	// with a *ResponseTooLargeError without being read past the limit.
	MaxResponseBytes int64

	// Cache keeps the depot's answers. Nil disables caching (concurrent identical lookups are still made
	// once). With a cache, answers are fresh for TTL, decoded answers are also kept in process memory, and a
	// stale answer (at most MaxStale past its expiry) is served, flagged Stale, when the depot cannot be reached
	// or answers 5xx/429.
	Cache Cache
	// TTL is how long an answer is fresh; zero means DefaultTTL. A key holder answer is never fresh past its exp.
	TTL time.Duration
	// MaxStale bounds stale serving; zero means DefaultMaxStale, negative disables stale serving.
	MaxStale time.Duration
	// RefetchInterval is the least time between fetches of one JWK set caused by KeyByID asking for an unknown
	// kid; zero means DefaultRefetchInterval.
	RefetchInterval time.Duration

	// Roots are the trust anchors of the x5c chains of JWK sets and keys (JWKS, JWK, KeyByID) and, unless
	// ETKOptions or ValidateETK say otherwise, of the ETKs. Nil makes the JWK lookups fail with ErrNoRoots.
	Roots *x509.CertPool

	// ETKOptions are the checks of package etk that every ETK of GET /etks must pass when ValidateETK is nil:
	// etk.Parse, then (*etk.ETK).ValidateContext with these options, where Time is replaced by the moment of
	// the lookup (Now) and Expect by the identity the depot registered the ETK under (type, value, application
	// id), which ETKs has checked to be the one asked for. Nil, with Roots set, means
	// etk.ValidateOptions{Roots: Roots, SignerRoots: Roots}: the holder's authentication certificate and the ETK-RA certificate must both chain
	// to Roots, without SHA-1 (set LegacyRoots, LegacySignerRoots or IgnoreSignerExpiry here for the old
	// acceptance PKI, Revocation for OCSP). A decoded ETK kept in memory is used until its TTL runs out or
	// until its encryption, authentication or (unless IgnoreSignerExpiry) ETK-RA certificate expires.
	ETKOptions *etk.ValidateOptions
	// ValidateETK, when set, replaces ETKOptions: it decides whether an ETK of the depot may be used for want
	// and must check that the ETK is well-formed and valid and that it belongs to want (type, value and
	// application id). ETKValidator builds one from etk options. An ETK in the Cache is validated again each
	// time it is loaded from the Cache; decoded ETKs kept in memory are not, until their TTL runs out.
	//
	// With neither ValidateETK, ETKOptions nor Roots, ETKs fails with ErrNoETKValidator: the client never
	// hands out an ETK it did not validate.
	ValidateETK func(raw []byte, want Identity) error

	// Now returns the current time; nil means time.Now. Freshness, stale serving and chain verification use it.
	Now func() time.Time

	hotMu       sync.RWMutex
	hot         map[string]*hotEntry
	etkMemoMu   sync.RWMutex
	etkMemo     map[etkLookupKey]*etkLookupMemo
	flight      flightGroup
	headersOnce sync.Once
	headersErr  error
}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

func (c *Client) baseURL() string {
	if c.BaseURL == "" {
		return AcceptanceURL
	}
	return c.BaseURL
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient == nil {
		return defaultHTTPClient
	}
	return c.HTTPClient
}

func (c *Client) userAgent() string {
	if c.UserAgent == "" {
		return DefaultUserAgent
	}
	return c.UserAgent
}

func (c *Client) maxResponseBytes() int64 {
	if c.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return c.MaxResponseBytes
}

func (c *Client) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultTTL
	}
	return c.TTL
}

func (c *Client) maxStale() time.Duration {
	if c.MaxStale == 0 {
		return DefaultMaxStale
	}
	return c.MaxStale
}

func (c *Client) refetchInterval() time.Duration {
	if c.RefetchInterval <= 0 {
		return DefaultRefetchInterval
	}
	return c.RefetchInterval
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// ETKs returns every ETK the depot holds for the identifier (GET /etks, cookbook §5.2.1), restricted to one
// application when appID is not empty. The type is one of FACTS §7 (case ignored, "HUB" means "EHP"); the value
// is padded with zeros to the type's length. Every ETK returned is registered under the identifier asked for and
// passed the ETK checks (ValidateETK, or package etk with ETKOptions, or with Roots) for the identity it is
// registered under; items of the answer that are not are left out, and when none is left the error is a
// *RejectedError whose rejections carry the reasons (an *etk.ValidationError for a failed validation). An
// empty answer is an error matching ErrNotFound. Use Select to pick one entry.
func (c *Client) ETKs(ctx context.Context, identifierType, value, appID string) ([]Entry, error) {
	m, err := c.etkLookup(identifierType, value, appID)
	if err != nil {
		return nil, err
	}
	// The fast path: a fresh decoded answer for this very (type, value, appID), without normalising again.
	if h := m.hot.Load(); h != nil && h.fresh(c.now()) && ctx.Err() == nil {
		return entriesOf(result[[]Entry]{val: h.val.([]Entry), stored: h.stored}), nil
	}
	check, err := c.etkCheck()
	if err != nil {
		return nil, err
	}
	if err := c.checkHeaders(); err != nil {
		return nil, err
	}
	want := m.want
	const op = "GET /etks"
	s := spec[[]Entry]{
		op:     op,
		lookup: m.lookup,
		fetch: func(ctx context.Context) ([]byte, error) {
			return c.send(ctx, op, func(api *depotapi.Client, ua, from *string) (*http.Response, error) {
				p := &depotapi.GetEtksParams{Identifier: want.Value, Type: depotapi.IdentifierType(want.Type),
					UserAgent: ua, From: from}
				if want.ApplicationID != "" {
					p.ApplicationIdentifier = &want.ApplicationID
				}
				return api.GetEtks(ctx, p)
			})
		},
		decode: func(ctx context.Context, body []byte, now time.Time) ([]Entry, time.Time, time.Time, error) {
			entries, notAfter, err := c.decodeETKs(ctx, op, body, want, now, check)
			return entries, notAfter, time.Time{}, err
		},
	}
	r, err := get(ctx, c, s, 0)
	if err != nil {
		return nil, err
	}
	if c.Cache != nil {
		if h := c.hotGet(m.lookup); h != nil {
			m.hot.Store(h)
		}
	}
	return entriesOf(r), nil
}

// etkLookupKey is an ETKs query as the caller wrote it.
type etkLookupKey struct{ typ, value, appID string }

// etkLookupMemo is what an ETKs query normalises to, and the last decoded answer to it seen in memory.
type etkLookupMemo struct {
	want   Identity
	lookup string
	hot    atomic.Pointer[hotEntry]
}

// etkLookup normalises an ETKs query, once per distinct query (at most maxHot are remembered).
func (c *Client) etkLookup(typ, value, appID string) (*etkLookupMemo, error) {
	k := etkLookupKey{typ, value, appID}
	c.etkMemoMu.RLock()
	m := c.etkMemo[k]
	c.etkMemoMu.RUnlock()
	if m != nil {
		return m, nil
	}
	want, err := normalizeIdentity(typ, value, appID)
	if err != nil {
		return nil, err
	}
	m = &etkLookupMemo{want: want, lookup: "etks\x00" + want.Type + "\x00" + want.Value + "\x00" + want.ApplicationID}
	c.etkMemoMu.Lock()
	defer c.etkMemoMu.Unlock()
	if prev := c.etkMemo[k]; prev != nil {
		return prev, nil
	}
	if c.etkMemo == nil || len(c.etkMemo) >= maxHot {
		c.etkMemo = map[etkLookupKey]*etkLookupMemo{}
	}
	c.etkMemo[k] = m
	return m, nil
}

// entriesOf copies the shared entries of an answer for one caller, with its FetchedAt and Stale.
func entriesOf(r result[[]Entry]) []Entry {
	out := make([]Entry, len(r.val))
	for i, e := range r.val {
		e.FetchedAt, e.Stale = r.stored, r.stale
		out[i] = e
	}
	return out
}

// Select picks the entry for appID ("" picks the entry without an application id; case is ignored). No entry
// is an error matching ErrNotFound; several are an *AmbiguousError holding them.
func Select(entries []Entry, appID string) (Entry, error) {
	appID = strings.TrimSpace(appID)
	var found []Entry
	for _, e := range entries {
		if strings.EqualFold(e.ApplicationID, appID) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Entry{}, fmt.Errorf("etkdepot: none of %d ETKs has application id %q: %w", len(entries), appID, ErrNotFound)
	default:
		return Entry{}, &AmbiguousError{ApplicationID: appID, Candidates: found}
	}
}

func normalizeIdentity(typ, value, appID string) (Identity, error) {
	t, err := ehealth.IdentifierTypeByName(typ)
	if err != nil {
		return Identity{}, fmt.Errorf("etkdepot: %w", err)
	}
	v, err := ehealth.NormalizeIdentifier(t.Name, value)
	if err != nil {
		return Identity{}, fmt.Errorf("etkdepot: %w", err)
	}
	appID = strings.TrimSpace(appID)
	if len(appID) > 30 {
		return Identity{}, &QueryError{Field: "applicationIdentifier", Value: appID, Reason: "longer than 30 characters"}
	}
	for _, r := range appID {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_') {
			return Identity{}, &QueryError{Field: "applicationIdentifier", Value: appID,
				Reason: "not letters, digits, '-' and '_' (FACTS §7: [0-9A-Z-_]{1,30} once upper-cased)"}
		}
	}
	return Identity{Type: t.Name, Value: v, ApplicationID: appID}, nil
}

// decodeETKs reads a GET /etks answer and keeps the items that are for want and that check accepts at now. It
// also returns the moment the accepted ETKs must be validated again (zero: not known).
func (c *Client) decodeETKs(ctx context.Context, op string, body []byte, want Identity, now time.Time, check etkCheckFunc) ([]Entry, time.Time, error) {
	var items []depotapi.EtkInfo
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, time.Time{}, &DecodeError{Op: op, Reason: "not a JSON array of etkInfo objects", Err: err}
	}
	if len(items) == 0 {
		return nil, time.Time{}, fmt.Errorf("etkdepot: %s: no ETK for %s: %w", op, want, ErrNotFound)
	}
	var (
		entries  []Entry
		rejected []Rejection
		notAfter time.Time
	)
	for i, it := range items {
		e, na, err := checkETK(ctx, op, it, want, now, check)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, ID: e.Identity.String(), Err: err})
			continue
		}
		entries = append(entries, e)
		notAfter = earliest(notAfter, na)
	}
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err // a validation cut short (revocation checks): not an answer about the ETKs
	}
	if len(entries) == 0 {
		return nil, time.Time{}, &RejectedError{Op: op, Rejections: rejected}
	}
	return entries, notAfter, nil
}

// checkETK checks one etkInfo: the key names the identifier asked for, the value is base64, and check accepts
// the ETK for that identity at now. The returned entry carries what was read even on error, for the report.
func checkETK(ctx context.Context, op string, it depotapi.EtkInfo, want Identity, now time.Time, check etkCheckFunc) (Entry, time.Time, error) {
	got, err := keyIdentity(it.Key, want.Type)
	if it.Key.ApplicationIdentifier != nil {
		got.ApplicationID = strings.TrimSpace(*it.Key.ApplicationIdentifier)
	}
	e := Entry{Identity: got}
	if err != nil {
		return e, time.Time{}, &DecodeError{Op: op, Reason: "key", Err: err}
	}
	if got.Type != want.Type {
		return e, time.Time{}, &MismatchError{Want: want, Got: got}
	}
	norm, err := ehealth.NormalizeIdentifier(got.Type, got.Value)
	if err != nil {
		return e, time.Time{}, &DecodeError{Op: op, Reason: "key", Err: err}
	}
	got.Value = norm
	e.Identity = got
	if norm != want.Value || (want.ApplicationID != "" && !strings.EqualFold(got.ApplicationID, want.ApplicationID)) {
		return e, time.Time{}, &MismatchError{Want: want, Got: got}
	}
	raw, err := decodeBase64(it.Value)
	if err != nil {
		return e, time.Time{}, &DecodeError{Op: op, Reason: "ETK value is not base64", Err: err}
	}
	if len(raw) == 0 {
		return e, time.Time{}, &DecodeError{Op: op, Reason: "empty ETK"}
	}
	notAfter, err := check(ctx, raw, got, now)
	if err != nil {
		return e, time.Time{}, err
	}
	e.ETK = raw[:len(raw):len(raw)]
	return e, notAfter, nil
}

// keyIdentity reads the identifier of an etkInfo key: the property named after an identifier type (any case;
// the cookbook shows "cbe"). The one for wantType is preferred; otherwise a single other identifier is
// reported so that the mismatch can be named.
func keyIdentity(k depotapi.EtkKey, wantType string) (Identity, error) {
	var others []Identity
	names := make([]string, 0, len(k.AdditionalProperties))
	for name := range k.AdditionalProperties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s, ok := k.AdditionalProperties[name].(string)
		if !ok {
			continue
		}
		t, err := ehealth.IdentifierTypeByName(name)
		if err != nil {
			continue // not an identifier: an extension we do not know
		}
		id := Identity{Type: t.Name, Value: strings.TrimSpace(s)}
		if t.Name == wantType {
			return id, nil
		}
		others = append(others, id)
	}
	if len(others) == 0 {
		return Identity{}, errors.New("no identifier property")
	}
	return others[0], nil
}

// decodeBase64 accepts standard base64, padded or not, with line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// JWKS returns the verified JWK set of an identifier (GET /pubKeys/cacerts/jwks, cookbook §5.2.2). Keys are
// verified as ParseJWKS says, against Roots, at q.At or now. Keys that fail are listed in Rejected; when every
// key failed the error is a *RejectedError, and an empty set is an error matching ErrNotFound. The returned set
// shares its keys with the cache: do not modify them.
func (c *Client) JWKS(ctx context.Context, q Query) (*JWKS, error) {
	r, err := c.jwks(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	out := *r.val
	out.FetchedAt, out.Stale = r.stored, r.stale
	return &out, nil
}

// KeyByID returns the key with the kid from the JWK set of q. When the set (from the cache) has no such key, it
// is fetched again, but at most once per RefetchInterval, so that keys rotated in at the depot are found without
// letting unknown kids hammer it. A kid that is still unknown is an *UnknownKeyError (matching ErrNotFound).
func (c *Client) KeyByID(ctx context.Context, q Query, kid string) (*Key, error) {
	if kid == "" {
		return nil, &QueryError{Field: "kid", Reason: "empty"}
	}
	r, err := c.jwks(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	if k, ok := r.val.Key(kid); ok {
		return k, nil
	}
	if !r.fromCache {
		return nil, &UnknownKeyError{KID: kid}
	}
	interval := c.refetchInterval()
	if next := r.stored.Add(interval); c.now().Before(next) {
		return nil, &UnknownKeyError{KID: kid, NextRefetch: next}
	}
	r, err = c.jwks(ctx, q, interval)
	if err != nil {
		return nil, err
	}
	if k, ok := r.val.Key(kid); ok {
		return k, nil
	}
	return nil, &UnknownKeyError{KID: kid, NextRefetch: r.stored.Add(interval)}
}

func (c *Client) jwks(ctx context.Context, q Query, refetch time.Duration) (result[*JWKS], error) {
	var zero result[*JWKS]
	want, err := normalizeIdentity(q.Type, q.Value, q.ApplicationID)
	if err != nil {
		return zero, err
	}
	use, err := checkUse(q.Use)
	if err != nil {
		return zero, err
	}
	if c.Roots == nil {
		return zero, ErrNoRoots
	}
	if err := c.checkHeaders(); err != nil {
		return zero, err
	}
	var at *time.Time
	atKey := ""
	if !q.At.IsZero() {
		t := q.At.UTC().Truncate(time.Second)
		at = &t
		atKey = strconv.FormatInt(t.Unix(), 10)
	}
	const op = "GET /pubKeys/cacerts/jwks"
	s := spec[*JWKS]{
		op:     op,
		lookup: "jwks\x00" + want.Type + "\x00" + want.Value + "\x00" + want.ApplicationID + "\x00" + use + "\x00" + atKey,
		fetch: func(ctx context.Context) ([]byte, error) {
			return c.send(ctx, op, func(api *depotapi.Client, ua, from *string) (*http.Response, error) {
				p := &depotapi.GetJwksParams{Identifier: want.Value, Type: depotapi.IdentifierType(want.Type),
					Use: depotapi.KeyUse(use), Date: at, UserAgent: ua, From: from}
				if want.ApplicationID != "" {
					p.ApplicationIdentifier = &want.ApplicationID
				}
				return api.GetJwks(ctx, p)
			})
		},
		decode: func(_ context.Context, body []byte, now time.Time) (*JWKS, time.Time, time.Time, error) {
			vt := now
			if at != nil {
				vt = *at
			}
			set, err := ParseJWKS(body, VerifyOptions{Roots: c.Roots, Time: vt, Use: use})
			if err != nil {
				return nil, time.Time{}, time.Time{}, relabel(err, op)
			}
			if len(set.Keys) == 0 {
				if len(set.Rejected) > 0 {
					return nil, time.Time{}, time.Time{}, &RejectedError{Op: op, Rejections: set.Rejected}
				}
				return nil, time.Time{}, time.Time{}, fmt.Errorf("etkdepot: %s: no key for %s: %w", op, want, ErrNotFound)
			}
			var notAfter time.Time
			if at == nil {
				notAfter = set.notAfter()
			}
			return set, notAfter, time.Time{}, nil
		},
	}
	return get(ctx, c, s, refetch)
}

// JWK returns the key with the kid (GET /pubKeys/cacerts/jwks/{kid}, cookbook §5.2.3), verified against Roots
// at the current time. The returned key is a copy with FetchedAt and Stale set; its certificates are shared.
func (c *Client) JWK(ctx context.Context, kid string) (*Key, error) {
	if err := checkKID(kid); err != nil {
		return nil, err
	}
	if c.Roots == nil {
		return nil, ErrNoRoots
	}
	if err := c.checkHeaders(); err != nil {
		return nil, err
	}
	const op = "GET /pubKeys/cacerts/jwks/{kid}"
	s := spec[*Key]{
		op:     op,
		lookup: "jwk\x00" + kid,
		fetch: func(ctx context.Context) ([]byte, error) {
			return c.send(ctx, op, func(api *depotapi.Client, ua, from *string) (*http.Response, error) {
				return api.GetJwk(ctx, kid, &depotapi.GetJwkParams{UserAgent: ua, From: from})
			})
		},
		decode: func(_ context.Context, body []byte, now time.Time) (*Key, time.Time, time.Time, error) {
			k, err := ParseJWK(body, VerifyOptions{Roots: c.Roots, Time: now})
			if err != nil {
				return nil, time.Time{}, time.Time{}, relabel(err, op)
			}
			if k.KID != "" && k.KID != kid {
				return nil, time.Time{}, time.Time{}, &RejectedError{Op: op, Rejections: []Rejection{{ID: k.KID,
					Err: fmt.Errorf("answer is for kid %q, not %q", printable(k.KID, 80), printable(kid, 80))}}}
			}
			return k, chainNotAfter(k.Chain), time.Time{}, nil
		},
	}
	r, err := get(ctx, c, s, 0)
	if err != nil {
		return nil, err
	}
	k := *r.val
	k.FetchedAt, k.Stale = r.stored, r.stale
	return &k, nil
}

// KeyHolder returns the holder of the ETK with the kid (GET /keyholders/{kid}, cookbook §5.2.4). The answer is
// cached until the earlier of its exp and the TTL.
func (c *Client) KeyHolder(ctx context.Context, kid string) (*KeyHolder, error) {
	if err := checkKID(kid); err != nil {
		return nil, err
	}
	if err := c.checkHeaders(); err != nil {
		return nil, err
	}
	const op = "GET /keyholders/{kid}"
	s := spec[*KeyHolder]{
		op:     op,
		lookup: "keyholder\x00" + kid,
		fetch: func(ctx context.Context) ([]byte, error) {
			return c.send(ctx, op, func(api *depotapi.Client, ua, from *string) (*http.Response, error) {
				return api.GetKeyHolder(ctx, kid, &depotapi.GetKeyHolderParams{UserAgent: ua, From: from})
			})
		},
		decode: func(_ context.Context, body []byte, now time.Time) (*KeyHolder, time.Time, time.Time, error) {
			h, err := decodeKeyHolder(op, body)
			if err != nil {
				return nil, time.Time{}, time.Time{}, err
			}
			return h, time.Time{}, h.Expires, nil
		},
	}
	r, err := get(ctx, c, s, 0)
	if err != nil {
		return nil, err
	}
	h := *r.val
	h.FetchedAt, h.Stale = r.stored, r.stale
	return &h, nil
}

func decodeKeyHolder(op string, body []byte) (*KeyHolder, error) {
	var tok depotapi.KeyHolderToken
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, &DecodeError{Op: op, Reason: "not a key holder object", Err: err}
	}
	h := &KeyHolder{}
	if tok.Aud != nil {
		h.Audience = *tok.Aud
	}
	if tok.Iss != nil {
		h.Issuer = *tok.Iss
	}
	if tok.Jti != nil {
		h.ID = *tok.Jti
	}
	if tok.Iat != nil {
		h.IssuedAt = time.Unix(*tok.Iat, 0).UTC()
	}
	if tok.Exp != nil {
		h.Expires = time.Unix(*tok.Exp, 0).UTC()
	}
	var entity map[string]any
	if e := tok.Keyholder.Enterprise; e != nil {
		h.Kind = "enterprise"
		entity = map[string]any{}
		for k, v := range e.AdditionalProperties {
			entity[k] = v
		}
		if e.Name != nil {
			entity["name"] = *e.Name
		}
	} else {
		kinds := make([]string, 0, len(tok.Keyholder.AdditionalProperties))
		for k, v := range tok.Keyholder.AdditionalProperties {
			if _, ok := v.(map[string]any); ok && k != "" {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			return nil, &DecodeError{Op: op, Reason: "no key holder in the answer"}
		}
		sort.Strings(kinds)
		h.Kind = kinds[0]
		entity = tok.Keyholder.AdditionalProperties[h.Kind].(map[string]any)
	}
	if n, ok := entity["name"].(string); ok {
		h.Name = n
	}
	props := make([]string, 0, len(entity))
	for k := range entity {
		props = append(props, k)
	}
	sort.Strings(props)
	for _, p := range props {
		v, ok := entity[p].(string)
		if !ok || p == "name" {
			continue
		}
		t, err := ehealth.IdentifierTypeByName(p)
		if err != nil {
			continue
		}
		h.Identity = Identity{Type: t.Name, Value: strings.TrimSpace(v)}
		if norm, err := ehealth.NormalizeIdentifier(t.Name, v); err == nil {
			h.Value = norm
		}
		break
	}
	return h, nil
}

// JWKSURL returns the URL of the JWK set lookup q, with the query parameters in the order public clients use
// (identifier, type, applicationIdentifier, use, date; FACTS §13), for use as a stable `jku` identity. The
// client sends its requests in the same form.
func (c *Client) JWKSURL(q Query) (string, error) {
	want, err := normalizeIdentity(q.Type, q.Value, q.ApplicationID)
	if err != nil {
		return "", err
	}
	use, err := checkUse(q.Use)
	if err != nil {
		return "", err
	}
	v := url.Values{"identifier": {want.Value}, "type": {want.Type}, "use": {use}}
	if want.ApplicationID != "" {
		v.Set("applicationIdentifier", want.ApplicationID)
	}
	if !q.At.IsZero() {
		v.Set("date", q.At.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	return strings.TrimRight(c.baseURL(), "/") + "/pubKeys/cacerts/jwks?" + orderedQuery(v), nil
}

func checkUse(use string) (string, error) {
	switch use {
	case "sig", "enc":
		return use, nil
	}
	return "", &QueryError{Field: "use", Value: use, Reason: `must be "sig" or "enc"`}
}

func checkKID(kid string) error {
	if kid == "" {
		return &QueryError{Field: "kid", Reason: "empty"}
	}
	if len(kid) > 256 {
		return &QueryError{Field: "kid", Value: kid, Reason: "longer than 256 bytes"}
	}
	return nil
}

// checkHeaders validates the tracing headers, once per Client (its fields do not change after the first call).
func (c *Client) checkHeaders() error {
	c.headersOnce.Do(func() { c.headersErr = c.validateHeaders() })
	return c.headersErr
}

// validateHeaders applies package soap's reading of the cookbook's header rules (§5.1.2; the User-Agent is never
// empty here).
func (c *Client) validateHeaders() error {
	if ua := c.userAgent(); soap.ValidateUserAgent(ua) != nil {
		return &QueryError{Field: "User-Agent", Value: ua, Reason: "not name/version parts separated by single spaces (cookbook §5.1.2)"}
	}
	if soap.ValidateFrom(c.From) != nil {
		return &QueryError{Field: "From", Value: c.From, Reason: "not a bare e-mail address (cookbook §5.1.2)"}
	}
	return nil
}

// queryOrder is the order of the query parameters in requests, as in the cookbook's and the public clients'
// URLs; the generated client would sort them.
var queryOrder = []string{"identifier", "type", "applicationIdentifier", "use", "date"}

func orderedQuery(v url.Values) string {
	var b strings.Builder
	add := func(k string, vals []string) {
		for _, x := range vals {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(x))
		}
	}
	for _, k := range queryOrder {
		add(k, v[k])
	}
	var rest []string
	for k := range v {
		if !slices.Contains(queryOrder, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		add(k, v[k])
	}
	return b.String()
}

// editRequest is the request editor given to the generated client: JSON is asked for and the query parameters
// are put in their stable order.
func editRequest(ctx context.Context, req *http.Request) error {
	req.Header.Set("Accept", "application/json")
	if req.URL.RawQuery != "" {
		if v, err := url.ParseQuery(req.URL.RawQuery); err == nil {
			req.URL.RawQuery = orderedQuery(v)
		}
	}
	return nil
}

// send makes one request through the generated client and returns the body of an HTTP 200 answer. Other
// answers become *APIError, network failures a transport error, bodies over the limit *ResponseTooLargeError.
// A cancelled ctx is returned as is.
func (c *Client) send(ctx context.Context, op string, call func(api *depotapi.Client, ua, from *string) (*http.Response, error)) ([]byte, error) {
	api, err := depotapi.NewClient(c.baseURL(), depotapi.WithHTTPClient(c.httpClient()), depotapi.WithRequestEditorFn(editRequest))
	if err != nil {
		return nil, &QueryError{Field: "BaseURL", Value: c.BaseURL, Reason: err.Error()}
	}
	ua := c.userAgent()
	var from *string
	if c.From != "" {
		f := c.From
		from = &f
	}
	resp, err := call(api, &ua, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var uerr *url.Error
		if errors.As(err, &uerr) || isNetError(err) {
			return nil, &transportError{op: op, err: err}
		}
		return nil, &QueryError{Field: "request", Reason: err.Error()}
	}
	defer resp.Body.Close()
	limit := c.maxResponseBytes()
	if resp.StatusCode != http.StatusOK {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, min(limit, 64<<10)))
		return nil, newAPIError(op, resp, excerpt)
	}
	if resp.ContentLength > limit {
		return nil, &ResponseTooLargeError{Op: op, Limit: limit, ContentLength: resp.ContentLength}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &transportError{op: op, err: err}
	}
	if int64(len(body)) > limit {
		return nil, &ResponseTooLargeError{Op: op, Limit: limit, ContentLength: resp.ContentLength}
	}
	return body, nil
}

func isNetError(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}

func newAPIError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, Header: resp.Header}
	e.Body = body[:min(len(body), 512):min(len(body), 512)]
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var b depotapi.Error
		if json.Unmarshal(trimmed, &b) == nil {
			e.Code = firstOf(b.Code, b.Type, b.Title)
			e.Message = firstOf(b.Message, b.Detail)
			if e.Message == "" && e.Code != "" && b.Title != nil && *b.Title != e.Code {
				e.Message = *b.Title
			}
		}
	}
	return e
}

func firstOf(ss ...*string) string {
	for _, s := range ss {
		if s != nil && *s != "" {
			return *s
		}
	}
	return ""
}

// relabel puts the operation name into the errors of ParseJWKS/ParseJWK.
func relabel(err error, op string) error {
	var de *DecodeError
	if errors.As(err, &de) {
		c := *de
		c.Op = op
		return &c
	}
	var re *RejectedError
	if errors.As(err, &re) {
		c := *re
		c.Op = op
		return &c
	}
	return err
}
