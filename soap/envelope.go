package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ehcert/ehcert/ehealth"
)

const (
	envelopeStart = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`
	envelopeEnd   = `</soapenv:Body></soapenv:Envelope>`
)

// maxExcerpt bounds HTTPError.Excerpt.
const maxExcerpt = 512

// stripDeclaration removes a UTF-8 byte order mark and a leading XML declaration (and the whitespace after it)
// from payload. Nothing else is touched: the rest is returned as a subslice of payload.
func stripDeclaration(payload []byte) []byte {
	p := bytes.TrimPrefix(payload, []byte("\xEF\xBB\xBF"))
	if len(p) > 5 && bytes.HasPrefix(p, []byte("<?xml")) && isXMLSpace(p[5]) {
		if end := bytes.Index(p, []byte("?>")); end >= 0 {
			p = p[end+2:]
			for len(p) > 0 && isXMLSpace(p[0]) {
				p = p[1:]
			}
		}
	}
	return p
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// buildEnvelope puts payload, unchanged, as the only child of a SOAP 1.1 Body.
func buildEnvelope(payload []byte) []byte {
	env := make([]byte, 0, len(envelopeStart)+len(payload)+len(envelopeEnd))
	env = append(env, envelopeStart...)
	env = append(env, payload...)
	return append(env, envelopeEnd...)
}

// bodyChild is the element found in a response's SOAP Body.
type bodyChild struct {
	name xml.Name
	// raw is the element exactly as received, from '<' of its start tag to '>' of its end tag.
	raw []byte
	// ns are the namespace declarations in scope from the Envelope and Body start tags.
	ns []xml.Attr
	// statusRead reports that status holds the element's core:Status children, decoded while finding it (nil
	// when it has none).
	statusRead bool
	status     *statusXML
}

// errNotSOAP reports a body whose root element is not a SOAP 1.1 Envelope.
var errNotSOAP = errors.New("not a SOAP 1.1 envelope")

// splitEnvelope finds the only child of the SOAP Body in data with a streaming decoder. It returns errNotSOAP when
// data is not a SOAP 1.1 envelope at all, and another error when the envelope is malformed.
//
// With withStatus, the core:Status children of the Body child are decoded on the way (bodyChild.status), so that
// the status costs no second reading of the body. When that decoding fails, data is read again without it and
// interpret decodes the status from the Body child, as it did before (the same errors in the same order).
func splitEnvelope(data []byte, withStatus bool) (*bodyChild, error) {
	child, err := splitEnvelopeOnce(data, withStatus)
	if errors.Is(err, errStatusOnTheWay) {
		return splitEnvelopeOnce(data, false)
	}
	return child, err
}

// errStatusOnTheWay reports that the core:Status could not be decoded while finding the Body child.
var errStatusOnTheWay = errors.New("core:Status not decoded on the way")

func splitEnvelopeOnce(data []byte, withStatus bool) (*bodyChild, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// Find the root element.
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, errNotSOAP
		}
		switch t := tok.(type) {
		case xml.StartElement:
			root = t
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errNotSOAP
			}
			continue
		default: // declaration, comment, directive
			continue
		}
		break
	}
	if root.Name.Space != ehealth.NSSOAP11 || root.Name.Local != "Envelope" {
		return nil, errNotSOAP
	}
	var ns nsScope
	ns.add(root.Attr)
	// Children of Envelope: Header?, Body.
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("reading envelope: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == ehealth.NSSOAP11 && t.Name.Local == "Body" {
				ns.add(t.Attr)
				return readBody(d, data, ns.attrs, withStatus)
			}
			if err := d.Skip(); err != nil { // Header, or anything else before the Body
				return nil, fmt.Errorf("reading envelope: %w", err)
			}
		case xml.EndElement:
			return nil, errors.New("the envelope has no Body")
		}
	}
}

// readBody reads the children of an open Body element.
func readBody(d *xml.Decoder, data []byte, ns []xml.Attr, withStatus bool) (*bodyChild, error) {
	var child *bodyChild
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("reading Body: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if child != nil {
				return nil, errors.New("the Body has more than one child element")
			}
			var status *statusXML
			if withStatus {
				if err := skipDecodingStatus(d, &status); err != nil {
					return nil, errStatusOnTheWay
				}
			} else if err := d.Skip(); err != nil {
				return nil, fmt.Errorf("reading Body: %w", err)
			}
			end := d.InputOffset()
			if start < 0 || end > int64(len(data)) || start > end {
				return nil, errors.New("reading Body: inconsistent offsets")
			}
			child = &bodyChild{name: t.Name, raw: data[start:end:end], ns: ns, status: status, statusRead: withStatus}
		case xml.EndElement:
			if child == nil {
				return nil, errors.New("the Body is empty")
			}
			return child, nil
		}
	}
}

// skipDecodingStatus reads the rest of the element whose start tag d has just returned, as d.Skip does, and
// decodes its core:Status children into *status the way xml.Unmarshal fills statusHolder (a later Status is decoded
// into the same value).
func skipDecodingStatus(d *xml.Decoder, status **statusXML) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == ehealth.NSCommonsCore && t.Name.Local == "Status" {
				err = d.DecodeElement(status, &t)
			} else {
				err = d.Skip()
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// nsScope collects namespace declarations; a later declaration of a prefix replaces an earlier one.
type nsScope struct{ attrs []xml.Attr }

func (s *nsScope) add(attrs []xml.Attr) {
	for _, a := range attrs {
		isDecl := a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
		if !isDecl || (a.Name.Space == "xmlns" && (a.Name.Local == "xml" || a.Name.Local == "xmlns")) {
			continue
		}
		replaced := false
		for i := range s.attrs {
			if s.attrs[i].Name == a.Name {
				s.attrs[i] = a
				replaced = true
			}
		}
		if !replaced {
			s.attrs = append(s.attrs, a)
		}
	}
}

// decode unmarshals the body child into v, with the namespace declarations of the Envelope and Body in scope.
func (c *bodyChild) decode(v any) error {
	var head bytes.Buffer
	head.WriteString("<w")
	for _, a := range c.ns {
		head.WriteString(" xmlns")
		if a.Name.Space == "xmlns" {
			head.WriteString(":")
			head.WriteString(a.Name.Local)
		}
		head.WriteString(`="`)
		_ = xml.EscapeText(&head, []byte(a.Value))
		head.WriteString(`"`)
	}
	head.WriteString(">")
	d := xml.NewDecoder(io.MultiReader(&head, bytes.NewReader(c.raw), strings.NewReader("</w>")))
	d.Strict = true
	if _, err := d.Token(); err != nil { // <w>
		return err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return d.DecodeElement(v, &se)
		}
	}
}

type faultXML struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Actor  string `xml:"faultactor"`
	Detail *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"detail"`
}

// The core:Status of a StatusResponseType, read with our own structs so that the transport does not depend on
// generated code. The children of EteeStatusDetail are unqualified (FACTS §2); tags without a namespace match
// them (and, leniently, the same names in any namespace).
type statusHolder struct {
	Status *statusXML `xml:"urn:be:fgov:ehealth:commons:core:v2 Status"`
}

type statusXML struct {
	StatusCode    *statusCodeXML `xml:"urn:be:fgov:ehealth:commons:core:v2 StatusCode"`
	StatusMessage string         `xml:"urn:be:fgov:ehealth:commons:core:v2 StatusMessage"`
	StatusDetail  *struct {
		Etee []struct {
			Errors []struct {
				Code       string `xml:"Code"`
				Message    string `xml:"Message"`
				Parameters []struct {
					Name  string `xml:"Name"`
					Value string `xml:"Value"`
				} `xml:"Parameters"`
			} `xml:"Errors"`
		} `xml:"urn:be:fgov:ehealth:etee:commons:core:v2 EteeStatusDetail"`
	} `xml:"urn:be:fgov:ehealth:commons:core:v2 StatusDetail"`
}

type statusCodeXML struct {
	Value      string         `xml:"Value,attr"`
	StatusCode *statusCodeXML `xml:"urn:be:fgov:ehealth:commons:core:v2 StatusCode"`
}

// statusError returns nil for a successful status and a *StatusError otherwise.
func (s *statusXML) statusError(op string) *StatusError {
	var codes []string
	for sc := s.StatusCode; sc != nil; sc = sc.StatusCode {
		codes = append(codes, strings.TrimSpace(sc.Value))
	}
	if len(codes) > 0 && codes[0] == ehealth.StatusSuccess {
		return nil
	}
	se := &StatusError{Operation: op, StatusCodes: codes, Message: strings.TrimSpace(s.StatusMessage)}
	if s.StatusDetail != nil {
		for _, etee := range s.StatusDetail.Etee {
			for _, e := range etee.Errors {
				d := Detail{Code: strings.TrimSpace(e.Code), Message: strings.TrimSpace(e.Message)}
				for _, p := range e.Parameters {
					d.Parameters = append(d.Parameters, Parameter{Name: strings.TrimSpace(p.Name), Value: p.Value})
				}
				se.Details = append(se.Details, d)
			}
		}
	}
	return se
}

// interpret turns a complete HTTP response into the Body child and the outcome of the call. It never panics on
// any input; body must already be bounded by the caller. raw is the Body child as received, or body when it is
// not a SOAP envelope.
func interpret(op ehealth.Operation, statusCode int, header http.Header, body []byte, resp any) (raw []byte, err error) {
	name := opName(op)
	ok2xx := statusCode >= 200 && statusCode < 300
	child, perr := splitEnvelope(body, op.HasStatus)
	if perr != nil {
		if !ok2xx {
			return body, &HTTPError{Operation: name, StatusCode: statusCode, ContentType: header.Get("Content-Type"),
				Excerpt: excerpt(body), Header: header}
		}
		if errors.Is(perr, errNotSOAP) {
			return body, &ProtocolError{Operation: name, Reason: "the response is not a SOAP 1.1 envelope (Content-Type " +
				truncate(header.Get("Content-Type"), 64) + ")"}
		}
		return body, &ProtocolError{Operation: name, Reason: "malformed SOAP envelope", Err: perr}
	}
	if child.name.Space == ehealth.NSSOAP11 && child.name.Local == "Fault" {
		var fx faultXML
		if err := child.decode(&fx); err != nil {
			return child.raw, &ProtocolError{Operation: name, Reason: "malformed SOAP Fault", Err: err}
		}
		f := &Fault{Operation: name, Code: strings.TrimSpace(fx.Code), String: strings.TrimSpace(fx.String),
			Actor: strings.TrimSpace(fx.Actor), HTTPStatus: statusCode, Header: header}
		if fx.Detail != nil {
			f.Detail = fx.Detail.Inner
		}
		return child.raw, f
	}
	if !ok2xx {
		return child.raw, &HTTPError{Operation: name, StatusCode: statusCode, ContentType: header.Get("Content-Type"),
			Excerpt: excerpt(body), Header: header}
	}
	if op.Response != "" && (child.name.Local != op.Response || child.name.Space != op.Namespace) {
		return child.raw, &ProtocolError{Operation: name,
			Reason: fmt.Sprintf("the Body holds {%s}%s, want {%s}%s", truncate(child.name.Space, 128),
				truncate(child.name.Local, 128), op.Namespace, op.Response)}
	}
	var decodeErr error
	if resp != nil {
		decodeErr = child.decode(resp)
	}
	if op.HasStatus {
		status := child.status
		if !child.statusRead {
			var sh statusHolder
			if err := child.decode(&sh); err != nil {
				return child.raw, &ProtocolError{Operation: name, Reason: "malformed core:Status", Err: err}
			}
			status = sh.Status
		}
		if status == nil || status.StatusCode == nil {
			return child.raw, &ProtocolError{Operation: name, Reason: "the response has no core:Status/StatusCode"}
		}
		if se := status.statusError(name); se != nil {
			return child.raw, se
		}
	}
	if decodeErr != nil {
		return child.raw, &ProtocolError{Operation: name, Reason: "cannot decode " + truncate(child.name.Local, 128), Err: decodeErr}
	}
	return child.raw, nil
}

// excerpt returns at most maxExcerpt bytes of b as valid UTF-8, cut on a rune boundary.
func excerpt(b []byte) string {
	if len(b) > maxExcerpt {
		cut := maxExcerpt
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	// Each run of invalid bytes becomes one '?', so the result is never longer than b.
	return strings.ToValidUTF8(string(b), "?")
}

func opName(op ehealth.Operation) string {
	if op.Name == "" {
		return "call"
	}
	return op.Name
}
