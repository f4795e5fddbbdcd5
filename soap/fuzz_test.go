package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/xsd"
)

// fuzzResponse is a response type with the kinds of fields the generated types have.
type fuzzResponse struct {
	Id    string   `xml:"Id,attr"`
	Flag  bool     `xml:"urn:be:fgov:ehealth:certra:protocol:v2 NaturalPersonAuthorization"`
	Certs [][]byte `xml:"urn:be:fgov:ehealth:certra:protocol:v2 X509Certificate"`
	Count int      `xml:"urn:be:fgov:ehealth:certra:protocol:v2 Count"`
	Infos []struct {
		Name  string `xml:"urn:be:fgov:ehealth:commons:core:v2 Name"`
		Value []struct {
			Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
			Text string `xml:",chardata"`
		} `xml:"urn:be:fgov:ehealth:commons:core:v2 Value"`
	} `xml:"urn:be:fgov:ehealth:certra:protocol:v2 OrganizationAuthorization"`
	Signature *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
}

// FuzzParseResponse feeds arbitrary response bodies to the envelope, fault and status parsing. It must never
// panic, must return one of the package's error types, and must keep excerpts bounded and the Body child a part
// of the input.
func FuzzParseResponse(f *testing.F) {
	f.Add(200, true, false, []byte(envelope(successResponse(ehealth.GetCertificate))))
	f.Add(200, true, false, []byte(envelope(statusErrorResponse)))
	f.Add(500, true, false, []byte(envelope(`<soap:Fault><faultcode>SOA-03001</faultcode><faultstring>x</faultstring><detail><a>SOA-03003</a></detail></soap:Fault>`)))
	f.Add(503, false, true, []byte("<html><body>down</body></html>"))
	f.Fuzz(func(t *testing.T, status int, hasStatus, anyRoot bool, body []byte) {
		op := ehealth.GetCertificate
		op.HasStatus = hasStatus
		if anyRoot {
			op.Response = ""
		}
		header := http.Header{"Content-Type": {"text/xml"}}
		var resp fuzzResponse
		raw, err := interpret(op, status, header, body, &resp)
		if len(raw) > len(body) {
			t.Fatalf("raw (%d bytes) longer than the body (%d)", len(raw), len(body))
		}
		if len(raw) > 0 && !bytes.Contains(body, raw) {
			t.Fatalf("raw is not part of the body")
		}
		if err == nil {
			return
		}
		var (
			f  *Fault
			he *HTTPError
			se *StatusError
			pe *ProtocolError
		)
		switch {
		case errors.As(err, &he):
			if len(he.Excerpt) > maxExcerpt {
				t.Fatalf("excerpt of %d bytes", len(he.Excerpt))
			}
		case errors.As(err, &f):
			_ = f.EHealthCode()
		case errors.As(err, &se):
			_ = se.Pending()
			_ = se.Retryable()
		case errors.As(err, &pe):
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
		_ = err.Error()
		_ = Code(err)
	})
}

// generatedOp is an ehealth.Operation with the constructor of its generated response type.
type generatedOp struct {
	op          ehealth.Operation
	newResponse func() any
}

// generatedOps pairs every operation of ehealth.Operations with the generated operation of the same name
// (gen/certra or gen/etkra), failing when one is missing.
func generatedOps(t testing.TB) []generatedOp {
	t.Helper()
	var out []generatedOp
	for _, op := range ehealth.Operations() {
		var (
			newResp   func() any
			ok        bool
			space, lc string
		)
		switch op.Service {
		case ehealth.CertRA:
			var g certra.Operation
			g, ok = certra.OperationByName(op.Name)
			newResp, space, lc = g.NewResponse, g.Response.Space, g.Response.Local
		case ehealth.EtkRA:
			var g etkra.Operation
			g, ok = etkra.OperationByName(op.Name)
			newResp, space, lc = g.NewResponse, g.Response.Space, g.Response.Local
		}
		if !ok || newResp == nil {
			t.Fatalf("no generated operation for %s %s", op.Service, op.Name)
		}
		if space != op.Namespace || lc != op.Response {
			t.Fatalf("%s: generated response {%s}%s, ehealth says {%s}%s", op.Name, space, lc, op.Namespace, op.Response)
		}
		out = append(out, generatedOp{op: op, newResponse: newResp})
	}
	if len(out) != 14 {
		t.Fatalf("%d operations, want 14", len(out))
	}
	return out
}

// bodyTransport answers every request with a fixed status and body, in memory.
type bodyTransport struct {
	status int
	body   []byte
}

func (b *bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    b.status,
		Status:        http.StatusText(b.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/xml;charset=UTF-8"}},
		Body:          io.NopCloser(bytes.NewReader(b.body)),
		ContentLength: int64(len(b.body)),
		Request:       r,
	}, nil
}

// allocBound is the most a call may allocate (runtime.MemStats.TotalAlloc, cumulative, not live heap) for a
// response body of n bytes: a fixed 1 MiB for the request, the HTTP machinery and the decoders' buffers,
// plus 256 bytes per body byte. The per-byte part is what encoding/xml costs on the worst inputs, which are
// bodies made of tiny elements: each one is tokenized twice (finding the Body child while decoding core:Status,
// then decoding the response type), and each tokenization boxes a token and copies its names (about 230
// bytes for "<a/>"); in core:Status an "<Errors/>" also becomes a struct in a growing slice, twice.
// TestCallAllocationBound measures these families at about 150 bytes per byte; the cost is linear in the
// body size (no family grows faster), so a call allocates at most about 256 times Client.MaxResponseBytes
// in total, whatever the server sends, and far less of it is live at any time.
func allocBound(n int) uint64 { return 256*uint64(n) + 1<<20 }

// FuzzCallResponses sends a request of every operation through Client.Call against an in-memory transport
// that answers with the fuzzed status and body, decoding into the operation's generated response type. Call
// must not panic, must return nil or one of the package's typed errors, and must allocate within allocBound.
// The committed seeds (testdata/fuzz/FuzzCallResponses) hold, for every operation, a response with every
// field of its generated type set, with a success and an error status, plus faults and broken envelopes.
func FuzzCallResponses(f *testing.F) {
	ops := generatedOps(f)
	f.Fuzz(func(t *testing.T, opIndex uint8, status uint16, body []byte) {
		g := ops[int(opIndex)%len(ops)]
		code := int(status)
		if code < 100 || code > 599 {
			code = 200
		}
		c := &Client{HTTPClient: &http.Client{Transport: &bodyTransport{status: code, body: body}}}
		resp := g.newResponse()
		payload := requestPayload(g.op)

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := c.Call(context.Background(), "http://ehealth.invalid/", g.op, payload, resp)
		runtime.ReadMemStats(&after)

		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound(len(body)) {
			t.Fatalf("%s: %d bytes allocated for a body of %d bytes (bound %d)", g.op.Name, alloc, len(body), allocBound(len(body)))
		}
		if err == nil {
			if code < 200 || code > 299 {
				t.Fatalf("%s: HTTP %d accepted", g.op.Name, code)
			}
			return
		}
		var (
			fault *Fault
			he    *HTTPError
			se    *StatusError
			pe    *ProtocolError
			tl    *ResponseTooLargeError
		)
		switch {
		case errors.As(err, &fault):
			_ = fault.EHealthCode()
		case errors.As(err, &he):
			if len(he.Excerpt) > maxExcerpt {
				t.Fatalf("excerpt of %d bytes", len(he.Excerpt))
			}
		case errors.As(err, &se):
			_, _ = se.Pending(), se.Retryable()
			if !g.op.HasStatus {
				t.Fatalf("%s has no status but gave %v", g.op.Name, err)
			}
		case errors.As(err, &pe):
		case errors.As(err, &tl):
		default:
			t.Fatalf("%s: untyped error %T: %v", g.op.Name, err, err)
		}
		_ = err.Error()
		_ = Code(err)
	})
}

// TestCallDecodesEveryResponseType: for every operation, a response with every field of the generated type
// set goes through Call and decodes without error (the seeds of FuzzCallResponses are sound).
func TestCallDecodesEveryResponseType(t *testing.T) {
	for i, g := range generatedOps(t) {
		body := populatedResponse(t, g, true)
		c := &Client{HTTPClient: &http.Client{Transport: &bodyTransport{status: 200, body: body}}}
		resp := g.newResponse()
		if err := c.Call(context.Background(), "http://ehealth.invalid/", g.op, requestPayload(g.op), resp); err != nil {
			t.Errorf("%d %s: %v", i, g.op.Name, err)
			continue
		}
		if got := reflect.ValueOf(resp).Elem().FieldByName("Id"); got.IsValid() && got.String() != "x" {
			t.Errorf("%s: Id %q not decoded", g.op.Name, got.String())
		}
		if g.op.HasStatus {
			failing := populatedResponse(t, g, false)
			c.HTTPClient.Transport = &bodyTransport{status: 200, body: failing}
			var se *StatusError
			if err := c.Call(context.Background(), "http://ehealth.invalid/", g.op, requestPayload(g.op), g.newResponse()); !errors.As(err, &se) {
				t.Errorf("%s: %v, want a *StatusError", g.op.Name, err)
			}
		}
	}
}

// TestFuzzCallResponsesSeeds regenerates testdata/fuzz/FuzzCallResponses with -update-fuzz-seeds, and
// otherwise checks that every operation has its committed seeds.
func TestFuzzCallResponsesSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzCallResponses")
	ops := generatedOps(t)
	seeds := map[string]struct {
		op     int
		status uint16
		body   []byte
	}{}
	for i, g := range ops {
		seeds["ok-"+g.op.Name] = struct {
			op     int
			status uint16
			body   []byte
		}{i, 200, populatedResponse(t, g, true)}
		if g.op.HasStatus {
			seeds["status-"+g.op.Name] = struct {
				op     int
				status uint16
				body   []byte
			}{i, 200, populatedResponse(t, g, false)}
		}
	}
	fault := []byte(envelope(`<soap:Fault><faultcode>soap:Client</faultcode><faultstring>SOA-03001</faultstring><detail><x>SOA-03003</x></detail></soap:Fault>`))
	for name, s := range map[string]struct {
		status uint16
		body   []byte
	}{
		"fault-500":     {500, fault},
		"html-503":      {503, []byte("<html><body>down</body></html>")},
		"not-xml":       {200, []byte("<<<&&&")},
		"truncated":     {200, []byte(envelope(successResponse(ehealth.GetCertificate)))[:150]},
		"wrong-element": {200, []byte(envelope(successResponse(ehealth.ActivateETK)))},
	} {
		seeds[name] = struct {
			op     int
			status uint16
			body   []byte
		}{5, s.status, s.body}
	}
	if *updateFuzzSeeds {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			content := fmt.Sprintf("go test fuzz v1\nuint8(%d)\nuint16(%d)\n[]byte(%q)\n", s.op, s.status, s.body)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range seeds {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("seed %s is not committed (go test ./soap -run TestFuzzCallResponsesSeeds -update-fuzz-seeds): %v", name, err)
		}
	}
}

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "regenerate testdata/fuzz/FuzzCallResponses")

// populatedResponse returns a response envelope for g with every field of its generated type set (two
// elements in every list), and a core:Status of success (ok) or of a requester error with details.
func populatedResponse(t testing.TB, g generatedOp, ok bool) []byte {
	t.Helper()
	v := reflect.ValueOf(g.newResponse()).Elem()
	populate(v, map[reflect.Type]int{})
	if s := v.FieldByName("Status"); s.IsValid() && !s.IsNil() {
		sc := s.Elem().FieldByName("StatusCode").Elem()
		if ok {
			sc.FieldByName("Value").SetString(ehealth.StatusSuccess)
			sc.FieldByName("StatusCode").Set(reflect.Zero(sc.FieldByName("StatusCode").Type()))
			s.Elem().FieldByName("StatusDetail").Set(reflect.Zero(s.Elem().FieldByName("StatusDetail").Type()))
		} else {
			sc.FieldByName("Value").SetString("urn:be:fgov:ehealth:2.0:status:Requester")
		}
	}
	b, err := xml.Marshal(v.Addr().Interface())
	if err != nil {
		t.Fatalf("%s: %v", g.op.Name, err)
	}
	return []byte(envelope(string(b)))
}

// populate sets every exported field of v: strings "x", booleans true, numbers 7, two elements per slice,
// pointers allocated, dates set. A type nested in itself (StatusCode holds a StatusCode) is filled twice
// down its own path, then left empty.
func populate(v reflect.Value, onPath map[reflect.Type]int) {
	switch v.Type() {
	case reflect.TypeFor[xsd.DateTime]():
		v.Set(reflect.ValueOf(xsd.MustParseDateTime("2026-11-29T10:00:00.123+01:00")))
		return
	case reflect.TypeFor[xsd.AnyElement]():
		v.Set(reflect.ValueOf(xsd.AnyElement{XMLName: xml.Name{Space: "urn:any", Local: "Any"}, InnerXML: "<a>any</a>"}))
		return
	case reflect.TypeFor[xml.Name]():
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Pointer:
		if onPath[v.Type().Elem()] < 2 {
			v.Set(reflect.New(v.Type().Elem()))
			populate(v.Elem(), onPath)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{0x30, 0x82, 0x01, 0x0a, 0xab, 0xcd})
			return
		}
		if onPath[v.Type().Elem()] >= 2 {
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			populate(s.Index(i), onPath)
		}
		v.Set(s)
	case reflect.Struct:
		onPath[v.Type()]++
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				populate(v.Field(i), onPath)
			}
		}
		onPath[v.Type()]--
	}
}

// TestCallAllocationBound runs the costliest body shapes found (tiny elements everywhere, many attributes,
// namespace declarations, deep nesting, long core:Status detail lists) at about 0.5 MiB and checks them
// against allocBound, which the fuzzer's small inputs cannot reach beyond its fixed part. Each shape is
// measured at two sizes to show that the cost per byte does not grow with the body.
func TestCallAllocationBound(t *testing.T) {
	g := generatedOps(t)[9] // GetCertificateInfoForCitizen: a response with lists, and a core:Status
	if g.op.Name != "GetCertificateInfoForCitizen" {
		t.Fatalf("operation %s", g.op.Name)
	}
	response := func(inner string) string {
		return `<p:GetCertificateInfoForCitizenResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" Id="_r">` + inner + `</p:GetCertificateInfoForCitizenResponse>`
	}
	failing := func(detail string) string {
		return response(`<core:Status xmlns:core="urn:be:fgov:ehealth:commons:core:v2"><core:StatusCode Value="x"/><core:StatusDetail>` +
			`<e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2">` + detail + `</e:EteeStatusDetail></core:StatusDetail></core:Status>`)
	}
	shapes := map[string]func(n int) string{
		"empty elements": func(n int) string { return response(successStatus + strings.Repeat("<a/>", n)) },
		"deep nesting": func(n int) string {
			return response(successStatus + strings.Repeat("<a>", n) + strings.Repeat("</a>", n))
		},
		"attributes": func(n int) string {
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, " a%d=\"\"", i)
			}
			return response(successStatus + "<a" + b.String() + "/>")
		},
		"namespace declarations": func(n int) string {
			return response(successStatus + strings.Repeat(`<a xmlns:p="u" xmlns:q="v" xmlns="w"/>`, n/8))
		},
		"list elements": func(n int) string { return response(successStatus + strings.Repeat(`<p:CertificateInfo/>`, n/4)) },
		"status errors": func(n int) string { return failing(strings.Repeat(`<Errors/>`, n/2)) },
		"status parameters": func(n int) string {
			return failing(`<Errors>` + strings.Repeat(`<Parameters/>`, n/3) + `</Errors>`)
		},
	}
	for name, shape := range shapes {
		var perByte [2]float64
		for i, n := range []int{30000, 120000} {
			body := []byte(envelope(shape(n)))
			c := &Client{HTTPClient: &http.Client{Transport: &bodyTransport{status: 200, body: body}}}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c.Call(context.Background(), "http://ehealth.invalid/", g.op, requestPayload(g.op), g.newResponse())
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			if alloc > allocBound(len(body)) {
				t.Errorf("%s: %d bytes allocated for a body of %d bytes (bound %d)", name, alloc, len(body), allocBound(len(body)))
			}
			var se *StatusError
			if err != nil && !errors.As(err, &se) {
				t.Errorf("%s: %v", name, err)
			}
			perByte[i] = float64(alloc) / float64(len(body))
		}
		if perByte[1] > 1.25*perByte[0]+8 {
			t.Errorf("%s: %.0f bytes allocated per body byte at 4 times the size, %.0f before: not linear", name, perByte[1], perByte[0])
		}
		t.Logf("%s: %.0f bytes allocated per body byte", name, perByte[1])
	}
}
