package keystore

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509Certificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidLocalKeyID        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidJavaTrustedUsage  = asn1.ObjectIdentifier{2, 16, 840, 1, 113894, 746875, 1, 1}
	oidAnyExtendedKeyUse = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
)

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo encryptedContentInfo
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           asn1.RawValue `asn1:"tag:0,optional"`
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue     `asn1:"tag:0,explicit"`
	Attributes []pkcs12Attribute `asn1:"set,optional"`
}

type pkcs12Attribute struct {
	ID     asn1.ObjectIdentifier
	Values asn1.RawValue
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// explicit0 wraps a DER element in an [0] EXPLICIT tag. encoding/asn1 does not apply a field's explicit tag to
// an asn1.RawValue, so the wrapper is built by hand.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// attribute builds a PKCS#12 attribute whose SET OF holds the given DER values.
func attribute(id asn1.ObjectIdentifier, values ...[]byte) pkcs12Attribute {
	return pkcs12Attribute{ID: id, Values: asn1.RawValue{
		Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(values, nil),
	}}
}

func friendlyName(alias string) (pkcs12Attribute, error) {
	u := utf16.Encode([]rune(alias))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: b})
	if err != nil {
		return pkcs12Attribute{}, err
	}
	return attribute(oidFriendlyName, v), nil
}

func localKeyID(id []byte) (pkcs12Attribute, error) {
	v, err := asn1.Marshal(id)
	if err != nil {
		return pkcs12Attribute{}, err
	}
	return attribute(oidLocalKeyID, v), nil
}

func newCertBag(cert *x509.Certificate, attrs []pkcs12Attribute) (safeBag, error) {
	v, err := asn1.Marshal(certBag{ID: oidX509Certificate, Data: cert.Raw})
	if err != nil {
		return safeBag{}, err
	}
	return safeBag{ID: oidCertBag, Value: explicit0(v), Attributes: attrs}, nil
}

// Encode writes ks as a PKCS#12 file protected by password, used for the store and every key. The password must
// be printable ASCII (ErrPasswordNotASCII otherwise): the JDK's PBES2 implementation refuses any other password
// ("Password is not ASCII"), so keytool and a connector using the JDK provider could not open the file. rand
// supplies the salts and IVs. Every key entry needs a certificate matching its key; aliases must be
// unique, ignoring case, across key and trusted entries (the JDK folds them to lower case).
func Encode(rand io.Reader, ks *Keystore, password []byte) ([]byte, error) {
	if ks == nil {
		ks = &Keystore{}
	}
	for _, c := range password {
		if c < 0x20 || c > 0x7e {
			return nil, ErrPasswordNotASCII
		}
	}
	bmpPass, err := bmpPassword(password)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	checkAlias := func(a string) error {
		k := strings.ToLower(a)
		if seen[k] {
			return fmt.Errorf("keystore: duplicate alias %q", a)
		}
		seen[k] = true
		return nil
	}

	var certBags, keyBags []safeBag
	written := map[string]bool{} // chain certificates already written without attributes
	ids := map[string]bool{}
	for i := range ks.Keys {
		e := &ks.Keys[i]
		if err := checkKeyEntry(e); err != nil {
			return nil, err
		}
		if err := checkAlias(e.Alias); err != nil {
			return nil, err
		}
		sum := sha1.Sum(e.Chain[0].Raw)
		id := sum[:]
		if ids[string(id)] {
			return nil, fmt.Errorf("keystore: key entries %q and another share one certificate", e.Alias)
		}
		ids[string(id)] = true
		fn, err := friendlyName(e.Alias)
		if err != nil {
			return nil, err
		}
		lk, err := localKeyID(id)
		if err != nil {
			return nil, err
		}
		attrs := []pkcs12Attribute{fn, lk}

		leaf, err := newCertBag(e.Chain[0], attrs)
		if err != nil {
			return nil, err
		}
		certBags = append(certBags, leaf)
		for _, c := range e.Chain[1:] {
			if written[string(c.Raw)] {
				continue
			}
			written[string(c.Raw)] = true
			b, err := newCertBag(c, nil)
			if err != nil {
				return nil, err
			}
			certBags = append(certBags, b)
		}

		pkcs8, err := x509.MarshalPKCS8PrivateKey(e.Key)
		if err != nil {
			return nil, fmt.Errorf("keystore: key entry %q: %w", e.Alias, err)
		}
		alg, enc, err := encryptPBES2(rand, pkcs8, password)
		clear(pkcs8)
		if err != nil {
			return nil, err
		}
		epki, err := asn1.Marshal(encryptedPrivateKeyInfo{Algorithm: alg, EncryptedData: enc})
		if err != nil {
			return nil, err
		}
		keyBags = append(keyBags, safeBag{ID: oidShroudedKeyBag, Value: explicit0(epki), Attributes: attrs})
	}

	anyEKU, err := asn1.Marshal(oidAnyExtendedKeyUse)
	if err != nil {
		return nil, err
	}
	for _, t := range ks.Trusted {
		if t.Alias == "" || t.Certificate == nil {
			return nil, fmt.Errorf("keystore: trusted entry %q needs an alias and a certificate", t.Alias)
		}
		if err := checkAlias(t.Alias); err != nil {
			return nil, err
		}
		fn, err := friendlyName(t.Alias)
		if err != nil {
			return nil, err
		}
		b, err := newCertBag(t.Certificate, []pkcs12Attribute{fn, attribute(oidJavaTrustedUsage, anyEKU)})
		if err != nil {
			return nil, err
		}
		certBags = append(certBags, b)
	}

	var safes []contentInfo
	if len(certBags) > 0 {
		sc, err := asn1.Marshal(certBags)
		if err != nil {
			return nil, fmt.Errorf("keystore: encode certificates: %w", err)
		}
		alg, enc, err := encryptPBES2(rand, sc, password)
		if err != nil {
			return nil, err
		}
		ed, err := asn1.Marshal(encryptedData{Version: 0, EncryptedContentInfo: encryptedContentInfo{
			ContentType:                oidData,
			ContentEncryptionAlgorithm: alg,
			EncryptedContent:           asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: enc},
		}})
		if err != nil {
			return nil, err
		}
		safes = append(safes, contentInfo{ContentType: oidEncryptedData, Content: explicit0(ed)})
	}
	if len(keyBags) > 0 {
		sc, err := asn1.Marshal(keyBags)
		if err != nil {
			return nil, fmt.Errorf("keystore: encode keys: %w", err)
		}
		os, err := asn1.Marshal(sc)
		if err != nil {
			return nil, err
		}
		safes = append(safes, contentInfo{ContentType: oidData, Content: explicit0(os)})
	}
	if safes == nil {
		safes = []contentInfo{}
	}
	authSafe, err := asn1.Marshal(safes)
	if err != nil {
		return nil, err
	}
	mac, err := newMAC(rand, bmpPass, authSafe)
	if err != nil {
		return nil, err
	}
	authOS, err := asn1.Marshal(authSafe)
	if err != nil {
		return nil, err
	}
	pfx, err := asn1.Marshal(pfxPDU{
		Version:  3,
		AuthSafe: contentInfo{ContentType: oidData, Content: explicit0(authOS)},
		MacData:  mac,
	})
	if err != nil {
		return nil, fmt.Errorf("keystore: encode: %w", err)
	}
	return pfx, nil
}
