package ehealthtest

import (
	"crypto/x509"
	"io"
	"net/http"
	"time"
)

// RecordedRequest is one exchange the server handled, for assertions in tests. It holds whole bodies (which
// carry national numbers of test citizens); keep it to tests.
type RecordedRequest struct {
	Time time.Time
	// Target is the operation name ("GetCertificate") for SOAP, a Target constant ("etks", "jwks", "jwk",
	// "keyholders") for REST, "foreigner" for the validation pages, or "" when the request could not be
	// attributed.
	Target string
	Method string
	Path   string
	// SOAPAction is the SOAPAction header as received.
	SOAPAction string
	// UserAgent and From are the tracing headers (cookbook 001 §4.1.2).
	UserAgent, From string
	// Request is the HTTP request body as received.
	Request []byte
	// StatusCode, ResponseHeader and Response are the HTTP status, header and body the platform produced:
	// for DropAfter and Truncated faults, the complete response before the fault altered it; for faults that
	// answer on their own (HTTP500Fault, HTML503, Garbage), that answer; for Drop and Oversized, the status
	// alone (see Injected); for Rewrite, the response as rewritten and sent.
	StatusCode     int
	ResponseHeader http.Header
	Response       []byte
	// Payload is, for SOAP, the child of the response's Body as a standalone XML document (the response
	// element, or the soapenv:Fault): what an XSD check takes. Nil for REST. After a Rewrite fault it is what
	// Fault.Rewrite returned, and Status, Codes and FaultCode are read from it (for REST, Codes stays the
	// platform's).
	Payload []byte
	// Status is the core:Status StatusCode value of a SOAP response ("" when it has none).
	Status string
	// Codes are the EteeStatusDetail error codes of a SOAP response, or the code of a REST error body.
	Codes []string
	// FaultCode is the SOA code ("SOA-03001") of a SOAP Fault, "" otherwise.
	FaultCode string
	// Signer is the certificate that signed the request, when its signature verified.
	Signer *x509.Certificate
	// Injected is the fault that was injected into this exchange (0 for none).
	Injected FaultKind
}

// IsFault reports whether the platform answered with a SOAP Fault.
func (r RecordedRequest) IsFault() bool { return r.FaultCode != "" }

// Requests returns the exchanges so far, oldest first (at most Options.MaxRecorded).
func (s *Server) Requests() []RecordedRequest {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]RecordedRequest(nil), s.recorded...)
}

// ResetRequests forgets the recorded exchanges.
func (s *Server) ResetRequests() {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.recorded = nil
}

func (s *Server) record(r RecordedRequest) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.recorded = append(s.recorded, r)
	if n := len(s.recorded) - s.opts.MaxRecorded; n > 0 {
		s.recorded = append([]RecordedRequest(nil), s.recorded[n:]...)
	}
}

// maxRequestBytes bounds request bodies.
const maxRequestBytes = 4 << 20

// exchange is one request in progress: the handler fills rec and writes into out.
type exchange struct {
	rec  RecordedRequest
	out  *responseRecorder
	body []byte
	// tooLarge is set when the request body exceeded maxRequestBytes.
	tooLarge bool
	// soap is set for the SOAP endpoints (x.rec.Payload holds the Body child of the response).
	soap bool
}

func (s *Server) newExchange(r *http.Request) *exchange {
	x := &exchange{out: newResponseRecorder()}
	x.rec = RecordedRequest{Time: s.clock.Now(), Method: r.Method, Path: r.URL.Path,
		SOAPAction: r.Header.Get("SOAPAction"), UserAgent: r.Header.Get("User-Agent"), From: r.Header.Get("From")}
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err == nil || len(b) > 0 {
			if len(b) > maxRequestBytes {
				x.tooLarge = true
				b = b[:maxRequestBytes]
			}
			x.body = b
		}
	}
	x.rec.Request = x.body
	return x
}

// finish records the exchange and sends the response, altered by an injected fault when after is set.
func (s *Server) finish(w http.ResponseWriter, x *exchange, after *Fault) {
	if after != nil && after.Kind == Rewrite {
		rewriteResponse(x, after.Rewrite)
	}
	x.rec.StatusCode = x.out.status
	if x.rec.StatusCode == 0 {
		x.rec.StatusCode = http.StatusOK
	}
	x.rec.Response = x.out.body
	x.rec.ResponseHeader = x.out.header.Clone()
	if after != nil {
		x.rec.Injected = after.Kind
	}
	s.record(x.rec)
	s.logExchange(x.rec)
	x.out.finish(w, after)
}

// recordInjected records an exchange answered by an injected fault whose answer is not recorded (Drop, Oversized,
// a Delay the client gave up on).
func (s *Server) recordInjected(x *exchange, f Fault) {
	x.rec.Injected = f.Kind
	if f.Kind == Oversized {
		x.rec.StatusCode = http.StatusOK
	}
	s.record(x.rec)
	s.logExchange(x.rec)
}

func (s *Server) logExchange(r RecordedRequest) {
	if s.opts.Logf == nil {
		return
	}
	target := r.Target
	if target == "" {
		target = r.Method + " " + r.Path
	}
	outcome := http.StatusText(r.StatusCode)
	switch {
	case r.Injected != 0:
		outcome = "injected " + r.Injected.String()
	case r.FaultCode != "":
		outcome = "SOAP Fault " + r.FaultCode
	case len(r.Codes) > 0:
		outcome = r.Status + " " + joinCodes(r.Codes)
	case r.Status != "":
		outcome = r.Status
	}
	s.logf("%s: %d %s", target, r.StatusCode, outcome)
}

func joinCodes(c []string) string {
	out := ""
	for i, s := range c {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}
