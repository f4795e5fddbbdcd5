package ehealthtest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a way for the platform to misbehave.
type FaultKind int

// The fault kinds. Unless noted, the request is not processed: the platform's state does not change.
const (
	// Delay waits Fault.Delay (or until the client gives up), then processes the request normally.
	Delay FaultKind = iota + 1
	// Drop closes the connection without any response.
	Drop
	// DropAfter processes the request, then closes the connection without sending the response: the state
	// changed but the client never learns it (a lost response).
	DropAfter
	// HTTP500Fault answers HTTP 500 with a SOAP Fault (faultcode soapenv:Server, SOA-00001 in its detail); on
	// the REST depot, HTTP 500 with a JSON error body.
	HTTP500Fault
	// HTML503 answers HTTP 503 with an HTML page, as a proxy in front of the platform does. Fault.RetryAfter,
	// when set, becomes the Retry-After header.
	HTML503
	// Garbage answers HTTP 200 with a body that is neither XML nor JSON.
	Garbage
	// Truncated processes the request, then sends only the first half of the real response body (with the full
	// Content-Length announced, so the client sees an unexpected EOF).
	Truncated
	// Oversized answers HTTP 200 with a body of Fault.Size bytes (default 64 MiB), streamed: a well-formed
	// start followed by padding.
	Oversized
	// Rewrite processes the request, then sends the response as Fault.Rewrite rewrites it. It is the test seam
	// for "the platform answers with something this client version does not know": a later schema's new
	// elements, attributes and enumeration values, or a status code no version lists. The platform's state
	// changes as for an unaltered request.
	Rewrite
)

var faultKindNames = map[FaultKind]string{
	Delay: "Delay", Drop: "Drop", DropAfter: "DropAfter", HTTP500Fault: "HTTP500Fault", HTML503: "HTML503",
	Garbage: "Garbage", Truncated: "Truncated", Oversized: "Oversized", Rewrite: "Rewrite",
}

// String names the kind.
func (k FaultKind) String() string {
	if n, ok := faultKindNames[k]; ok {
		return n
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes how the next requests of one operation fail.
type Fault struct {
	Kind FaultKind
	// Times is how many requests fail before the operation works again: 0 means 1, a negative value means
	// every request from now on (until ClearFaults).
	Times int
	// Delay is the wait of a Delay fault.
	Delay time.Duration
	// RetryAfter is the Retry-After header of an HTML503 fault ("" for none), e.g. "1".
	RetryAfter string
	// Size is the body size of an Oversized fault (default 64 MiB).
	Size int64
	// Rewrite is the function of a Rewrite fault (required for that kind). For a SOAP operation it receives the
	// operation name ("" for a request the platform could not attribute, under TargetAll) and the child of the response's SOAP Body (the response element or a soapenv:Fault) as a
	// standalone XML document, the bytes RecordedRequest.Payload holds, and returns the element to send in its
	// place; the server wraps it in the Envelope again. For a REST endpoint it receives the Target constant and
	// the JSON body, and returns the body to send. It may be called from several goroutines at once, and must
	// not call the Server's methods that wait for requests to finish (Close).
	Rewrite func(target string, body []byte) []byte
}

// Fault targets for the REST depot (SOAP operations are named by ehealth.Operation.Name, such as
// "GetCertificate").
const (
	TargetETKs       = "etks"       // GET /etee/v1/etks
	TargetJWKS       = "jwks"       // GET /etee/v1/pubKeys/cacerts/jwks
	TargetJWK        = "jwk"        // GET /etee/v1/pubKeys/cacerts/jwks/{kid}
	TargetKeyHolders = "keyholders" // GET /etee/v1/keyholders/{kid}
	// TargetAll applies a fault to every SOAP operation and REST endpoint that has no fault of its own.
	TargetAll = "*"
)

type faultState struct {
	f    Fault
	left int // remaining failures; <0 forever
}

// Inject makes the next requests of target misbehave. target is an operation name ("GetCertificate",
// compared without regard to case), one of the Target constants, or TargetAll. A later Inject for the same
// target replaces the earlier one. Inject panics when a Rewrite fault has no Rewrite function (a mistake in the
// test).
func (s *Server) Inject(target string, f Fault) {
	if f.Kind == Rewrite && f.Rewrite == nil {
		panic("ehealthtest: Inject: a Rewrite fault needs Fault.Rewrite")
	}
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.faults == nil {
		s.faults = map[string]*faultState{}
	}
	s.faults[strings.ToLower(target)] = &faultState{f: f, left: left}
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = nil
}

// takeFault consumes one failure for target, if any is pending.
func (s *Server) takeFault(target string) (Fault, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for _, key := range []string{strings.ToLower(target), TargetAll} {
		fs, ok := s.faults[key]
		if !ok {
			continue
		}
		f := fs.f
		if fs.left > 0 {
			fs.left--
			if fs.left == 0 {
				delete(s.faults, key)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// applyFault runs a fault that answers before processing. It reports whether the request is finished; when it
// is not, after (non-nil for DropAfter, Truncated and Rewrite) must be applied to the real response.
//
// Faults that answer on their own record the exchange here: Drop before closing the connection, Oversized before
// streaming (its body is not kept), HTTP500Fault, HTML503 and Garbage with the answer they send.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, x *exchange, f Fault, soapTarget bool) (done bool, after *Fault) {
	x.rec.Injected = f.Kind
	switch f.Kind {
	case Delay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			s.recordInjected(x, f)
			return true, nil
		case <-s.closing:
			s.recordInjected(x, f)
			return true, nil
		}
		return false, nil
	case Drop:
		s.recordInjected(x, f)
		hijackClose(w)
		return true, nil
	case DropAfter, Truncated, Rewrite:
		return false, &f
	case HTTP500Fault, HTML503, Garbage:
		x.out = newResponseRecorder()
		writeInjected(x.out, f, soapTarget)
		s.finish(w, x, nil)
		return true, nil
	case Oversized:
		s.recordInjected(x, f)
		size := f.Size
		if size <= 0 {
			size = 64 << 20
		}
		if soapTarget {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		writePadding(r.Context(), w, size, soapTarget)
		return true, nil
	}
	return false, nil
}

// writeInjected writes the answer of an HTTP500Fault, HTML503 or Garbage fault.
func writeInjected(w http.ResponseWriter, f Fault, soapTarget bool) {
	switch f.Kind {
	case HTTP500Fault:
		if soapTarget {
			writeSOAPFault(w, http.StatusInternalServerError, "soapenv:Server", faultServiceError,
				"An unexpected error occurred on the platform (injected fault).", "Server")
		} else {
			writeJSONError(w, http.StatusInternalServerError, faultServiceError, "Internal server error (injected fault)")
		}
	case HTML503:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"+
			"<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n"+
			"<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. "+
			"Please try again later.</p>\n</body></html>\n")
	case Garbage:
		if soapTarget {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("\x00\x01garbage \xff\xfe{<]]>not a message"))
	}
}

// writePadding streams size bytes: the start of a plausible document, then spaces.
func writePadding(ctx context.Context, w io.Writer, size int64, soapTarget bool) {
	head := `[{"key":{},"value":"`
	if soapTarget {
		head = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><!--`
	}
	if int64(len(head)) > size {
		head = head[:size]
	}
	n, _ := io.WriteString(w, head)
	left := size - int64(n)
	chunk := []byte(strings.Repeat(" ", 32<<10))
	for left > 0 {
		if ctx.Err() != nil {
			return
		}
		c := chunk
		if int64(len(c)) > left {
			c = c[:left]
		}
		m, err := w.Write(c)
		if err != nil {
			return
		}
		left -= int64(m)
	}
}

// hijackClose closes the client's connection without writing anything.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// responseRecorder buffers a handler's response so that DropAfter and Truncated can act on it.
type responseRecorder struct {
	header http.Header
	status int
	body   []byte
}

func newResponseRecorder() *responseRecorder { return &responseRecorder{header: http.Header{}} }

func (r *responseRecorder) Header() http.Header { return r.header }
func (r *responseRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// finish sends the recorded response to w, altered by the fault after (nil for none).
func (r *responseRecorder) finish(w http.ResponseWriter, after *Fault) {
	if after != nil && after.Kind == DropAfter {
		hijackClose(w)
		return
	}
	for k, v := range r.header {
		w.Header()[k] = v
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	body := r.body
	if after != nil && after.Kind == Truncated {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // close the connection with the body incomplete
	}
	w.WriteHeader(status)
	w.Write(body)
}
