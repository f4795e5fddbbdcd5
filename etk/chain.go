package etk

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// maxChainDepth bounds the legacy path builder (leaf, intermediates and anchor).
const maxChainDepth = 8

// maxSignatureChecks bounds the signature checks of one legacy path search, so that a hostile ETK with many
// look-alike CA certificates cannot make the search exponential (crypto/x509 has a similar budget).
const maxSignatureChecks = 100

// errNoAnchors is reported when a chain must be checked but the caller configured no anchors for it.
var errNoAnchors = errors.New("no trust anchors configured")

// chainResult is a verified path, leaf first, anchor last.
type chainResult struct {
	chain  []*x509.Certificate
	legacy bool // the path ends at a legacy anchor (SHA-1 accepted)
}

// verifyChain builds a path from leaf to an anchor at time at. It first asks crypto/x509 with roots (which
// refuses SHA-1 signatures); if that fails and legacy anchors are given, it runs our own path builder, which
// accepts SHA-1 signatures but only for paths that end at one of those anchors.
func verifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, legacy []*x509.Certificate, at time.Time) (chainResult, error) {
	if roots == nil && len(legacy) == 0 {
		return chainResult{}, errNoAnchors
	}
	var errs []error
	if roots != nil {
		pool := x509.NewCertPool()
		for _, c := range intermediates {
			pool.AddCert(c)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: pool,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil && len(chains) > 0 {
			return chainResult{chain: chains[0]}, nil
		}
		errs = append(errs, err)
	}
	if len(legacy) > 0 {
		chain, err := legacyPath(leaf, intermediates, legacy, at)
		if err == nil {
			return chainResult{chain: chain, legacy: true}, nil
		}
		errs = append(errs, fmt.Errorf("legacy anchors: %w", err))
	}
	return chainResult{}, errors.Join(errs...)
}

// legacyPath is a small RFC 5280-style path builder for legacy anchors. It checks, for every certificate of the
// path: the signature by the next one (SHA-1 allowed, MD5 refused), validity at time at, no unhandled critical
// extension; for every issuer: CA basic constraints (anchors without basic constraints are accepted, as
// self-signed v1 roots), keyCertSign when a key usage is present, and the path length constraint. Name
// constraints are not supported: a CA that carries them ends the path with an error.
func legacyPath(leaf *x509.Certificate, intermediates, anchors []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	var lastErr error
	checks := 0
	note := func(err error) {
		if lastErr == nil || errRank(err) > errRank(lastErr) {
			lastErr = err
		}
	}
	// budget counts the candidate issuers whose name matches (a signature check follows).
	budget := func(child, parent *x509.Certificate) bool {
		if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
			return true
		}
		checks++
		return checks <= maxSignatureChecks
	}
	var walk func(path []*x509.Certificate) []*x509.Certificate
	walk = func(path []*x509.Certificate) []*x509.Certificate {
		cur := path[len(path)-1]
		if err := usableAt(cur, at); err != nil {
			note(err)
			return nil
		}
		for _, a := range anchors {
			if bytes.Equal(a.Raw, cur.Raw) {
				return path
			}
		}
		if len(path) >= maxChainDepth {
			note(errors.New("path too long"))
			return nil
		}
		below := len(path) - 1 // intermediates between the candidate issuer and the leaf
		for _, a := range anchors {
			if !budget(cur, a) {
				return nil
			}
			if err := canIssue(cur, a, below, true); err != nil {
				note(err)
				continue
			}
			if err := usableAt(a, at); err != nil {
				note(err)
				continue
			}
			return append(path, a)
		}
		for _, c := range intermediates {
			if containsCert(path, c) {
				continue
			}
			if !budget(cur, c) {
				return nil
			}
			if err := canIssue(cur, c, below, false); err != nil {
				note(err)
				continue
			}
			if p := walk(append(path[:len(path):len(path)], c)); p != nil {
				return p
			}
		}
		return nil
	}
	if p := walk([]*x509.Certificate{leaf}); p != nil {
		return p, nil
	}
	if checks > maxSignatureChecks {
		return nil, fmt.Errorf("gave up after too many signature checks (%d)", maxSignatureChecks)
	}
	if lastErr == nil || lastErr == errNotIssuer {
		return nil, fmt.Errorf("no path from %q to a legacy anchor", leaf.Subject.String())
	}
	return nil, lastErr
}

var errNotIssuer = errors.New("not the issuer")

// errRank orders path-building errors by how much they tell: a plain name mismatch least, then a signature
// that does not verify, then any other reason.
func errRank(err error) int {
	switch {
	case err == errNotIssuer:
		return 0
	case errors.Is(err, errNotIssuer):
		return 1
	default:
		return 2
	}
}

// canIssue checks that parent issued child and may do so with below intermediate CAs under it.
func canIssue(child, parent *x509.Certificate, below int, anchor bool) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return errNotIssuer
	}
	if err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature); err != nil {
		return fmt.Errorf("%w: signature of %q by %q: %v", errNotIssuer, child.Subject.String(), parent.Subject.String(), err)
	}
	if parent.BasicConstraintsValid {
		if !parent.IsCA {
			return fmt.Errorf("issuer %q is not a CA", parent.Subject.String())
		}
		if (parent.MaxPathLen > 0 || parent.MaxPathLenZero) && below > parent.MaxPathLen {
			return fmt.Errorf("path length constraint of %q exceeded", parent.Subject.String())
		}
	} else if !anchor {
		return fmt.Errorf("intermediate %q has no basic constraints", parent.Subject.String())
	}
	if parent.KeyUsage != 0 && parent.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("issuer %q may not sign certificates (key usage)", parent.Subject.String())
	}
	if len(parent.PermittedDNSDomains)+len(parent.ExcludedDNSDomains)+len(parent.PermittedIPRanges)+
		len(parent.ExcludedIPRanges)+len(parent.PermittedEmailAddresses)+len(parent.ExcludedEmailAddresses)+
		len(parent.PermittedURIDomains)+len(parent.ExcludedURIDomains) > 0 {
		return fmt.Errorf("issuer %q has name constraints, not supported below legacy anchors", parent.Subject.String())
	}
	return nil
}

// usableAt checks the validity period and unhandled critical extensions of c.
func usableAt(c *x509.Certificate, at time.Time) error {
	if at.Before(c.NotBefore) {
		return x509.CertificateInvalidError{Cert: c, Reason: x509.Expired, Detail: fmt.Sprintf("not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))}
	}
	if at.After(c.NotAfter) {
		return x509.CertificateInvalidError{Cert: c, Reason: x509.Expired, Detail: fmt.Sprintf("expired at %s", c.NotAfter.UTC().Format(time.RFC3339))}
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		return fmt.Errorf("%q has an unhandled critical extension %v", c.Subject.String(), c.UnhandledCriticalExtensions[0])
	}
	return nil
}

// clampTime returns t moved into c's validity period, so that a chain check at that time judges trust only,
// while the validity of c itself is reported separately.
func clampTime(t time.Time, c *x509.Certificate) time.Time {
	if t.Before(c.NotBefore) {
		return c.NotBefore
	}
	if t.After(c.NotAfter) {
		return c.NotAfter
	}
	return t
}
