package ehealthtest

import (
	"net/http"
	"strings"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/ehealth"
)

// The Rewrite fault: the platform's answer, altered by the test before it is sent. A SOAP response is rewritten
// as its Body child and wrapped in the Envelope again; the recorded Status, Codes and FaultCode are read from what
// is sent, so that Requests describes the exchange the client saw.

// rewriteResponse passes the response in x through rewrite and puts the result in its place.
func rewriteResponse(x *exchange, rewrite func(target string, body []byte) []byte) {
	if !x.soap {
		x.out.body = rewrite(x.rec.Target, append([]byte(nil), x.out.body...))
		return
	}
	payload := rewrite(x.rec.Target, append([]byte(nil), x.rec.Payload...))
	status := x.out.status
	if status == 0 {
		status = http.StatusOK
	}
	o, ok := outcomeOf(payload)
	if ok {
		// SOAP 1.1 over HTTP: a Fault is an HTTP 500, anything else a 200.
		status = http.StatusOK
		if o.faultCode != "" {
			status = http.StatusInternalServerError
		}
	}
	out := newResponseRecorder()
	for k, v := range x.out.header {
		out.header[k] = append([]string(nil), v...)
	}
	writeEnvelope(out, status, payload)
	x.out = out
	x.rec.Payload = payload
	x.rec.Status, x.rec.Codes, x.rec.FaultCode = o.status, o.codes, o.faultCode
}

// soapOutcome is what a SOAP Body child says about the exchange.
type soapOutcome struct {
	status    string   // the top-level core:Status StatusCode Value
	codes     []string // the EteeStatusDetail error codes
	faultCode string   // a soapenv:Fault's detail Code (SOA-03001 ...), else its faultcode; "" for no Fault
}

// outcomeOf reads the status, error codes and fault code of a Body child. ok is false when payload is not an
// XML element.
func outcomeOf(payload []byte) (o soapOutcome, ok bool) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(payload); err != nil || doc.Root() == nil {
		return soapOutcome{}, false
	}
	root := doc.Root()
	if root.Tag == "Fault" && root.NamespaceURI() == ehealth.NSSOAP11 {
		for _, detail := range children(root, "", "detail") {
			for _, be := range detail.ChildElements() {
				for _, c := range children(be, "", "Code") {
					o.faultCode = strings.TrimSpace(c.Text())
					return o, true
				}
			}
		}
		// A Fault without an eHealth detail: its faultcode, so that RecordedRequest.IsFault holds.
		for _, fc := range children(root, "", "faultcode") {
			o.faultCode = strings.TrimSpace(fc.Text())
		}
		if o.faultCode == "" {
			o.faultCode = "Fault"
		}
		return o, true
	}
	for _, st := range children(root, ehealth.NSCommonsCore, "Status") {
		for _, sc := range children(st, ehealth.NSCommonsCore, "StatusCode") {
			if a := sc.SelectAttr("Value"); a != nil && a.Space == "" {
				o.status = a.Value
			}
			break
		}
		for _, sd := range children(st, ehealth.NSCommonsCore, "StatusDetail") {
			for _, esd := range children(sd, ehealth.NSEteeCore, "EteeStatusDetail") {
				for _, e := range children(esd, "", "Errors") {
					for _, c := range children(e, "", "Code") {
						o.codes = append(o.codes, strings.TrimSpace(c.Text()))
					}
				}
			}
		}
		break
	}
	return o, true
}

// children returns the child elements of el with the given namespace and local name.
func children(el *etree.Element, space, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == space {
			out = append(out, c)
		}
	}
	return out
}
