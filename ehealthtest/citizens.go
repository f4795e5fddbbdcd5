package ehealthtest

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ehcert/ehcert/ehealthtest/internal/pki"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// Citizen returns the default test citizen's eID (DefaultCitizenSSIN, managing DefaultOrganization).
func (s *Server) Citizen() *EID {
	eid, err := s.LookupCitizen(DefaultCitizenSSIN)
	if err != nil {
		panic("ehealthtest: default citizen missing: " + err.Error())
	}
	return eid
}

// NewCitizen registers a test citizen with a new software eID and the organisations they manage, and returns
// the eID. Its keys are of Options.EIDKeyType (RSA2048 by default); NewCitizenWithKeyType chooses. It panics on
// an invalid SSIN or organisation, or when the SSIN is taken (misuse of a test helper); AddCitizen returns these
// as errors instead.
func (s *Server) NewCitizen(ssin, firstName, lastName string, orgs ...Organization) *EID {
	return s.NewCitizenWithKeyType(s.opts.EIDKeyType, ssin, firstName, lastName, orgs...)
}

// NewCitizenWithKeyType is NewCitizen with eID keys of the given type: ECDSAP384 gives the citizen an eID like
// current Belgian cards, whose requests are signed with ecdsa-sha384.
func (s *Server) NewCitizenWithKeyType(keyType KeyType, ssin, firstName, lastName string, orgs ...Organization) *EID {
	eid, err := s.AddCitizenWithKeyType(keyType, ssin, firstName, lastName, orgs...)
	if err != nil {
		panic(err.Error())
	}
	return eid
}

// AddCitizen is NewCitizen returning errors.
func (s *Server) AddCitizen(ssin, firstName, lastName string, orgs ...Organization) (*EID, error) {
	return s.AddCitizenWithKeyType(s.opts.EIDKeyType, ssin, firstName, lastName, orgs...)
}

// AddCitizenWithKeyType is NewCitizenWithKeyType returning errors.
func (s *Server) AddCitizenWithKeyType(keyType KeyType, ssin, firstName, lastName string, orgs ...Organization) (*EID, error) {
	if !keyType.valid() {
		return nil, fmt.Errorf("ehealthtest: unknown eID key type %v", keyType)
	}
	if !validSSIN(ssin) {
		return nil, fmt.Errorf("ehealthtest: invalid SSIN %q (11 digits with a modulo-97 check)", ssin)
	}
	firstName, lastName = strings.TrimSpace(firstName), strings.TrimSpace(lastName)
	if firstName == "" || lastName == "" {
		return nil, errors.New("ehealthtest: a citizen needs a first and a last name")
	}
	norm := make([]Organization, 0, len(orgs))
	for _, o := range orgs {
		n, err := normalizeOrganization(o)
		if err != nil {
			return nil, fmt.Errorf("ehealthtest: organisation %+v: %w", o, err)
		}
		norm = append(norm, n)
	}
	return s.addCitizen(keyType, ssin, firstName, lastName, norm)
}

func (s *Server) addCitizen(keyType KeyType, ssin, first, last string, orgs []Organization) (*EID, error) {
	s.mu.Lock()
	taken := s.state.citizen(ssin) != nil
	s.mu.Unlock()
	if taken {
		return nil, fmt.Errorf("ehealthtest: citizen %s already exists", ssin)
	}
	r := s.opts.Rand
	var keys [2]crypto.Signer
	var certs [2]*x509.Certificate
	now := s.clock.Now()
	for i, role := range []string{roleAuthentication, roleSignature} {
		k, err := keyType.newKey(r)
		if err != nil {
			return nil, err
		}
		c, err := issueEIDCert(r, s.eidCA, k.Public(), ssin, first, last, role, now)
		if err != nil {
			return nil, err
		}
		keys[i], certs[i] = k, c
	}
	rec := &citizenRecord{SSIN: ssin, FirstName: first, LastName: last, Organizations: orgs,
		AuthCert: certs[0].Raw, SignCert: certs[1].Raw}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.citizen(ssin) != nil {
		return nil, fmt.Errorf("ehealthtest: citizen %s already exists", ssin)
	}
	if dir := s.opts.StateDir; dir != "" {
		for i, role := range []string{"authentication", "signature"} {
			pemKey, err := pki.KeyPEM(keys[i])
			if err != nil {
				return nil, err
			}
			if err := atomicfile.WriteFile(filepath.Join(dir, citizensDir, ssin+"-"+role+".key"), pemKey, 0o600); err != nil {
				return nil, fmt.Errorf("ehealthtest: save citizen key: %w", err)
			}
		}
	}
	s.state.Citizens = append(s.state.Citizens, rec)
	s.citizenKeys[ssin] = keys
	if err := s.saveLocked(); err != nil {
		return nil, err
	}
	return s.eidLocked(rec)
}

// LookupCitizen returns the eID of a registered citizen.
func (s *Server) LookupCitizen(ssin string) (*EID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.state.citizen(ssin)
	if rec == nil {
		return nil, fmt.Errorf("ehealthtest: no citizen %s", ssin)
	}
	return s.eidLocked(rec)
}

// Citizens returns every registered citizen's eID.
func (s *Server) Citizens() []*EID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*EID
	for _, rec := range s.state.Citizens {
		if e, err := s.eidLocked(rec); err == nil {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) eidLocked(rec *citizenRecord) (*EID, error) {
	keys, ok := s.citizenKeys[rec.SSIN]
	if !ok {
		return nil, fmt.Errorf("ehealthtest: no keys for citizen %s", rec.SSIN)
	}
	auth, err := x509.ParseCertificate(rec.AuthCert)
	if err != nil {
		return nil, err
	}
	sig, err := x509.ParseCertificate(rec.SignCert)
	if err != nil {
		return nil, err
	}
	return &EID{
		SSIN: rec.SSIN, FirstName: rec.FirstName, LastName: rec.LastName,
		Organizations: append([]Organization(nil), rec.Organizations...),
		Authentication: &Key{Signer: keys[0], Certificates: []*x509.Certificate{auth, s.eidCA.Cert},
			fullChain: []*x509.Certificate{auth, s.eidCA.Cert, s.root.Cert}},
		Signature: &Key{Signer: keys[1], Certificates: []*x509.Certificate{sig, s.eidCA.Cert},
			fullChain: []*x509.Certificate{sig, s.eidCA.Cert, s.root.Cert}},
	}, nil
}
