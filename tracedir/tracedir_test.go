package tracedir

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

func TestTransportWritesExchanges(t *testing.T) {
	resp := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetCertificateResponse xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="r">x</GetCertificateResponse></soap:Body></soap:Envelope>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/etee/v1/etks" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `[{"key":{"cbe":"0123456789"},"value":"AA=="}]`)
			return
		}
		io.WriteString(w, resp)
	}))
	defer srv.Close()
	dir := t.TempDir()
	hc := &http.Client{Transport: &Transport{Dir: dir}}

	payload := `<GetCertificateRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="2026-01-01T00:00:00Z"><PublicKeyIdentifier>00</PublicKeyIdentifier></GetCertificateRequest>`
	env := `<?xml version="1.0"?>` + "\n" + `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` + payload + `</soapenv:Body></soapenv:Envelope>`
	req, _ := http.NewRequest("POST", srv.URL+"/CertRa/v2", strings.NewReader(env))
	req.Header.Set("SOAPAction", `"`+ehealth.GetCertificate.SOAPAction+`"`)
	req.Header.Set("Authorization", "Bearer secret")
	r, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	if string(got) != resp {
		t.Fatalf("response body changed: %q", got)
	}
	r2, err := hc.Get(srv.URL + "/etee/v1/etks?identifier=0123456789&type=CBE")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()

	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := []string{"001-GetCertificate-request.xml", "001-GetCertificate-response.xml", "001-GetCertificate.http", "002-etks-response.json", "002-etks.http"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("files %v, want %v", names, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "001-GetCertificate-request.xml"))
	if string(b) != payload {
		t.Errorf("request file is not the Body child as sent:\n%s", b)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "001-GetCertificate-response.xml"))
	if !bytes.HasPrefix(b, []byte("<GetCertificateResponse")) || !bytes.HasSuffix(b, []byte("</GetCertificateResponse>")) {
		t.Errorf("response file: %s", b)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "001-GetCertificate.http"))
	if bytes.Contains(b, []byte("secret")) || !bytes.Contains(b, []byte("200 OK")) {
		t.Errorf("http file leaks a secret or lacks the status:\n%s", b)
	}
}

func TestBodyChildNotSOAP(t *testing.T) {
	in := []byte("<html>503</html>")
	if got := BodyChild(in); !bytes.Equal(got, in) {
		t.Errorf("BodyChild(non-SOAP) = %q", got)
	}
}
