package observe_test

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/observe"
	"github.com/ehcert/ehcert/soap"
)

// ExampleObserver wires structured logs and metrics into a SOAP client. The two exchanges stand in for what
// the client reports after each call.
func ExampleObserver() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // stable output for this example
			}
			return a
		},
	}))
	obs := &observe.Observer{Logger: logger, Metrics: observe.Default}
	client := &soap.Client{Observer: obs.Exchange} // and observe.Register(prometheus.DefaultRegisterer), or serve observe.Handler()

	client.Observer(&soap.Exchange{Operation: ehealth.GetCertificate, StatusCode: 200, Duration: 120 * time.Millisecond,
		Request: []byte(`<GetCertificateRequest Id="_4f1c" IssueInstant="2026-01-01T00:00:00Z">…</GetCertificateRequest>`),
		Err:     &soap.StatusError{Operation: "GetCertificate", Details: []soap.Detail{{Code: "CERT_NOT_YET_DELIVERED"}}}})
	client.Observer(&soap.Exchange{Operation: ehealth.StartETKRegistration, Duration: 5 * time.Second,
		Err: &soap.TransportError{Operation: "StartETKRegistration", Err: errors.New("connection refused")}})
	// Output:
	// level=INFO msg="ehealth call" service=CertRA operation=GetCertificate outcome=pending request_id=_4f1c http_status=200 duration=120ms code=CERT_NOT_YET_DELIVERED error="soap: GetCertificate: status: CERT_NOT_YET_DELIVERED"
	// level=WARN msg="ehealth call" service=EtkRA operation=StartETKRegistration outcome=error duration=5s code=transport error="soap: StartETKRegistration: connection refused"
}
