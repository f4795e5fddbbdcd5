// Package reqstamp fills in the two attributes every CertRA and EtkRA request carries (FACTS §2): Id, "_" followed
// by a random UUID as the connector makes it, and IssueInstant, the current time. Both typed clients (certra,
// etkra) use it, so the rule is written once.
package reqstamp

import (
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/xsd"
)

var dateTimeType = reflect.TypeFor[xsd.DateTime]()

// Stamp sets the Id of req (when empty) and its IssueInstant (always, truncated to milliseconds as the connector's
// JAXB printing does). req must be a non-nil pointer to a generated request struct with the fields
// `Id string` and `IssueInstant xsd.DateTime`; anything else is a *soap.InvalidRequestError. newID and now may be
// nil (a random UUID, time.Now).
func Stamp(op ehealth.Operation, req any, newID func() string, now func() time.Time) error {
	v := reflect.ValueOf(req)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return &soap.InvalidRequestError{Operation: op.Name, Reason: "the request must be a non-nil pointer to a generated request struct"}
	}
	s := v.Elem()
	id := s.FieldByName("Id")
	issue := s.FieldByName("IssueInstant")
	if !id.IsValid() || id.Kind() != reflect.String || !id.CanSet() || !issue.IsValid() || issue.Type() != dateTimeType || !issue.CanSet() {
		return &soap.InvalidRequestError{Operation: op.Name, Reason: "the request type " + s.Type().String() + " has no Id and IssueInstant"}
	}
	if id.String() == "" {
		if newID != nil {
			id.SetString(newID())
		} else {
			id.SetString("_" + uuid.NewString())
		}
	}
	t := time.Now()
	if now != nil {
		t = now()
	}
	issue.Set(reflect.ValueOf(xsd.NewDateTime(t.Truncate(time.Millisecond))))
	return nil
}
