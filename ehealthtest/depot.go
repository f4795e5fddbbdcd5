package ehealthtest

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/gen/etkdepot"
)

// The ETK Depot REST API (etee/v1), in the JSON shapes of openapi/etkdepot-v1.yaml, fed by what EtkRA
// registered. An ETK is published while its status is VALID_ACTIVE and its authentication certificate is valid
// at the lookup time (now, or the jwks `date` parameter). A kid is "S" followed by the decimal serial number of
// the certificate (authentication certificate for use=sig, encryption certificate for use=enc), as in the
// cookbook's example.

const depotPrefix = "/etee/v1"

func (s *Server) serveDepot(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, depotPrefix)
	var target, kid string
	switch {
	case rest == "/etks":
		target = TargetETKs
	case rest == "/pubKeys/cacerts/jwks":
		target = TargetJWKS
	case strings.HasPrefix(rest, "/pubKeys/cacerts/jwks/"):
		target, kid = TargetJWK, strings.TrimPrefix(rest, "/pubKeys/cacerts/jwks/")
	case strings.HasPrefix(rest, "/keyholders/"):
		target, kid = TargetKeyHolders, strings.TrimPrefix(rest, "/keyholders/")
	default:
		x := s.newExchange(r)
		writeJSONError(x.out, http.StatusNotFound, "NOT_FOUND", "no such resource")
		x.rec.Codes = []string{"NOT_FOUND"}
		s.finish(w, x, nil)
		return
	}
	x := s.newExchange(r)
	x.rec.Target = target
	var after *Fault
	if f, ok := s.takeFault(target); ok {
		done, a := s.applyFault(w, r, x, f, false)
		if done {
			return
		}
		after = a
	}
	if r.Method != http.MethodGet {
		x.out.Header().Set("Allow", "GET")
		s.depotError(x, http.StatusMethodNotAllowed, ehealth.FaultMalformed, "only GET is allowed")
		s.finish(w, x, after)
		return
	}
	now := s.clock.Now()
	switch target {
	case TargetETKs:
		s.getETKs(x, r, now)
	case TargetJWKS:
		s.getJWKS(x, r, now)
	case TargetJWK:
		s.getJWK(x, kid, now)
	case TargetKeyHolders:
		s.getKeyHolder(x, kid, now)
	}
	s.finish(w, x, after)
}

func (s *Server) depotError(x *exchange, status int, code, msg string) {
	x.rec.Codes = []string{code}
	writeJSONError(x.out, status, code, msg)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, etkdepot.Error{Code: &code, Message: &msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"code":"SOA-00001","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

// lookupQuery reads identifier, type and applicationIdentifier; ok is false after an error was written.
func (s *Server) lookupQuery(x *exchange, r *http.Request) (id identity, ok bool) {
	q := r.URL.Query()
	value, typ := strings.TrimSpace(q.Get("identifier")), strings.TrimSpace(q.Get("type"))
	if value == "" || typ == "" {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "the parameters identifier and type are required")
		return id, false
	}
	t, err := ehealth.IdentifierTypeByName(typ)
	if err != nil {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "unknown identifier type "+truncate(typ, 64))
		return id, false
	}
	norm, err := ehealth.NormalizeIdentifier(t.Name, value)
	if err != nil {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "invalid identifier for type "+t.Name)
		return id, false
	}
	appID := strings.ToUpper(strings.TrimSpace(q.Get("applicationIdentifier")))
	if len(appID) > 30 {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "applicationIdentifier is longer than 30 characters")
		return id, false
	}
	return identity{Type: t.Name, Value: norm, ApplicationID: appID}, true
}

// published returns the records whose ETK is published at t for the identity (every application id when
// id.ApplicationID is empty), oldest first. The caller holds s.mu.
func (s *Server) publishedLocked(id identity, t time.Time, anyAppID bool) []*certRecord {
	var out []*certRecord
	for _, c := range s.state.Certificates {
		if c.Subject.Type != id.Type || c.Subject.Value != id.Value {
			continue
		}
		if !anyAppID && !strings.EqualFold(c.Subject.ApplicationID, id.ApplicationID) {
			continue
		}
		if !c.publishedAt(t) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// publishedAt reports whether c's ETK is served by the depot at t.
func (c *certRecord) publishedAt(t time.Time) bool {
	cert := c.certificate()
	if cert == nil || len(c.ETK.ETK) == 0 || c.etkStatus(t) != etkValidActive {
		return false
	}
	return !t.Before(cert.NotBefore) && !t.After(cert.NotAfter)
}

func (s *Server) getETKs(x *exchange, r *http.Request, now time.Time) {
	id, ok := s.lookupQuery(x, r)
	if !ok {
		return
	}
	s.mu.Lock()
	recs := s.publishedLocked(id, now, id.ApplicationID == "")
	out := make([]etkdepot.EtkInfo, 0, len(recs))
	for _, c := range recs {
		key := etkdepot.EtkKey{}
		key.Set(strings.ToLower(c.Subject.Type), c.Subject.Value)
		if c.Subject.ApplicationID != "" {
			a := c.Subject.ApplicationID
			key.ApplicationIdentifier = &a
		}
		out = append(out, etkdepot.EtkInfo{Key: key, Value: base64.StdEncoding.EncodeToString(c.ETK.ETK)})
	}
	s.mu.Unlock()
	writeJSON(x.out, http.StatusOK, out)
}

func (s *Server) getJWKS(x *exchange, r *http.Request, now time.Time) {
	id, ok := s.lookupQuery(x, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	use := q.Get("use")
	if use != string(etkdepot.KeyUseSig) && use != string(etkdepot.KeyUseEnc) {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "use must be sig or enc")
		return
	}
	at := now
	if d := q.Get("date"); d != "" {
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "date must be an RFC 3339 date-time")
			return
		}
		at = t
	}
	s.mu.Lock()
	recs := s.publishedLocked(id, at, id.ApplicationID == "")
	set := etkdepot.JWKSet{Keys: []etkdepot.JWK{}}
	for _, c := range recs {
		if jwk, err := s.jwkLocked(c, use); err == nil {
			set.Keys = append(set.Keys, jwk)
		}
	}
	s.mu.Unlock()
	writeJSON(x.out, http.StatusOK, set)
}

// jwkLocked builds the JWK of c's authentication (use "sig") or encryption (use "enc") certificate.
func (s *Server) jwkLocked(c *certRecord, use string) (etkdepot.JWK, error) {
	auth := c.certificate()
	chain := []*x509.Certificate{auth, s.ehealthCA.Cert}
	if use == string(etkdepot.KeyUseEnc) {
		enc, err := x509.ParseCertificate(c.ETK.EncCert)
		if err != nil {
			return etkdepot.JWK{}, err
		}
		chain = append([]*x509.Certificate{enc}, chain...)
	}
	leaf := chain[0]
	jwk := etkdepot.JWK{Use: ptr(use), Kid: ptr(kidOf(leaf))}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		jwk.Kty = "RSA"
		jwk.N = ptr(b64url(k.N.Bytes()))
		jwk.E = ptr(b64url(big.NewInt(int64(k.E)).Bytes()))
	case *ecdsa.PublicKey:
		jwk.Kty = "EC"
		size := (k.Curve.Params().BitSize + 7) / 8
		jwk.Crv = ptr(k.Curve.Params().Name)
		jwk.X = ptr(b64url(k.X.FillBytes(make([]byte, size))))
		jwk.Y = ptr(b64url(k.Y.FillBytes(make([]byte, size))))
	}
	sum := sha256.Sum256(leaf.Raw)
	jwk.X5tS256 = ptr(b64url(sum[:]))
	x5c := make([]string, len(chain))
	for i, cert := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	jwk.X5c = &x5c
	return jwk, nil
}

func kidOf(c *x509.Certificate) string { return "S" + c.SerialNumber.String() }

// byKidLocked finds the record and use of a kid among published keys.
func (s *Server) byKidLocked(kid string, now time.Time) (*certRecord, string, bool) {
	for _, c := range s.state.Certificates {
		if !c.publishedAt(now) {
			continue
		}
		if kidOf(c.certificate()) == kid {
			return c, string(etkdepot.KeyUseSig), true
		}
		if enc, err := x509.ParseCertificate(c.ETK.EncCert); err == nil && kidOf(enc) == kid {
			return c, string(etkdepot.KeyUseEnc), true
		}
	}
	return nil, "", false
}

func validKid(kid string) bool {
	if kid == "" || len(kid) > 256 || strings.Contains(kid, "/") {
		return false
	}
	return true
}

func (s *Server) getJWK(x *exchange, kid string, now time.Time) {
	if !validKid(kid) {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "invalid kid")
		return
	}
	s.mu.Lock()
	c, use, ok := s.byKidLocked(kid, now)
	var jwk etkdepot.JWK
	var err error
	if ok {
		jwk, err = s.jwkLocked(c, use)
	}
	s.mu.Unlock()
	if !ok || err != nil {
		s.depotError(x, http.StatusNotFound, "NOT_FOUND", "no key with this kid")
		return
	}
	writeJSON(x.out, http.StatusOK, jwk)
}

func (s *Server) getKeyHolder(x *exchange, kid string, now time.Time) {
	if !validKid(kid) {
		s.depotError(x, http.StatusBadRequest, ehealth.FaultMalformed, "invalid kid")
		return
	}
	s.mu.Lock()
	c, _, ok := s.byKidLocked(kid, now)
	var rec certRecord
	if ok {
		rec = *c
	}
	s.mu.Unlock()
	if !ok {
		s.depotError(x, http.StatusNotFound, "NOT_FOUND", "no key with this kid")
		return
	}
	entity := etkdepot.KeyHolderEntity{Name: ptr(rec.Name)}
	entity.Set(strings.ToLower(rec.Subject.Type), rec.Subject.Value)
	if rec.Subject.ApplicationID != "" {
		entity.Set("applicationIdentifier", rec.Subject.ApplicationID)
	}
	var holder etkdepot.KeyHolder
	if rec.EntityType == entityOrganization {
		holder.Enterprise = &entity
	} else {
		// Only "enterprise" is shown by the cookbook; "person" for natural persons is our assumption.
		holder.Set("person", entity)
	}
	iat := now.Unix()
	exp := now.Add(time.Hour).Unix()
	tok := etkdepot.KeyHolderToken{Aud: ptr("public"), Iss: ptr("urn:be:fgov:ehealth:etee:etkdepot"),
		Iat: &iat, Exp: &exp, Jti: ptr(uuid.NewString()), Keyholder: holder}
	writeJSON(x.out, http.StatusOK, tok)
}

func ptr[T any](v T) *T { return &v }

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// truncate cuts s to at most n bytes on a rune boundary, for error messages.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
