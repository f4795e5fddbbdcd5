package ehealth

import "strings"

// Environment is a set of service endpoints.
type Environment struct {
	// Name is "acc", "prod" or the base URL of a custom environment.
	Name string
	// CertRA and EtkRA are the SOAP endpoints; ETKDepot is the base URL of the etee/v1 REST API
	// (no trailing slash).
	CertRA, EtkRA, ETKDepot string
}

// The eHealth environments (FACTS §1, §13).
var (
	Acceptance = Environment{
		Name:     "acc",
		CertRA:   "https://services-acpt.ehealth.fgov.be/CertRa/v2",
		EtkRA:    "https://services-acpt.ehealth.fgov.be/EtkRa/v2",
		ETKDepot: "https://api-acpt.ehealth.fgov.be/etee/v1",
	}
	Production = Environment{
		Name:     "prod",
		CertRA:   "https://services.ehealth.fgov.be/CertRa/v2",
		EtkRA:    "https://services.ehealth.fgov.be/EtkRa/v2",
		ETKDepot: "https://api.ehealth.fgov.be/etee/v1",
	}
)

// CustomEnvironment returns the environment of a server that serves the platform's paths under baseURL, such as
// a local ehealthtest server: baseURL/CertRa/v2, baseURL/EtkRa/v2 and baseURL/etee/v1.
func CustomEnvironment(baseURL string) Environment {
	b := strings.TrimRight(baseURL, "/")
	return Environment{Name: b, CertRA: b + "/CertRa/v2", EtkRA: b + "/EtkRa/v2", ETKDepot: b + "/etee/v1"}
}

// Endpoint returns the SOAP endpoint of a service.
func (e Environment) Endpoint(s Service) string {
	if s == EtkRA {
		return e.EtkRA
	}
	return e.CertRA
}
