package ehealthtest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/xsd"
)

// The SOAP side: every request is checked as the platform does (WS-I basic checks answered with SOA-0300x
// faults, SOAPAction, the enveloped signature and its key, IssueInstant), decoded into the generated request
// type, handled, and answered with the generated response type.

// SOA fault codes of the platform (cookbook 001 §7.2) and the generic service error used for injected faults.
const faultServiceError = "SOA-00001"

var soaMessages = map[string]string{
	ehealth.FaultMalformed:   "Malformed message",
	ehealth.FaultNotSOAP:     "Message must be SOAP",
	ehealth.FaultMissingBody: "Message must contain SOAP body",
	faultServiceError:        "Service error",
}

// soapFault is a request refused with a SOAP Fault.
type soapFault struct {
	code   string // SOA-03001 ...
	reason string
}

func (f *soapFault) Error() string { return f.code + ": " + f.reason }

func malformed(format string, args ...any) *soapFault {
	return &soapFault{code: ehealth.FaultMalformed, reason: fmt.Sprintf(format, args...)}
}

// opError is a request refused with a non-success core:Status.
type opError struct {
	status  string // top-level StatusCode; default ehealth.StatusRequester
	message string
	errors  []eteeError
}

type eteeError struct {
	Code, Message string
	Params        [][2]string
}

func (e *opError) Error() string { return e.message }

// codes returns the error codes of e.
func (e *opError) codes() []string {
	var out []string
	for _, x := range e.errors {
		out = append(out, x.Code)
	}
	return out
}

// fail builds an opError carrying one eHealth error code, with the cookbook's message for it.
func fail(code string, detail string, params ...[2]string) *opError {
	msg := codeMessages[code]
	if msg == "" {
		msg = detail
	}
	top := msg
	if detail != "" && detail != msg {
		top = msg + " (" + detail + ")"
	}
	return &opError{message: top, errors: []eteeError{{Code: code, Message: msg, Params: params}}}
}

// failMsg builds an opError carrying code with a message of our own (for codes whose cookbook message does not
// fit the operation).
func failMsg(code, msg string) *opError {
	return &opError{message: msg, errors: []eteeError{{Code: code, Message: msg}}}
}

// reject builds an opError without an eHealth error code (the platform's cookbook lists none for signature or
// authorisation failures).
func reject(format string, args ...any) *opError {
	return &opError{message: fmt.Sprintf(format, args...)}
}

// codeMessages are the messages of cookbook 001 §7.1.
var codeMessages = map[string]string{
	ehealth.CodeCSRNotValid:                        "The given CSR is not a valid PKCS10 CSR.",
	ehealth.CodeCSRSignatureNotValid:               "The given CSR has an invalid signature.",
	ehealth.CodeCSRNoSubject:                       "The given CSR does not contain a subject (=owner).",
	ehealth.CodeCSRPublicKeyInvalid:                "The given CSR contains an invalid public key.",
	ehealth.CodeCSRInputNotParseable:               "The input could not be parsed in to a CSR.",
	ehealth.CodeCSRInputNotUnmarshallable:          "The input could not be unmarshalled into an eHealthCSR.",
	ehealth.CodeCSRValidAuthCertAlreadyExists:      "A valid authentication certificate that is not expiring soon already exists for the user who is requesting a new eHealth authentication certificate.",
	ehealth.CodeCSRApprovedCSRInProcess:            "There is already an approved CSR in process of being certified for this DN.",
	ehealth.CodeCSRInvalidDN:                       "The distinguished name in the CSR is not according to the eHealth policy.",
	ehealth.CodeCSRPubKeyNotUnique:                 "The CSR is not unique.",
	ehealth.CodeCSRAlreadyValidated:                "The CSR was already validated.",
	ehealth.CodeCertNotYetDelivered:                "Your certificate is not yet delivered. Try to get it later.",
	ehealth.CodeAuthCertNotYetValid:                "The authentication certificate has been delivered but is not yet valid.",
	ehealth.CodeETKForAuthCertNotIssuedByEHealthCA: "The encryption token is requested for an authentication certificate that is not issued by the CA of eHealth. This is not allowed.",
	ehealth.CodeETKForAuthCertRevoked:              "The encryption token is requested for an authentication certificate that is revoked by the CA of eHealth. This is not allowed.",
	ehealth.CodeETKForAuthCertExpired:              "The encryption token is requested for an authentication certificate that is expired. This is not allowed.",
	ehealth.CodeETKForAuthCertNotYetValid:          "The encryption token is requested for an authentication certificate that is not yet valid. This is not allowed.",
	ehealth.CodeRequestHasNoValidCMSFormat:         "The request has no eHealth authorized CMS format. Please contact the helpdesk.",
	ehealth.CodeAuthCertNotFound:                   "An authentication certificate corresponding to the given ToBeRegistered is not found in the ETK DB.",
	ehealth.CodePublicKeyNotYetRegistered:          "The public key for the given ToBeRegistered is not yet registered.",
	ehealth.CodeNoValidAuthCertFound:               "No authentication certificate, that has status valid, has been found in the ETK RA.",
	ehealth.CodeAuthCertNotValid:                   "The given authentication certificate is not valid since it is not identical to the one found that is registered.",
	ehealth.CodeValidETKAlreadyExists:              "An ETK already exists for the given public key.",
	ehealth.CodeRenewActivationETKAlreadyActive:    "The ETK to activate is already active.",
	ehealth.CodeRenewNotYetInExpirationPeriod:      "Not yet in the expiration period to perform a renewal request",
}

// soapRequest is a request that passed the envelope checks.
type soapRequest struct {
	op ehealth.Operation
	el *etree.Element // the Body child, in its document
	// base is the server's URL (Server.URL, or the scheme and host of the request when the handler is mounted
	// elsewhere and URL is not set).
	base string
	id   string // the request's Id attribute ("" when absent)
	now  time.Time
	// issueInstant is the request's IssueInstant.
	issueInstant time.Time
	// For signed operations, after verification:
	signer *x509.Certificate
	chain  []*x509.Certificate // signer first, root last
	// payload is the XML that is decoded into the request type: the verified element for signed operations.
	payload []byte
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/CertRa/v2", func(w http.ResponseWriter, r *http.Request) { s.serveSOAP(w, r, ehealth.CertRA) })
	mux.HandleFunc("/EtkRa/v2", func(w http.ResponseWriter, r *http.Request) { s.serveSOAP(w, r, ehealth.EtkRA) })
	mux.HandleFunc(depotPrefix+"/", s.serveDepot)
	mux.HandleFunc(foreignerPrefix, s.serveForeigner)
	mux.HandleFunc(adminPrefix, s.serveAdmin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Close waits for the handlers in progress, so that nothing logs after a test ended.
		s.closeMu.Lock()
		if s.closed {
			s.closeMu.Unlock()
			http.Error(w, "the platform is closed", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.closeMu.Unlock()
		defer s.inflight.Done()
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) serveSOAP(w http.ResponseWriter, r *http.Request, svc ehealth.Service) {
	x := s.newExchange(r)
	x.soap = true
	req, perr := s.parseSOAP(x, r, svc)
	if req != nil {
		x.rec.Target = req.op.Name
	} else if op, ok := ehealth.OperationBySOAPAction(strings.TrimSpace(r.Header.Get("SOAPAction"))); ok {
		x.rec.Target = op.Name
	}
	var after *Fault
	if f, ok := s.takeFault(x.rec.Target); ok {
		done, a := s.applyFault(w, r, x, f, true)
		if done {
			return
		}
		after = a
	}
	if perr != nil {
		s.writeFault(x, perr)
		s.finish(w, x, after)
		return
	}
	s.dispatch(x, req)
	s.finish(w, x, after)
}

// parseSOAP applies the WS-I and envelope checks and finds the operation.
func (s *Server) parseSOAP(x *exchange, r *http.Request, svc ehealth.Service) (*soapRequest, *soapFault) {
	if r.Method != http.MethodPost {
		return nil, &soapFault{code: ehealth.FaultNotSOAP, reason: "SOAP requests are HTTP POSTs"}
	}
	if x.tooLarge {
		return nil, malformed("the request is larger than %d bytes", maxRequestBytes)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "text/xml" {
		return nil, &soapFault{code: ehealth.FaultNotSOAP, reason: "Content-Type must be text/xml (SOAP 1.1)"}
	}
	doc := etree.NewDocument()
	// Duplicate attributes are kept so that they can be refused: etree would otherwise keep the last one,
	// where the platform's XML parser refuses the document (XML 1.0, WFC: Unique Att Spec).
	doc.ReadSettings = etree.ReadSettings{PreserveCData: true, PreserveDuplicateAttrs: true}
	if err := doc.ReadFromBytes(x.body); err != nil {
		return nil, malformed("the request is not well-formed XML")
	}
	if el, name := duplicateAttribute(doc.Root()); el != nil {
		return nil, malformed("the request is not well-formed XML: <%s> has the attribute %s twice", truncate(el.FullTag(), 100), truncate(name, 100))
	}
	for _, t := range doc.Child {
		if _, ok := t.(*etree.Directive); ok {
			return nil, malformed("a DOCTYPE is not allowed (WS-I BP R1008)")
		}
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != ehealth.NSSOAP11 {
		return nil, &soapFault{code: ehealth.FaultNotSOAP, reason: "the root element is not a SOAP 1.1 Envelope"}
	}
	var body *etree.Element
	for _, c := range env.ChildElements() {
		if c.NamespaceURI() == ehealth.NSSOAP11 && c.Tag == "Body" {
			if body != nil {
				return nil, &soapFault{code: ehealth.FaultNotSOAP, reason: "the Envelope has two Bodies"}
			}
			body = c
		}
	}
	if body == nil {
		return nil, &soapFault{code: ehealth.FaultMissingBody, reason: "the Envelope has no Body"}
	}
	kids := body.ChildElements()
	switch {
	case len(kids) == 0:
		return nil, &soapFault{code: ehealth.FaultMissingBody, reason: "the Body is empty"}
	case len(kids) > 1:
		return nil, malformed("the Body has %d child elements; one is expected", len(kids))
	}
	child := kids[0]
	op, ok := ehealth.OperationByRequest(child.NamespaceURI(), child.Tag)
	if !ok || op.Service != svc {
		return nil, malformed("{%s}%s is not a request of %s v2", truncate(child.NamespaceURI(), 100), truncate(child.Tag, 100), svc)
	}
	action := strings.TrimSpace(r.Header.Get("SOAPAction"))
	if action == "" {
		return nil, malformed("the SOAPAction header is missing (WS-I BP R2744)")
	}
	if got, ok := ehealth.OperationBySOAPAction(action); !ok || got.Name != op.Name {
		return nil, malformed("SOAPAction %s does not match %s (want %q)", truncate(action, 200), op.Request, op.SOAPAction)
	}
	req := &soapRequest{op: op, el: child, now: s.clock.Now(), base: s.URL}
	if req.base == "" {
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		req.base = scheme + "://" + r.Host
	}
	if a := child.SelectAttr("Id"); a != nil && a.Space == "" {
		req.id = a.Value
	}
	ii := child.SelectAttr("IssueInstant")
	if ii == nil || ii.Space != "" {
		return nil, malformed("%s has no IssueInstant", op.Request)
	}
	dt, err := xsd.ParseDateTime(ii.Value)
	if err != nil {
		return nil, malformed("IssueInstant %q is not an xs:dateTime", truncate(ii.Value, 64))
	}
	req.issueInstant = dt.Time()
	return req, nil
}

// duplicateAttribute finds an element of the tree under root with two attributes of the same name (the same
// qualified name, or the same local name in the same namespace), and that name.
func duplicateAttribute(root *etree.Element) (*etree.Element, string) {
	if root == nil {
		return nil, ""
	}
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(el.Attr) > 1 {
			seen := make(map[string]bool, len(el.Attr))
			for i := range el.Attr {
				a := &el.Attr[i]
				names := []string{"qname " + a.FullKey()}
				if a.Space != "" && a.Space != "xmlns" {
					uri := a.NamespaceURI()
					switch {
					case a.Space == "xml":
						uri = "http://www.w3.org/XML/1998/namespace"
					case uri == "":
						uri = "unbound prefix " + a.Space
					}
					names = append(names, "{"+uri+"}"+a.Key)
				}
				for _, n := range names {
					if seen[n] {
						return el, a.FullKey()
					}
					seen[n] = true
				}
			}
		}
		stack = append(stack, el.ChildElements()...)
	}
	return nil, ""
}

// detach serialises el as a standalone document, with the namespace declarations in scope.
func detach(el *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	d, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(d)
	return doc.WriteToBytes()
}

func elementBytes(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	return doc.WriteToBytes()
}

// verify checks the signature of a signed request and the kind of its key. On success req.signer, req.chain
// and req.payload are set.
func (s *Server) verify(req *soapRequest) *opError {
	op := req.op
	v := &sign.Verifier{Roots: s.Roots(), Now: func() time.Time { return req.now }}
	ver, err := v.VerifyElement(req.el)
	if err != nil {
		return s.signatureError(req, err)
	}
	kind := s.signerKind(ver.Chain)
	if kind != op.Key {
		got := "a key the platform does not know"
		if kind != ehealth.Unsigned {
			got = "the " + kind.String()
		}
		if op.Key == ehealth.EHealthAuthentication && kind != ehealth.EHealthAuthentication {
			return fail(ehealth.CodeETKForAuthCertNotIssuedByEHealthCA, "signed with "+got)
		}
		return reject("%s must be signed with the %s; it was signed with %s", op.Name, op.Key, got)
	}
	req.signer, req.chain = ver.Signer, ver.Chain
	payload, err := elementBytes(ver.Element)
	if err != nil {
		return reject("cannot read the verified request")
	}
	req.payload = payload
	// IssueInstant window, read from what the signature covers.
	if a := ver.Element.SelectAttr("IssueInstant"); a != nil {
		if d, err := xsd.ParseDateTime(a.Value); err == nil {
			req.issueInstant = d.Time()
		}
	}
	age := req.now.Sub(req.issueInstant)
	if age > s.opts.MaxRequestAge {
		return reject("IssueInstant %s is older than %s", req.issueInstant.UTC().Format(time.RFC3339), s.opts.MaxRequestAge)
	}
	if -age > s.opts.MaxClockSkew {
		return reject("IssueInstant %s is in the future", req.issueInstant.UTC().Format(time.RFC3339))
	}
	return nil
}

// signatureError maps a rejected signature to the platform's answer.
func (s *Server) signatureError(req *soapRequest, err error) *opError {
	var ve *sign.VerifyError
	reason := "invalid signature"
	if errors.As(err, &ve) {
		reason = ve.Error()
	}
	if req.op.Key != ehealth.EHealthAuthentication {
		return reject("The signature is not correct: %s", reason)
	}
	leaf := signerFromKeyInfo(req.el)
	switch {
	case errors.Is(err, sign.UntrustedChain):
		return fail(ehealth.CodeETKForAuthCertNotIssuedByEHealthCA, reason)
	case errors.Is(err, sign.Expired) && leaf != nil && req.now.Before(leaf.NotBefore):
		return fail(ehealth.CodeETKForAuthCertNotYetValid, "")
	case errors.Is(err, sign.Expired):
		return fail(ehealth.CodeETKForAuthCertExpired, "")
	}
	return reject("The signature is not correct: %s", reason)
}

// signerFromKeyInfo returns the first X509Certificate of the request's signature, unverified (only to tell
// "expired" from "not yet valid").
func signerFromKeyInfo(el *etree.Element) *x509.Certificate {
	for _, sig := range el.ChildElements() {
		if sig.Tag != "Signature" || sig.NamespaceURI() != ehealth.NSXMLDSig {
			continue
		}
		for _, ki := range sig.ChildElements() {
			if ki.Tag != "KeyInfo" {
				continue
			}
			for _, xd := range ki.ChildElements() {
				for _, xc := range xd.ChildElements() {
					if xc.Tag == "X509Certificate" {
						der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Text()), ""))
						if err != nil {
							return nil
						}
						c, err := x509.ParseCertificate(der)
						if err != nil {
							return nil
						}
						return c
					}
				}
			}
		}
	}
	return nil
}

// signerKind classifies a verified chain (signer first, root last): a test eID certificate (Authentication or
// Signature, by key usage and CN like real eID certificates) or a certificate of the eHealth issuing CA. A key the
// platform does not know is Unsigned.
func (s *Server) signerKind(chain []*x509.Certificate) ehealth.KeyKind {
	if len(chain) < 2 {
		return ehealth.Unsigned
	}
	leaf, issuer := chain[0], chain[1]
	switch {
	case issuer.Equal(s.eidCA.Cert):
		role, ok := eidRole(leaf)
		switch {
		case !ok:
			return ehealth.Unsigned
		case role == roleSignature:
			return ehealth.EIDSignature
		}
		return ehealth.EIDAuthentication
	case issuer.Equal(s.ehealthCA.Cert) && !leaf.Equal(s.etkra.Cert):
		return ehealth.EHealthAuthentication
	}
	return ehealth.Unsigned
}

// writeFault answers a SOAP Fault in the platform's shape: faultcode soapenv:Client (Server for SOA-00001),
// faultstring "<code>: <message>", and a detail holding an eHealth BusinessError with Origin, Code, Message and
// Environment.
func (s *Server) writeFault(x *exchange, f *soapFault) {
	faultcode, origin := "soapenv:Client", "Consumer"
	if f.code == faultServiceError {
		faultcode, origin = "soapenv:Server", "Server"
	}
	payload := faultPayload(faultcode, f.code, f.reason, origin)
	x.rec.Payload = payload
	x.rec.FaultCode = f.code
	writeEnvelope(x.out, http.StatusInternalServerError, payload)
}

func writeSOAPFault(w http.ResponseWriter, status int, faultcode, code, reason, origin string) {
	writeEnvelope(w, status, faultPayload(faultcode, code, reason, origin))
}

// faultPayload builds a standalone soapenv:Fault element.
func faultPayload(faultcode, code, reason, origin string) []byte {
	var b bytes.Buffer
	b.WriteString(`<soapenv:Fault xmlns:soapenv="` + ehealth.NSSOAP11 + `">`)
	b.WriteString("<faultcode>" + faultcode + "</faultcode>")
	b.WriteString("<faultstring>")
	xml.EscapeText(&b, []byte(code+": "+soaMessages[code]))
	b.WriteString("</faultstring><detail>")
	b.WriteString(`<soa:BusinessError xmlns:soa="urn:be:fgov:ehealth:errors:soa:v1" Id="` + newID() + `">`)
	b.WriteString("<Origin>" + origin + "</Origin><Code>" + code + "</Code>")
	b.WriteString(`<Message xml:lang="en">`)
	xml.EscapeText(&b, []byte(reason))
	b.WriteString("</Message><soa:Environment>Simulation</soa:Environment></soa:BusinessError>")
	b.WriteString("</detail></soapenv:Fault>")
	return b.Bytes()
}

// writeEnvelope wraps a standalone payload element in a SOAP 1.1 envelope.
func writeEnvelope(w http.ResponseWriter, status int, payload []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="` + ehealth.NSSOAP11 + `"><soapenv:Body>`))
	w.Write(payload)
	w.Write([]byte(`</soapenv:Body></soapenv:Envelope>`))
}

// newID returns a fresh response Id ("_" + UUID, a valid xs:ID).
func newID() string { return "_" + uuid.NewString() }
