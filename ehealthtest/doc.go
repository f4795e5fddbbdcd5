// Package ehealthtest is a local eHealth platform for tests and demos: CertRA v2 and EtkRA v2 (SOAP 1.1) and the
// ETK Depot REST API (etee/v1), served over TLS on a loopback port, with its own test PKI. It is to the eHealth
// certificate services what net/http/httptest is to HTTP: a real server, started in a few lines.
//
//	srv := ehealthtest.NewServer(t)                // started; closed by t.Cleanup
//	eid := srv.Citizen()                           // a test citizen's software eID
//	c := &certra.Client{
//		SOAP:     &soap.Client{HTTPClient: srv.Client()},
//		Endpoint: srv.Environment().CertRA,
//		Signer:   eid.Keyring(),
//	}
//
// # What it checks
//
// Every SOAP request is checked as the platform does. An HTTP POST of text/xml holding a well-formed SOAP 1.1
// Envelope (no DOCTYPE, no attribute given twice) with one Body child, which must be a request of the endpoint's service, sent with that request's
// SOAPAction; otherwise the answer is a SOAP Fault (HTTP 500) whose detail carries SOA-03001 (malformed content),
// SOA-03002 (not SOAP) or SOA-03003 (no Body). Signed requests are verified with sign.Verifier against Roots: the
// profile's algorithms, the Reference to the root Id, the chain, and the kind of key the operation needs — a test
// eID "Authentication" or "Signature" certificate (told apart by key usage and CN, like Belgian eID
// certificates) or an eHealth authentication certificate issued and registered by this platform. GetActorQualities
// requires the signer's SSIN. IssueInstant must be at most Options.MaxRequestAge old and at most
// Options.MaxClockSkew in the future. Business errors are answered with a non-success core:Status carrying the
// eHealth error codes of cookbook 001 §7.1 in EteeStatusDetail.
//
// # What it does
//
// The state machine follows the cookbook: actor qualities per citizen (natural person plus the organisations
// they manage), generic organisation types with their validation rules, existing application ids (an xsi:nil
// entry for a certificate without one), contracts bound to their request (DN per FACTS §7, HTML text), CSR
// checks (certreq.CheckCSR against the contract DN; unique key; a valid certificate outside its replacement
// period blocks a new one), automatic or manual validation (Approve), delivery after Options.IssueAfterPolls
// polls and Options.IssueDelay, real ETK registration challenges (etk.NewChallenge) and encryption certificate
// checks (etk.CheckEncryptionCertificate), ETKs built with etk.Build and signed by the platform's ETK-RA key,
// activation of replacement ETKs, revocation with a revocation contract, foreigners confirming on a validation
// page (ConfirmForeigner), and certificate information reflecting all of it. The ETK Depot serves what EtkRA
// registered, in the JSON shapes of openapi/etkdepot-v1.yaml: 200 with the (possibly empty) list or set, 400 for a
// malformed query and 404 for an unknown kid or path, with a {code, message} error body.
//
// # Test controls
//
// Test citizens' software eIDs have RSA-2048 keys by default. Options.EIDKeyType (WithEIDKeyType) and
// NewCitizenWithKeyType give them ECDSA P-384 keys like current Belgian eID cards; their requests are signed
// with ecdsa-sha384 and verified like any other.
//
// Clock moves the platform's time (validity, replacement periods, expiry). Inject makes an operation or a REST
// endpoint fail in one of the ways networks and proxies fail (Fault). Its Rewrite kind alters the answers
// instead: a test makes the platform send what a later schema adds (elements, attributes, enumeration values,
// status codes) and checks that a client still reads what it knows, or that regenerated bindings read the new
// items. Requests records every exchange, with the SOAP response payloads that tests can validate against the
// official XSDs and the REST status, header and body that they can check against openapi/etkdepot-v1.yaml.
// Options.StateDir makes the platform durable: the CLI's simulator keeps its PKI, citizens and state across
// restarts.
//
// Everything here is for testing: the keys are generated locally and are worthless outside this server.
package ehealthtest
