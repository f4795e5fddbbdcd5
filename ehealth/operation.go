// Package ehealth holds the vocabulary of the eHealth certificate services that every other ehcert package
// shares: the fourteen CertRA v2 and EtkRA v2 operations (their SOAPActions, message elements and the key that
// must sign them), the acceptance and production environments, status and error codes, and the identifier types
// of the ETK depot.
//
// It has no behaviour of its own beyond lookups; it exists so that "which key signs GenerateCertificate" or
// "what is the SOAPAction of CompleteETKRegistration" is written down exactly once.
package ehealth

import (
	"context"
	"fmt"
)

// Service names one of the two SOAP services.
type Service string

// The SOAP services.
const (
	CertRA Service = "CertRA"
	EtkRA  Service = "EtkRA"
)

// Namespaces of the messages (FACTS §2–4).
const (
	NSCertRAProtocol  = "urn:be:fgov:ehealth:certra:protocol:v2"
	NSCertRACore      = "urn:be:fgov:ehealth:certra:core:v2"
	NSEtkRAProtocol   = "urn:be:fgov:ehealth:etkra:protocol:v2"
	NSCommonsCore     = "urn:be:fgov:ehealth:commons:core:v2"
	NSCommonsProtocol = "urn:be:fgov:ehealth:commons:protocol:v2"
	NSEteeCore        = "urn:be:fgov:ehealth:etee:commons:core:v2"
	NSXMLDSig         = "http://www.w3.org/2000/09/xmldsig#"
	NSSOAP11          = "http://schemas.xmlsoap.org/soap/envelope/"
)

// KeyKind says which private key must sign an operation's request.
type KeyKind int

// The kinds of signing key (FACTS §3–4, §12.3).
const (
	// Unsigned requests carry no ds:Signature.
	Unsigned KeyKind = iota
	// EIDAuthentication is the "Authentication" key of a Belgian eID card.
	EIDAuthentication
	// EIDSignature is the non-repudiation "Signature" key of a Belgian eID card.
	EIDSignature
	// EHealthAuthentication is the private key of the eHealth authentication certificate
	// (the "authentication" entry of the eHealth keystore).
	EHealthAuthentication
)

// String names the key as a person would look for it.
func (k KeyKind) String() string {
	switch k {
	case Unsigned:
		return "no key (unsigned)"
	case EIDAuthentication:
		return "eID Authentication key"
	case EIDSignature:
		return "eID Signature key"
	case EHealthAuthentication:
		return "eHealth authentication key"
	}
	return fmt.Sprintf("KeyKind(%d)", int(k))
}

// Operation describes one SOAP operation of CertRA v2 or EtkRA v2.
type Operation struct {
	// Name is the operation name as the cookbook spells it, e.g. "GetActorQualities".
	Name string
	// Service is the service that offers the operation.
	Service Service
	// SOAPAction is the exact SOAPAction value, unquoted. The strings mix prefixes and case; they are
	// copied from the connector (FACTS §3–4) and must not be "fixed".
	SOAPAction string
	// Namespace is the namespace of the request and response root elements.
	Namespace string
	// Request and Response are the local names of the request and response root elements.
	Request, Response string
	// Key is the key that must sign the request.
	Key KeyKind
	// HasStatus is false for the one response without a core:Status (GetExistingApplicationIds).
	HasStatus bool
}

// Signed reports whether the operation's request carries an enveloped signature.
func (op Operation) Signed() bool { return op.Key != Unsigned }

// String returns the operation name.
func (op Operation) String() string { return op.Name }

func certra(name, action string, key KeyKind) Operation {
	return Operation{Name: name, Service: CertRA, SOAPAction: action, Namespace: NSCertRAProtocol,
		Request: name + "Request", Response: name + "Response", Key: key, HasStatus: true}
}

func etkra(name, action string) Operation {
	return Operation{Name: name, Service: EtkRA, SOAPAction: action, Namespace: NSEtkRAProtocol,
		Request: name + "Request", Response: name + "Response", Key: EHealthAuthentication, HasStatus: true}
}

// The fourteen operations (FACTS §3–4).
var (
	GetActorQualities           = certra("GetActorQualities", "urn:be:fgov:ehealth:certra:protocol:v2:getActorQualities", EIDAuthentication)
	GenerateContract            = certra("GenerateContract", "urn:be:fgov:ehealth:certra:protocol:v2:generateContract", Unsigned)
	GenerateCertificate         = certra("GenerateCertificate", "urn:be:fgov:ehealth:etee:certra:protocol:v2:generatecertificate", EIDSignature)
	GetCertificate              = certra("GetCertificate", "urn:be:fgov:ehealth:etee:certra:protocol:v2:getcertificate", Unsigned)
	GenerateRevocationContract  = certra("GenerateRevocationContract", "urn:be:fgov:ehealth:certra:protocol:v2:generateRevocationContract", Unsigned)
	Revoke                      = certra("Revoke", "urn:be:fgov:ehealth:etee:certra:protocol:v2:revoke", EIDSignature)
	SubmitCSRForForeigner       = certra("SubmitCSRForForeigner", "urn:be:fgov:ehealth:certra:protocol:v2:submitCSRForForeigner", Unsigned)
	GetGenericOrganizationTypes = certra("GetGenericOrganizationTypes", "urn:be:fgov:ehealth:certra:protocol:v2:getGenericOrganizationTypes", Unsigned)
	GetExistingApplicationIds   = func() Operation {
		op := certra("GetExistingApplicationIds", "urn:be:fgov:ehealth:etee:certra:protocol:v2:getexistingapplicationids", Unsigned)
		op.HasStatus = false
		return op
	}()
	GetCertificateInfoForCitizen                   = certra("GetCertificateInfoForCitizen", "urn:be:fgov:ehealth:certra:protocol:v2:getCertificateInfoForCitizen", EIDAuthentication)
	GetCertificateInfoForAuthenticationCertificate = certra("GetCertificateInfoForAuthenticationCertificate", "urn:be:fgov:ehealth:etee:certra:protocol:v2:getCertificateInfoForAuthenticationCertificate", EHealthAuthentication)

	StartETKRegistration    = etkra("StartETKRegistration", "urn:be:fgov:ehealth:etee:etkra:protocol:v2:startETKRegistration")
	CompleteETKRegistration = etkra("CompleteETKRegistration", "urn:be:fgov:ehealth:etee:etkra:protocol:v2:completeETKregistration")
	ActivateETK             = etkra("ActivateETK", "urn:be:fgov:ehealth:etee:etkra:protocol:v2:activateETK")
)

var operations = []Operation{
	GetActorQualities, GetGenericOrganizationTypes, GetExistingApplicationIds, GenerateContract,
	GenerateCertificate, GetCertificate, GenerateRevocationContract, Revoke, SubmitCSRForForeigner,
	GetCertificateInfoForCitizen, GetCertificateInfoForAuthenticationCertificate,
	StartETKRegistration, CompleteETKRegistration, ActivateETK,
}

// Operations returns the fourteen operations, CertRA first. The slice is a copy.
func Operations() []Operation {
	return append([]Operation(nil), operations...)
}

// OperationByRequest finds the operation whose request root element has the given namespace and local name.
func OperationByRequest(namespace, local string) (Operation, bool) {
	for _, op := range operations {
		if op.Namespace == namespace && op.Request == local {
			return op, true
		}
	}
	return Operation{}, false
}

// OperationByName finds an operation by its name ("GenerateCertificate"); the match ignores case.
func OperationByName(name string) (Operation, bool) {
	for _, op := range operations {
		if equalFold(op.Name, name) {
			return op, true
		}
	}
	return Operation{}, false
}

// OperationBySOAPAction finds an operation by its exact SOAPAction (quotes around it are ignored).
func OperationBySOAPAction(action string) (Operation, bool) {
	if len(action) >= 2 && action[0] == '"' && action[len(action)-1] == '"' {
		action = action[1 : len(action)-1]
	}
	for _, op := range operations {
		if op.SOAPAction == action {
			return op, true
		}
	}
	return Operation{}, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// RequestSigner is the signing hook of the typed clients: it receives the marshalled request of op and returns
// the bytes to send. For an unsigned operation it returns payload unchanged. Package sign implements it.
type RequestSigner interface {
	SignRequest(ctx context.Context, op Operation, payload []byte) ([]byte, error)
}
