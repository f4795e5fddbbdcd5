package certreq_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/ehcert/ehcert/certreq"
)

func ExampleSubject_DN() {
	person := certreq.NaturalPersonSubject("12345678901", "Jean-François", "Dupré")
	dn, err := person.DN()
	if err != nil {
		panic(err)
	}
	fmt.Println(dn)

	org := certreq.OrganizationSubject("CBE", "0809394427", "eHealth-platform", "iamacc")
	dn, err = org.DN()
	if err != nil {
		panic(err)
	}
	fmt.Println(dn)
	// Output:
	// CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JEAN-FRANCOIS DUPRE,OU=SSIN\=12345678901,O=Federal Government,C=BE
	// CN=CBE\=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,OU=IAMACC,O=Federal Government,C=BE
}

func ExampleNewCSR() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	// The DN comes from GenerateContractResponse/Contract/DN, escaped or not.
	contractDN := `CN=SSIN=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN=12345678901,O=Federal Government,C=BE`
	der, err := certreq.NewCSR(rand.Reader, key, contractDN)
	if err != nil {
		panic(err)
	}
	// What goes back in GenerateCertificateRequest/EHealthCSR/Contract/DN:
	fmt.Println(certreq.EscapeContractDN(contractDN))

	// The server's checks, and the identifier GetCertificate will take.
	csr, err := certreq.CheckCSR(der, contractDN)
	if err != nil {
		panic(err)
	}
	id, err := certreq.PublicKeyIdentifier(csr.PublicKey)
	if err != nil {
		panic(err)
	}
	fmt.Println(csr.SignatureAlgorithm == x509.SHA256WithRSA, len(hex.EncodeToString(id)))
	// Output:
	// CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE
	// true 40
}

func ExampleIdentityOf() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	dn, _ := certreq.OrganizationSubject("NIHII-HOSPITAL", "71000436", "Hôpital", "my_app").RDNs()
	subject, _ := certreq.MarshalDN(dn, certreq.EncodingUTF8)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: subject}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)

	id, err := certreq.IdentityOf(cert)
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output: NIHII-HOSPITAL=71000436,MY_APP
}
