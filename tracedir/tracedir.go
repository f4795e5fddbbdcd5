// Package tracedir records every HTTP exchange with the eHealth platform as files in a directory: the evidence
// ("eHealth request" and "eHealth answer" samples) that eHealth asks an integrator to send before production
// access is granted (cookbook 001 §6.1.3).
//
// It works at the HTTP level, as an http.RoundTripper, so the bytes written are exactly the bytes sent and
// received. For exchange number NNN (from 001, in order):
//
//	NNN-<Operation>-request.xml   the SOAP Body child exactly as sent (signature included)
//	NNN-<Operation>-response.xml  the SOAP Body child as received (or the whole body when it is not SOAP)
//	NNN-<Operation>.http          method, URL, status, headers; no secrets
//	NNN-<endpoint>-response.json  a REST response body (endpoint: etks, jwks, jwk, keyholder)
//	NNN-<endpoint>.http
//
// <Operation> is the request element's local name without "Request" (GenerateCertificate, StartETKRegistration).
package tracedir

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ehcert/ehcert/ehealth"
)

// Transport is an http.RoundTripper that writes each exchange into Dir and then hands the response on unchanged.
// A failure to write a trace file fails the exchange: evidence that is silently missing is worse than none.
type Transport struct {
	// Dir is the directory the files go to; it is created (0700) on first use.
	Dir string
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	mu sync.Mutex
	n  int
}

// secretHeaders are never written.
var secretHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Set-Cookie": true, "Proxy-Authorization": true}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	name, soap := exchangeName(req, reqBody)
	start := time.Now()
	resp, err := base.RoundTrip(req)
	elapsed := time.Since(start)

	t.mu.Lock()
	t.n++
	n := t.n
	t.mu.Unlock()
	prefix := fmt.Sprintf("%03d-%s", n, name)

	var respBody []byte
	if resp != nil && resp.Body != nil {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		respBody = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil && err == nil {
			// Keep what was read; the reader sees the same truncated body.
			resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{rerr}))
		}
	}
	if werr := t.write(prefix, req, reqBody, resp, respBody, err, elapsed, soap); werr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, fmt.Errorf("tracedir: %w", werr)
	}
	return resp, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (t *Transport) write(prefix string, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, rtErr error, elapsed time.Duration, soap bool) error {
	if err := os.MkdirAll(t.Dir, 0o700); err != nil {
		return err
	}
	put := func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(t.Dir, name), data, 0o600)
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "%s %s\n", req.Method, req.URL.Redacted())
	writeHeaders(&h, req.Header)
	if rtErr != nil {
		fmt.Fprintf(&h, "\nerror: %v\n", rtErr)
	}
	if resp != nil {
		fmt.Fprintf(&h, "\n%s %s\n", resp.Proto, resp.Status)
		writeHeaders(&h, resp.Header)
	}
	fmt.Fprintf(&h, "\nduration: %s\n", elapsed.Round(time.Millisecond))
	if err := put(prefix+".http", h.Bytes()); err != nil {
		return err
	}
	if soap {
		if len(reqBody) > 0 {
			if err := put(prefix+"-request.xml", BodyChild(reqBody)); err != nil {
				return err
			}
		}
		if resp != nil {
			return put(prefix+"-response.xml", BodyChild(respBody))
		}
		return nil
	}
	if resp != nil {
		return put(prefix+"-response.json", respBody)
	}
	return nil
}

func writeHeaders(w io.Writer, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			fmt.Fprintf(w, "%s: [redacted]\n", k)
			continue
		}
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

// exchangeName names an exchange after its SOAP operation or REST endpoint, and says whether it is SOAP.
func exchangeName(req *http.Request, body []byte) (string, bool) {
	if a := req.Header.Get("SOAPAction"); a != "" {
		if op, ok := ehealth.OperationBySOAPAction(a); ok {
			return op.Name, true
		}
		return "UnknownOperation", true
	}
	p := req.URL.Path
	switch {
	case strings.HasSuffix(p, "/etks"):
		return "etks", false
	case strings.HasSuffix(p, "/pubKeys/cacerts/jwks"):
		return "jwks", false
	case strings.Contains(p, "/pubKeys/cacerts/jwks/"):
		return "jwk", false
	case strings.Contains(p, "/keyholders/"):
		return "keyholder", false
	}
	if bytes.Contains(body, []byte("Envelope")) {
		return "UnknownOperation", true
	}
	return "rest", false
}

// BodyChild returns the bytes of the single child element of a SOAP Body, exactly as they appear in envelope.
// When envelope is not a SOAP envelope it is returned whole.
func BodyChild(envelope []byte) []byte {
	open := findBodyOpen(envelope)
	if open < 0 {
		return envelope
	}
	end := bytes.LastIndex(envelope, []byte("</"))
	for end > open {
		// The last closing tag is the Envelope's; the one before it is the Body's.
		prev := bytes.LastIndex(envelope[:end], []byte("</"))
		if prev < 0 {
			break
		}
		tag := envelope[prev+2:]
		if i := bytes.IndexByte(tag, '>'); i >= 0 {
			name := string(tag[:i])
			if name == "Body" || strings.HasSuffix(name, ":Body") {
				return bytes.TrimSpace(envelope[open:prev])
			}
		}
		end = prev
	}
	return envelope
}

// findBodyOpen returns the offset just after the Body start tag, or -1.
func findBodyOpen(b []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return -1
		}
		i += j + 1
		k := bytes.IndexAny(b[i:], " \t\r\n/>")
		if k < 0 {
			return -1
		}
		name := string(b[i : i+k])
		if name == "Body" || strings.HasSuffix(name, ":Body") {
			e := bytes.IndexByte(b[i:], '>')
			if e < 0 {
				return -1
			}
			return i + e + 1
		}
	}
}
