// Package local holds the building blocks of the local runner: it serves the
// routes of the same template.yaml that deploys the system (as
// infra/template reads them), plays the HTTP API's JWT authorizer with
// development tokens signed by a local key, and turns net/http requests into
// API Gateway HTTP API (payload format 2.0) events and the handlers'
// responses back, so that a handler cannot tell whether it runs in Lambda or
// here.
//
// Where API Gateway's behaviour is not fully specified the package chooses
// the stricter reading: a route needs a token unless its event says
// Authorizer: NONE, and a failed handler is a 502 problem+json.
package local
