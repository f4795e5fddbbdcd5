//go:build tools

package ehcert

// The code generators that `go generate ./...` runs (see generate.go and openapi/generate.go). Importing them
// here keeps their versions pinned by go.mod: gowsdl v0.5.0 and oapi-codegen v2.5.1.
import (
	_ "github.com/hooklift/gowsdl/cmd/gowsdl"
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
