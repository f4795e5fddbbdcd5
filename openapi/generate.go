// Package openapi holds ehcert's OpenAPI 3 description of the ETK Depot REST API (etee/v1),
// etkdepot-v1.yaml, and the go:generate line that turns it into package gen/etkdepot.
//
// The description is written by us from the REST cookbook; no official file is public. Each part of the
// document names its source in an x-ehcert-source extension.
package openapi

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config oapi-codegen.yaml etkdepot-v1.yaml
