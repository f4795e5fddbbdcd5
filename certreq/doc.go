// Package certreq handles eHealth distinguished names and certificate requests (FACTS §3, §6, §7).
//
// The connector builds an RFC 2253 string (Subject.DN) in a fixed order, with `\=` and `\,` escapes:
//
//	CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE
//
// For normal (eID-signed) requests the CSR subject is not built locally: it is the server's Contract/DN, which
// ParseDN reads whether its `=` are escaped or not, NewCSR encodes like javax.security.auth.x500.X500Principal
// (DER order C, O, OU..., CN; PrintableString where possible, else UTF8String) and EscapeContractDN rewrites
// before it goes back in GenerateCertificate. CheckCSR is the server's view of a request, with the eHealth error
// codes. PublicKeyIdentifier is the 20-byte key id GenerateCertificate returns and GetCertificate takes.
// IdentityOf reads the eHealth identity back from a certificate, in either RDN order.
package certreq
