package ehealthtest

import (
	"encoding/xml"
	"net/http"
	"reflect"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/xsd"
)

// handler processes a decoded request (a pointer to the generated request type) and returns a pointer to the
// generated response type with its operation-specific content; dispatch fills in Id, InResponseTo,
// IssueInstant and Status. A handler runs with s.mu held.
type handler func(s *Server, req *soapRequest, in any) (out any, err *opError)

var handlers = map[string]handler{
	ehealth.GetActorQualities.Name:                              (*Server).getActorQualities,
	ehealth.GetGenericOrganizationTypes.Name:                    (*Server).getGenericOrganizationTypes,
	ehealth.GetExistingApplicationIds.Name:                      (*Server).getExistingApplicationIds,
	ehealth.GenerateContract.Name:                               (*Server).generateContract,
	ehealth.GenerateCertificate.Name:                            (*Server).generateCertificate,
	ehealth.GetCertificate.Name:                                 (*Server).getCertificate,
	ehealth.GenerateRevocationContract.Name:                     (*Server).generateRevocationContract,
	ehealth.Revoke.Name:                                         (*Server).revoke,
	ehealth.SubmitCSRForForeigner.Name:                          (*Server).submitCSRForForeigner,
	ehealth.GetCertificateInfoForCitizen.Name:                   (*Server).getCertificateInfoForCitizen,
	ehealth.GetCertificateInfoForAuthenticationCertificate.Name: (*Server).getCertificateInfoForAuthenticationCertificate,
	ehealth.StartETKRegistration.Name:                           (*Server).startETKRegistration,
	ehealth.CompleteETKRegistration.Name:                        (*Server).completeETKRegistration,
	ehealth.ActivateETK.Name:                                    (*Server).activateETK,
}

// newMessages returns new, empty generated request and response values for op.
func newMessages(op ehealth.Operation) (req, resp any, ok bool) {
	if op.Service == ehealth.EtkRA {
		o, found := etkra.OperationByName(op.Name)
		if !found {
			return nil, nil, false
		}
		return o.NewRequest(), o.NewResponse(), true
	}
	o, found := certra.OperationByName(op.Name)
	if !found {
		return nil, nil, false
	}
	return o.NewRequest(), o.NewResponse(), true
}

// dispatch verifies, decodes and handles a request, and writes the response into x.
func (s *Server) dispatch(x *exchange, req *soapRequest) {
	op := req.op
	in, empty, ok := newMessages(op)
	h := handlers[op.Name]
	if !ok || h == nil {
		s.writeFault(x, malformed("operation %s is not implemented", op.Name))
		return
	}
	var out any
	var oerr *opError
	if op.Signed() {
		oerr = s.verify(req)
		if req.signer != nil {
			x.rec.Signer = req.signer
		}
	} else {
		b, err := detach(req.el)
		if err != nil {
			s.writeFault(x, malformed("cannot read %s", op.Request))
			return
		}
		req.payload = b
	}
	if oerr == nil {
		if err := xml.Unmarshal(req.payload, in); err != nil {
			s.writeFault(x, malformed("%s does not decode: %v", op.Request, err))
			return
		}
		s.mu.Lock()
		out, oerr = h(s, req, in)
		// Failed requests may change the state too (GetCertificate counts polls).
		if err := s.saveLocked(); err != nil {
			s.logf("save state: %v", err)
			out, oerr = nil, &opError{status: ehealth.StatusResponder, message: "the platform could not save its state"}
		}
		s.mu.Unlock()
	}
	if oerr != nil {
		if !op.HasStatus {
			s.writeFault(x, malformed("%s", oerr.message))
			return
		}
		out = empty
		x.rec.Codes = oerr.codes()
	}
	status := ehealth.StatusSuccess
	if oerr != nil {
		status = oerr.status
		if status == "" {
			status = ehealth.StatusRequester
		}
	}
	if op.HasStatus {
		x.rec.Status = status
	}
	if err := fillCommon(op, out, req, s.clock.Now(), status, oerr); err != nil {
		s.writeFault(x, &soapFault{code: faultServiceError, reason: "cannot build the response"})
		return
	}
	payload, err := xml.Marshal(out)
	if err != nil {
		s.logf("marshal %s: %v", op.Response, err)
		s.writeFault(x, &soapFault{code: faultServiceError, reason: "cannot build the response"})
		return
	}
	x.rec.Payload = payload
	writeEnvelope(x.out, http.StatusOK, payload)
}

// fillCommon sets the attributes every response has (Id, InResponseTo, IssueInstant) and its Status.
func fillCommon(op ehealth.Operation, out any, req *soapRequest, now time.Time, status string, oerr *opError) error {
	v := reflect.ValueOf(out).Elem()
	v.FieldByName("Id").SetString(newID())
	v.FieldByName("InResponseTo").SetString(req.id)
	v.FieldByName("IssueInstant").Set(reflect.ValueOf(xsd.NewDateTime(now.UTC().Truncate(1e6))))
	if !op.HasStatus {
		return nil
	}
	f := v.FieldByName("Status")
	if op.Service == ehealth.EtkRA {
		f.Set(reflect.ValueOf(etkraStatus(status, oerr)))
	} else {
		f.Set(reflect.ValueOf(certraStatus(status, oerr)))
	}
	return nil
}

func certraStatus(code string, e *opError) *certra.StatusType {
	st := &certra.StatusType{StatusCode: &certra.StatusCodeType{Value: code}}
	if e == nil {
		return st
	}
	st.StatusMessage = e.message
	detail := certra.EteeStatusDetailType{}
	for _, x := range e.errors {
		ee := certra.EteeErrorType{Code: x.Code, Message: x.Message}
		for _, p := range x.Params {
			ee.Parameters = append(ee.Parameters, certra.EteeErrorParameterType{Name: p[0], Value: p[1]})
		}
		detail.Errors = append(detail.Errors, ee)
	}
	st.StatusDetail = &certra.StatusDetailType{EteeStatusDetail: []certra.EteeStatusDetailType{detail}}
	return st
}

func etkraStatus(code string, e *opError) *etkra.StatusType {
	st := &etkra.StatusType{StatusCode: &etkra.StatusCodeType{Value: code}}
	if e == nil {
		return st
	}
	st.StatusMessage = e.message
	detail := etkra.EteeStatusDetailType{}
	for _, x := range e.errors {
		ee := etkra.EteeErrorType{Code: x.Code, Message: x.Message}
		for _, p := range x.Params {
			ee.Parameters = append(ee.Parameters, etkra.EteeErrorParameterType{Name: p[0], Value: p[1]})
		}
		detail.Errors = append(detail.Errors, ee)
	}
	st.StatusDetail = &etkra.StatusDetailType{EteeStatusDetail: []etkra.EteeStatusDetailType{detail}}
	return st
}
