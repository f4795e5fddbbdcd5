// Package etkdepot is a client of the eHealth ETK Depot REST API (etee/v1): the ETKs (end-to-end encryption
// tokens), JWK sets and key holders of known recipients (cookbook "ETEE Known recipient – ETK Depot REST" v1.3).
//
// The HTTP layer is the oapi-codegen client of package gen/etkdepot, generated from ehcert's OpenAPI description
// in openapi/etkdepot-v1.yaml. This package adds what a caller needs around it:
//
//   - identifiers normalised to their type's length (FACTS §7) before a lookup, unknown types refused;
//   - the tracing headers User-Agent and From (cookbook §5.1.2), checked before anything is sent;
//   - bounded response bodies (*ResponseTooLargeError) and typed errors for HTTP 400/500 (*APIError);
//   - ETKs handed out only after they validated for the identifier they are registered under: by package etk
//     (CMS signature of the ETK-RA, encryption certificate signed by the holder's authentication key, equal
//     subjects, validity, key usages, chains to caller-given anchors, holder identity) with Client.ETKOptions
//     or Client.Roots, or by a validator of the caller's (Client.ValidateETK, ETKValidator); and a Select
//     helper for answers with several application ids (*AmbiguousError);
//   - JWK sets parsed with go-jose and verified: x5c chain to caller-given roots at a given time, x5t#S256
//     against the certificate, key against the certificate, a kid → key map (ParseJWKS, Client.JWKS). The x5c
//     of an encryption key is [encryption certificate, authentication certificate, CAs]: the encryption
//     certificate, signed by the holder's (non-CA) authentication key, is checked as the ETK checks do
//     (*EncryptionKeyError says why one is refused) and the authentication certificate as an X.509 path;
//   - a cache (Cache, MemoryCache, DirCache) with a time to live per entry, stale answers served (flagged) when
//     the depot fails, concurrent misses for one lookup coalesced into one request, and rate-limited refetches
//     of a JWK set when an unknown kid is asked for (Client.KeyByID).
//
// A Client is a struct literal:
//
//	c := &etkdepot.Client{
//		BaseURL:   etkdepot.ProductionURL,
//		UserAgent: "myProduct/1.2.0 ehcert/0.1",
//		From:      "ops@example.be",
//		Cache:     etkdepot.DirCache("/var/cache/myproduct/etk"),
//		Roots:     roots, // eHealth anchors: x5c chains, and the ETKs' authentication and ETK-RA chains
//	}
//	entries, err := c.ETKs(ctx, "CBE", "820563481", "")
//
// Where the API is not public (error bodies, the name of the lookup-time parameter, the body of the kid
// lookup), the choices are written down in openapi/etkdepot-v1.yaml and repeated on the fields and methods
// concerned.
package etkdepot
