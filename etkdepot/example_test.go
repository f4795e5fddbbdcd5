package etkdepot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ehcert/ehcert/etkdepot"
)

// A stand-in for the depot: two ETKs of one enterprise, as GET /etks returns them (cookbook §5.2.1.2).
func exampleDepot() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[
		  {"key": {"cbe": "0820563481"}, "value": "MIAGCSqGSIb3DQEHAqCA"},
		  {"key": {"cbe": "0820563481", "applicationIdentifier": "UHMEP"}, "value": "MIAGCSqGSIb3DQEHAqCB"}
		]`)
	}))
}

func ExampleClient_ETKs() {
	srv := exampleDepot()
	defer srv.Close()

	c := &etkdepot.Client{
		BaseURL:   srv.URL, // etkdepot.ProductionURL in real use
		UserAgent: "myProduct/1.2.0 ehcert/0.1",
		From:      "ops@example.be",
		Cache:     etkdepot.NewMemoryCache(0),
		// In real use: parse and validate the ETK with package etk (see Client.ValidateETK).
		ValidateETK: func(raw []byte, want etkdepot.Identity) error {
			if len(raw) == 0 || raw[0] != 0x30 {
				return errors.New("not a CMS structure")
			}
			return nil
		},
	}
	// The CBE number is padded to 10 digits before the lookup (FACTS §7).
	entries, err := c.ETKs(context.Background(), "cbe", "820563481", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		fmt.Printf("%s: %d bytes\n", e.Identity, len(e.ETK))
	}
	e, err := etkdepot.Select(entries, "UHMEP")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("selected", e.Identity)
	// Output:
	// CBE=0820563481: 15 bytes
	// CBE=0820563481,UHMEP: 15 bytes
	// selected CBE=0820563481,UHMEP
}

func ExampleClient_JWKSURL() {
	c := &etkdepot.Client{BaseURL: etkdepot.ProductionURL}
	u, err := c.JWKSURL(etkdepot.Query{Type: "CBE", Value: "0406798006", ApplicationID: "UHMEP", Use: "enc"})
	fmt.Println(u, err)
	// Output:
	// https://api.ehealth.fgov.be/etee/v1/pubKeys/cacerts/jwks?identifier=0406798006&type=CBE&applicationIdentifier=UHMEP&use=enc <nil>
}

func ExampleSelect() {
	entries := []etkdepot.Entry{
		{Identity: etkdepot.Identity{Type: "CBE", Value: "0820563481", ApplicationID: "UHMEP"}},
		{Identity: etkdepot.Identity{Type: "CBE", Value: "0820563481", ApplicationID: "UHMEP"}},
	}
	_, err := etkdepot.Select(entries, "uhmep")
	var ae *etkdepot.AmbiguousError
	fmt.Println(errors.As(err, &ae), len(ae.Candidates))
	// Output: true 2
}
