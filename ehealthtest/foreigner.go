package ehealthtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
)

// Foreigners (SubmitCSRForForeigner) confirm their request on a web page of the platform, after logging in with
// the eHealth IDP. Here the page is URL+"/foreigner/validate/<token>": GET shows the request, POST confirms it
// (no login). Tests call ConfirmForeigner instead.

const foreignerPrefix = "/foreigner/"

func newForeignToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// validationURL is the page of a foreigner's request under base (the server's URL).
func validationURL(base, token string) string {
	return base + foreignerPrefix + "validate/" + token
}

// ConfirmForeigner confirms a foreigner's request, as the foreigner does on the validation page. It takes the
// ValidationUrl of the SubmitCSRForForeigner response, its last path element, or the request's
// PublicKeyIdentifier in hexadecimal. Once confirmed, the certificate is delivered by GetCertificate.
func (s *Server) ConfirmForeigner(validationURLOrPKI string) error {
	token := validationURLOrPKI
	if u, err := url.Parse(token); err == nil && strings.Contains(u.Path, "/") {
		token = u.Path[strings.LastIndex(u.Path, "/")+1:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.state.cert(token); c != nil && c.Foreigner {
		token = c.ForeignToken
	}
	return s.confirmForeignerLocked(token)
}

func (s *Server) confirmForeignerLocked(token string) error {
	now := s.clock.Now()
	for _, c := range s.state.Certificates {
		if !c.Foreigner || c.ForeignToken == "" || c.ForeignToken != token {
			continue
		}
		if now.After(c.ForeignExpires) {
			return fmt.Errorf("ehealthtest: the validation URL expired at %s", c.ForeignExpires.Format("2006-01-02 15:04"))
		}
		if c.ForeignConfirmed {
			return nil
		}
		c.ForeignConfirmed = true
		c.Approved = true
		c.ApprovedAt = now
		return s.saveLocked()
	}
	return fmt.Errorf("ehealthtest: no foreigner request with this validation URL")
}

func (s *Server) serveForeigner(w http.ResponseWriter, r *http.Request) {
	x := s.newExchange(r)
	x.rec.Target = "foreigner"
	defer s.finish(w, x, nil)
	token, ok := strings.CutPrefix(r.URL.Path, foreignerPrefix+"validate/")
	if !ok || token == "" || strings.Contains(token, "/") {
		http.Error(x.out, "not found", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	var rec *certRecord
	for _, c := range s.state.Certificates {
		if c.Foreigner && c.ForeignToken == token {
			rec = c
		}
	}
	var dn string
	var confirmed bool
	if rec != nil {
		dn, confirmed = rec.DN, rec.ForeignConfirmed
	}
	s.mu.Unlock()
	if rec == nil {
		http.Error(x.out, "unknown or expired validation link", http.StatusNotFound)
		return
	}
	msg := ""
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		s.mu.Lock()
		err := s.confirmForeignerLocked(token)
		s.mu.Unlock()
		if err != nil {
			http.Error(x.out, err.Error(), http.StatusGone)
			return
		}
		confirmed = true
		msg = "<p><strong>Your request is confirmed.</strong> Your certificate will be delivered shortly.</p>"
	default:
		x.out.Header().Set("Allow", "GET, POST")
		http.Error(x.out, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	x.out.Header().Set("Content-Type", "text/html; charset=utf-8")
	x.out.WriteHeader(http.StatusOK)
	state := "waiting for your confirmation"
	if confirmed {
		state = "confirmed"
	}
	fmt.Fprintf(x.out, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>eHealth certificate for a foreign person</title></head>
<body><h1>eHealth certificate request (ehealthtest)</h1>%s
<p>Certificate subject: <code>%s</code></p><p>Status: %s</p>
<form method="post"><button type="submit">I confirm this request</button></form></body></html>
`, msg, html.EscapeString(dn), state)
}
