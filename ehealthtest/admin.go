package ehealthtest

import (
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// The operator's side of the platform over HTTP, for a simulator running in another process (the CLI's
// `ehcert simulator`): what tests do with Approve, Refuse, ConfirmForeigner, Clock and Registrations. Under
// URL+"/ehealthtest/":
//
//	GET  /ehealthtest/roots.pem              Roots in PEM
//	GET  /ehealthtest/tls-roots.pem          TLSRoots in PEM
//	GET  /ehealthtest/registrations          Registrations as JSON
//	POST /ehealthtest/approve/<PKI hex>      Approve
//	POST /ehealthtest/refuse/<PKI hex>       Refuse
//	POST /ehealthtest/confirm/<PKI hex>      ConfirmForeigner
//	POST /ehealthtest/clock?advance=<dur>    Clock().Advance (a Go duration such as 2160h); answers the new time
//
// There is no authentication: the platform is a local test server.
const adminPrefix = "/ehealthtest/"

// adminRegistration is the JSON form of a Registration.
type adminRegistration struct {
	PublicKeyIdentifier    string    `json:"publicKeyIdentifier"`
	DN                     string    `json:"dn"`
	SubjectType            string    `json:"subjectType"`
	SubjectID              string    `json:"subjectId"`
	ApplicationID          string    `json:"applicationId,omitempty"`
	EntityType             string    `json:"entityType"`
	Status                 string    `json:"status"`
	ETKStatus              string    `json:"etkStatus"`
	AutomaticallyValidated bool      `json:"automaticallyValidated"`
	Approved               bool      `json:"approved"`
	Requester              string    `json:"requester,omitempty"`
	Requested              time.Time `json:"requested"`
	NotAfter               time.Time `json:"notAfter,omitzero"`
	Replaces               string    `json:"replaces,omitempty"`
	ValidationURL          string    `json:"validationUrl,omitempty"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	x := s.newExchange(r)
	x.rec.Target = "admin"
	defer s.finish(w, x, nil)
	rest := strings.TrimPrefix(r.URL.Path, adminPrefix)
	action, arg, _ := strings.Cut(rest, "/")
	switch {
	case r.Method == http.MethodGet && action == "roots.pem" && arg == "":
		x.out.Header().Set("Content-Type", "application/x-pem-file")
		x.out.Write(s.RootsPEM())
	case r.Method == http.MethodGet && action == "tls-roots.pem" && arg == "":
		x.out.Header().Set("Content-Type", "application/x-pem-file")
		x.out.Write(s.TLSRootsPEM())
	case r.Method == http.MethodGet && action == "registrations" && arg == "":
		var out []adminRegistration
		for _, g := range s.Registrations() {
			a := adminRegistration{PublicKeyIdentifier: pkiString(g.PublicKeyIdentifier), DN: g.DN,
				SubjectType: g.SubjectType, SubjectID: g.SubjectID, ApplicationID: g.ApplicationID, EntityType: g.EntityType,
				Status: g.Status, ETKStatus: g.ETKStatus, AutomaticallyValidated: g.AutomaticallyValidated, Approved: g.Approved,
				Requester: g.Requester, Requested: g.Requested.UTC(), ValidationURL: g.ValidationURL}
			if g.Certificate != nil {
				a.NotAfter = g.Certificate.NotAfter.UTC()
			}
			if g.Replaces != nil {
				a.Replaces = pkiString(g.Replaces)
			}
			out = append(out, a)
		}
		if out == nil {
			out = []adminRegistration{}
		}
		writeJSON(x.out, http.StatusOK, out)
	case r.Method == http.MethodPost && (action == "approve" || action == "refuse" || action == "confirm"):
		pk, err := hex.DecodeString(arg)
		if err != nil || len(pk) != 20 {
			writeJSONError(x.out, http.StatusBadRequest, "BAD_REQUEST", "the path must end with a 40-digit hexadecimal PublicKeyIdentifier")
			return
		}
		switch action {
		case "approve":
			err = s.Approve(pk)
		case "refuse":
			err = s.Refuse(pk)
		default:
			err = s.ConfirmForeigner(strings.ToUpper(arg))
		}
		if err != nil {
			writeJSONError(x.out, http.StatusConflict, "REFUSED", err.Error())
			return
		}
		writeJSON(x.out, http.StatusOK, map[string]string{"result": map[string]string{
			"approve": "approved", "refuse": "refused", "confirm": "confirmed"}[action]})
	case r.Method == http.MethodPost && action == "clock" && arg == "":
		d, err := time.ParseDuration(r.URL.Query().Get("advance"))
		if err != nil {
			writeJSONError(x.out, http.StatusBadRequest, "BAD_REQUEST", "advance must be a duration such as 720h")
			return
		}
		s.clock.Advance(d)
		s.mu.Lock()
		err = s.saveLocked()
		s.mu.Unlock()
		if err != nil {
			writeJSONError(x.out, http.StatusInternalServerError, "SAVE_FAILED", "cannot save the state")
			return
		}
		writeJSON(x.out, http.StatusOK, map[string]string{"now": s.clock.Now().UTC().Format(time.RFC3339)})
	default:
		writeJSONError(x.out, http.StatusNotFound, "NOT_FOUND", "no such operator action")
	}
}
