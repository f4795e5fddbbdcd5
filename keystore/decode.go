package keystore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
)

// bag is a decoded safe bag with the attributes we use.
type bag struct {
	kind         asn1.ObjectIdentifier
	value        []byte // the bag value (inner element of the [0] EXPLICIT)
	friendlyName string
	hasName      bool
	localKeyID   []byte
	trusted      bool
}

// Decode reads a PKCS#12 keystore: the ones Encode writes, keytool and the JDK write (modern and legacy
// algorithms), OpenSSL writes, and the connector's BouncyCastle writes (BER, RC2-40 certificates, 3DES keys).
//
// Key entries are the private-key bags, named by their friendlyName (or the hex localKeyId when there is none),
// each with the certificate whose localKeyId matches (else the one with its public key), followed by its issuers
// found in the file up to a self-issued certificate (so an ETK key's chain is its encryption certificate alone).
// Trusted entries are the certificate bags with the JDK's trusted-key-usage attribute; in a file where no bag
// has it (older BouncyCastle, OpenSSL), the bags with a friendlyName and no localKeyId. Other certificates only
// serve to build chains.
//
// A wrong password gives ErrWrongPassword; a damaged file a *FormatError; an unsupported feature an
// *UnsupportedError. Decode never panics on hostile input.
func Decode(data, password []byte) (*Keystore, error) {
	bmpPass, err := bmpPassword(password)
	if err != nil {
		return nil, err
	}
	var pfx pfxPDU
	if err := unmarshalDER(data, &pfx); err != nil {
		return nil, &FormatError{Msg: "not a PFX", Err: err}
	}
	if pfx.Version != 3 {
		return nil, &UnsupportedError{What: fmt.Sprintf("PFX version %d", pfx.Version)}
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, &UnsupportedError{What: "public-key integrity mode (authSafe content type " + pfx.AuthSafe.ContentType.String() + ")"}
	}
	var authSafe []byte
	if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, &FormatError{Msg: "authSafe content", Err: err}
	}
	hasMAC := len(pfx.MacData.Mac.Algorithm.Algorithm) != 0
	if hasMAC {
		if err := verifyMAC(&pfx.MacData, authSafe, bmpPass); err != nil {
			return nil, err
		}
	}
	// failed classifies a failure to decrypt or decode something that was encrypted: without a MAC, the only
	// sign of a wrong password is that decryption gives garbage; with a verified MAC the file is damaged.
	failed := func(what string, err error) error {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return err
		}
		if !hasMAC {
			return ErrWrongPassword
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			return err
		}
		return &FormatError{Msg: what, Err: err}
	}

	var safes []contentInfo
	if err := unmarshalDER(authSafe, &safes); err != nil {
		return nil, &FormatError{Msg: "AuthenticatedSafe", Err: err}
	}
	var bags []bag
	for _, ci := range safes {
		var contents []byte
		encrypted := false
		switch {
		case ci.ContentType.Equal(oidData):
			if err := unmarshalDER(ci.Content.Bytes, &contents); err != nil {
				return nil, &FormatError{Msg: "data content", Err: err}
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if err := unmarshalDER(ci.Content.Bytes, &ed); err != nil {
				return nil, &FormatError{Msg: "encryptedData", Err: err}
			}
			enc, err := implicitOctets(ed.EncryptedContentInfo.EncryptedContent)
			if err != nil {
				return nil, err
			}
			contents, err = decrypt(ed.EncryptedContentInfo.ContentEncryptionAlgorithm, enc, password, bmpPass)
			if err != nil {
				return nil, failed("encrypted certificates", err)
			}
			encrypted = true
		default:
			return nil, &UnsupportedError{What: "AuthenticatedSafe content type " + ci.ContentType.String()}
		}
		got, err := parseSafeContents(contents, 0)
		if err != nil {
			if encrypted {
				return nil, failed("SafeContents", err)
			}
			return nil, err
		}
		bags = append(bags, got...)
	}
	return assemble(bags, password, bmpPass, hasMAC, failed)
}

// implicitOctets returns the octets of an [0] IMPLICIT OCTET STRING, primitive or (in BER) constructed.
func implicitOctets(v asn1.RawValue) ([]byte, error) {
	if v.Class != asn1.ClassContextSpecific || v.Tag != 0 {
		return nil, &FormatError{Msg: "encryptedData without encrypted content"}
	}
	if !v.IsCompound {
		return v.Bytes, nil
	}
	var out []byte
	rest := v.Bytes
	for len(rest) > 0 {
		var seg []byte
		var err error
		if rest, err = asn1.Unmarshal(rest, &seg); err != nil {
			return nil, &FormatError{Msg: "encrypted content", Err: err}
		}
		out = append(out, seg...)
	}
	return out, nil
}

func parseSafeContents(data []byte, depth int) ([]bag, error) {
	if depth > 4 {
		return nil, &FormatError{Msg: "safe contents nested too deeply"}
	}
	var raw []safeBag
	if err := unmarshalDER(data, &raw); err != nil {
		return nil, &FormatError{Msg: "SafeContents", Err: err}
	}
	var out []bag
	for _, sb := range raw {
		if sb.ID.Equal(oidSafeContentsBag) {
			nested, err := parseSafeContents(sb.Value.Bytes, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
			continue
		}
		b := bag{kind: sb.ID, value: sb.Value.Bytes}
		for _, a := range sb.Attributes {
			switch {
			case a.ID.Equal(oidFriendlyName):
				var v asn1.RawValue
				if _, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil || v.Tag != asn1.TagBMPString || len(v.Bytes)%2 != 0 {
					return nil, &FormatError{Msg: "friendlyName attribute", Err: err}
				}
				name, ok := decodeBMP(v.Bytes)
				if !ok {
					return nil, &FormatError{Msg: "friendlyName is not valid UTF-16"}
				}
				b.friendlyName, b.hasName = name, true
			case a.ID.Equal(oidLocalKeyID):
				var id []byte
				if _, err := asn1.Unmarshal(a.Values.Bytes, &id); err != nil {
					return nil, &FormatError{Msg: "localKeyId attribute", Err: err}
				}
				b.localKeyID = id
			case a.ID.Equal(oidJavaTrustedUsage):
				b.trusted = true
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func decodeBMP(b []byte) (string, bool) {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	var runes []rune
	for i := 0; i < len(u); i++ {
		c := rune(u[i])
		switch {
		case c >= 0xD800 && c < 0xDC00:
			if i+1 >= len(u) || u[i+1] < 0xDC00 || u[i+1] >= 0xE000 {
				return "", false
			}
			c = 0x10000 + (c-0xD800)<<10 + (rune(u[i+1]) - 0xDC00)
			i++
		case c >= 0xDC00 && c < 0xE000:
			return "", false
		}
		runes = append(runes, c)
	}
	// A trailing NUL is a terminator some writers include.
	if n := len(runes); n > 0 && runes[n-1] == 0 {
		runes = runes[:n-1]
	}
	return string(runes), true
}

type parsedCert struct {
	bag  *bag
	cert *x509.Certificate
}

func assemble(bags []bag, password, bmpPass []byte, hasMAC bool, failed func(string, error) error) (*Keystore, error) {
	var certs []parsedCert
	for i := range bags {
		b := &bags[i]
		if !b.kind.Equal(oidCertBag) {
			continue
		}
		var cb certBag
		if err := unmarshalDER(b.value, &cb); err != nil {
			return nil, &FormatError{Msg: "certBag", Err: err}
		}
		if !cb.ID.Equal(oidX509Certificate) {
			continue // SDSI certificates are not used
		}
		c, err := x509.ParseCertificate(cb.Data)
		if err != nil {
			return nil, &FormatError{Msg: "certificate " + aliasOf(b), Err: err}
		}
		certs = append(certs, parsedCert{bag: b, cert: c})
	}

	ks := &Keystore{}
	for i := range bags {
		b := &bags[i]
		var pkcs8 []byte
		switch {
		case b.kind.Equal(oidKeyBag):
			pkcs8 = b.value
		case b.kind.Equal(oidShroudedKeyBag):
			var epki encryptedPrivateKeyInfo
			if err := unmarshalDER(b.value, &epki); err != nil {
				return nil, &FormatError{Msg: "EncryptedPrivateKeyInfo", Err: err}
			}
			var err error
			if pkcs8, err = decrypt(epki.Algorithm, epki.EncryptedData, password, bmpPass); err != nil {
				if errors.Is(err, errDecrypt) && hasMAC {
					// The MAC verified, so the store password is right: the key has another password.
					return nil, fmt.Errorf("keystore: key %q: %w", aliasOf(b), ErrWrongPassword)
				}
				return nil, failed("key "+aliasOf(b), err)
			}
		default:
			continue
		}
		key, err := parsePrivateKey(pkcs8)
		if b.kind.Equal(oidShroudedKeyBag) {
			clear(pkcs8)
			if err != nil {
				return nil, failed("key "+aliasOf(b), err)
			}
		}
		if err != nil {
			return nil, err
		}
		e := KeyEntry{Alias: aliasOf(b), Key: key}
		if leaf := findLeaf(certs, b.localKeyID, key); leaf != nil {
			e.Chain = buildChain(leaf, certs)
		}
		ks.Keys = append(ks.Keys, e)
	}

	// The JDK marks trusted certificates with its trusted-key-usage attribute and gives the other certificates of
	// key chains a friendlyName too; writers that do not know the attribute (older BouncyCastle, OpenSSL) mark a
	// certificate entry only by a friendlyName without localKeyId. So: if any certificate carries the attribute,
	// only those are trusted entries; otherwise the named certificates without localKeyId are.
	javaMarks := false
	for _, pc := range certs {
		javaMarks = javaMarks || pc.bag.trusted
	}
	for _, pc := range certs {
		b := pc.bag
		if javaMarks && !b.trusted || !javaMarks && !(b.hasName && b.localKeyID == nil) {
			continue
		}
		alias := b.friendlyName
		if !b.hasName {
			a, err := TrustedAlias(pc.cert)
			if err != nil {
				return nil, &FormatError{Msg: "trusted certificate subject", Err: err}
			}
			alias = a
		}
		ks.Trusted = append(ks.Trusted, TrustedEntry{Alias: alias, Certificate: pc.cert})
	}
	return ks, nil
}

func aliasOf(b *bag) string {
	if b.hasName {
		return b.friendlyName
	}
	return hex.EncodeToString(b.localKeyID)
}

func parsePrivateKey(der []byte) (crypto.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, &FormatError{Msg: "PKCS#8 private key", Err: err}
	}
	return k, nil
}

// findLeaf returns the certificate linked to a key: by localKeyId, else by public key.
func findLeaf(certs []parsedCert, id []byte, key crypto.PrivateKey) *x509.Certificate {
	if id != nil {
		for _, pc := range certs {
			if pc.bag.localKeyID != nil && bytes.Equal(pc.bag.localKeyID, id) {
				return pc.cert
			}
		}
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil
	}
	for _, pc := range certs {
		if bytes.Equal(pc.cert.RawSubjectPublicKeyInfo, pub) {
			return pc.cert
		}
	}
	return nil
}

// buildChain follows issuers from leaf among the file's certificates, as the JDK does, stopping at a self-issued
// certificate. Among several certificates with the issuer's name, one whose key verifies the signature wins.
func buildChain(leaf *x509.Certificate, certs []parsedCert) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	seen := map[string]bool{string(leaf.Raw): true}
	cur := leaf
	for len(chain) < 16 && !bytes.Equal(cur.RawIssuer, cur.RawSubject) {
		var next *x509.Certificate
		for _, pc := range certs {
			c := pc.cert
			if seen[string(c.Raw)] || !bytes.Equal(c.RawSubject, cur.RawIssuer) {
				continue
			}
			if c.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil {
				next = c
				break
			}
			if next == nil {
				next = c
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		seen[string(next.Raw)] = true
		cur = next
	}
	return chain
}
