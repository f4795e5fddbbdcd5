// Package sign makes and checks the enveloped XML signatures that the eHealth CertRA v2 and EtkRA v2
// services require (cookbook 001 §4.3.2, FACTS §5), from every kind of key a user has.
//
// # Signing
//
// A [Key] is a crypto.Signer plus its certificate chain. Keys come from PEM files ([LoadPEM]), from the
// PKCS#12 keystore the eHealth connector writes ([LoadPKCS12]), from any signer the caller holds ([NewKey]:
// a KMS, an HSM) or from a PKCS#11 token such as the Belgian eID (package sign/pkcs11). [Enveloped] signs
// the marshalled bytes of a request and returns them with a ds:Signature appended to the root element:
// exclusive c14n, rsa-sha256 (ecdsa-sha256 / ecdsa-sha384 for EC keys, with XML-DSig's raw r||s values),
// one Reference to the root Id with the enveloped-signature and exc-c14n transforms and a SHA-256 digest,
// and the chain (root excluded) in one X509Data. Nothing else in the payload changes, byte for byte.
//
// [Keyring] holds a user's eID Authentication, eID Signature and eHealth authentication keys and signs each
// operation with the key the platform demands; it is the ehealth.RequestSigner the typed clients call. A
// missing key is a *[MissingKeyError], returned before anything is sent.
//
// The signer reads the payload once: an exclusive canonicalizer written for this package
// (sign/internal/excc14n) computes the digest and finds the root's end in one pass, and SignedInfo is
// written directly in its canonical form. That canonicalizer follows the exclusive C14N specification as
// xmlsec1 and Apache Santuario do (it is tested against xmllint --exc-c14n and xmlsec1); it is the only one,
// so input it cannot canonicalize exactly (not well-formed or not namespace-well-formed XML 1.0, not UTF-8,
// a DOCTYPE, a relative namespace URI, more than 256 nested elements or attributes) is refused with a
// *[PayloadError], never signed approximately. The cost of a signature stays close to the cost of the RSA
// operation itself (see the benchmarks).
//
// # Verifying
//
// [Verifier] checks a signed request the way the platform should, with the same canonicalizer: the
// SignatureValue over the canonical SignedInfo, then the Reference read from that canonical SignedInfo, then
// the SHA-256 digest of the canonical root without its Signature. Only that canonical root, parsed, is
// handed back ([Verified].Element), which defeats signature wrapping; around it, Verify enforces the profile
// (one Signature, last child of the root, one Reference to the root Id, the algorithms above, no Object, no
// duplicate Id values) and verifies the X509Data chain against the caller's roots at the caller's time with
// crypto/x509. Every failure is a *[VerifyError] whose [Reason] says what went wrong; testdata/wrapping holds
// the signature-wrapping shapes it rejects.
//
// Keys, PINs and passwords never appear in errors or logs; this package logs nothing.
package sign
