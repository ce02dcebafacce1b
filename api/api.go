// Package api holds Gatehouse's published HTTP API contract: the OpenAPI 3.1
// document of every route in template.yaml, embedded so that the local
// runner can serve it at GET /api/openapi.json and tests can validate
// responses against it (package apitest) without reading files at run time.
//
// The document is written by hand and is the contract: when a handler's
// answer changes shape, status or headers, the document changes in the same
// commit, or the integration tests fail.
package api

import _ "embed"

// Document is openapi.json, the OpenAPI 3.1 document of the HTTP API.
//
//go:embed openapi.json
var Document []byte

// DocumentPath is where the local runner serves Document.
const DocumentPath = "/api/openapi.json"
