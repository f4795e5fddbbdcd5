package sign_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
)

// ExampleEnveloped signs a marshalled request with a key read from PEM files.
func ExampleEnveloped() {
	keyPEM, _ := os.ReadFile("testdata/pki/rsa.key")
	chainPEM, _ := os.ReadFile("testdata/pki/rsa.chain.pem")
	key, err := sign.LoadPEM(keyPEM, chainPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	request := []byte(`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" ` +
		`Id="_3f2b8c4e-6a1d-4e0f-9b7a-2c5d8e1f4a60" IssueInstant="2026-03-02T10:15:30+01:00">` +
		`<SSIN Type="SSIN">71715100070</SSIN></GetActorQualitiesRequest>`)
	signed, err := sign.Enveloped(key, request)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The signed bytes go into the SOAP Body as they are; they are never marshalled again.
	fmt.Println(len(signed) > len(request), string(signed[:len(`<GetActorQualitiesRequest`)]))
	// Output: true <GetActorQualitiesRequest
}

// ExampleVerifier_Verify checks a signed request against a trusted root at a given time, then reads the
// request from the verified element only.
func ExampleVerifier_Verify() {
	rootPEM, _ := os.ReadFile("testdata/pki/root.pem")
	block, _ := pem.Decode(rootPEM)
	root, _ := x509.ParseCertificate(block.Bytes)
	roots := x509.NewCertPool()
	roots.AddCert(root)

	v := &sign.Verifier{
		Roots: roots,
		Now:   func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	doc, _ := os.ReadFile("testdata/wrapping/valid.xml")
	got, err := v.Verify(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Signer.Subject.CommonName)
	fmt.Println(got.Element.FindElement("./SSIN").Text())

	// A rejected document says why.
	tampered, _ := os.ReadFile("testdata/wrapping/31-tampered-content.xml")
	_, err = v.Verify(tampered)
	fmt.Println(errors.Is(err, sign.BadDigest))
	// Output:
	// Alice Test (Authentication)
	// 71715100070
	// true
}

// ExampleKeyring_SignRequest signs each operation with the key the platform requires for it.
func ExampleKeyring_SignRequest() {
	keyPEM, _ := os.ReadFile("testdata/pki/p384.key")
	chainPEM, _ := os.ReadFile("testdata/pki/p384.chain.pem")
	eidSignature, _ := sign.LoadPEM(keyPEM, chainPEM)

	ring := &sign.Keyring{EIDSignature: eidSignature}
	var signer ehealth.RequestSigner = ring

	revoke := []byte(`<RevokeRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_r1" IssueInstant="2026-03-02T10:20:00Z"></RevokeRequest>`)
	if _, err := signer.SignRequest(context.Background(), ehealth.Revoke, revoke); err == nil {
		fmt.Println("Revoke signed with the eID Signature key")
	}
	_, err := signer.SignRequest(context.Background(), ehealth.GetActorQualities, []byte(`<x/>`))
	var missing *sign.MissingKeyError
	if errors.As(err, &missing) {
		fmt.Println(missing.Need)
	}
	// Output:
	// Revoke signed with the eID Signature key
	// eID Authentication key
}
