// Package edge is where HTTP meets the domain, once for every handler:
// the routes of pkg/httpapi, the Telegram webhook and the local runner that
// plays API Gateway in front of them. It owns the RFC 9457 problem+json
// answer and the one table that turns an error code into an HTTP status,
// header lookup, request body decoding, what the log may say of a panic,
// and the deadline every request's work runs under.
//
// It is a leaf: it imports the domain's error type and the API Gateway
// event types, and nothing of Gatehouse that serves a route, so every
// handler package and no store depends on it.
package edge

import (
	"encoding/base64"
	"mime"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Header returns the value of the request header name (given in lower
// case), or "". API Gateway lower-cases header names; other callers of the
// handlers may not, so a miss falls back to a case-insensitive search.
func Header(ev *events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := ev.Headers[name]; ok {
		return v
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// HasHeader reports whether the request has the header at all, in any
// case, even with an empty value.
func HasHeader(ev *events.APIGatewayV2HTTPRequest, name string) bool {
	if _, ok := ev.Headers[name]; ok {
		return true
	}
	for k := range ev.Headers {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Body returns the request body, base64-decoded when API Gateway passed it
// so (any Content-Type it does not consider text), refusing more than max
// bytes before decoding anything.
//
// Errors: CodeTooLarge over max; CodeInvalid when base64 does not decode.
func Body(ev *events.APIGatewayV2HTTPRequest, max int) ([]byte, error) {
	if !ev.IsBase64Encoded {
		if len(ev.Body) > max {
			return nil, tooLarge(max)
		}
		return []byte(ev.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(ev.Body)) > max+3 {
		return nil, tooLarge(max)
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "The request body could not be decoded.")
	}
	if len(b) > max {
		return nil, tooLarge(max)
	}
	return b, nil
}

func tooLarge(max int) error {
	return gateway.Errorf(gateway.CodeTooLarge, "The request body must be at most %d bytes.", max)
}

// JSONBody returns the request body of a JSON API call: at most max bytes,
// declared application/json in UTF-8, and not blank.
//
// Errors: those of Body; CodeUnsupportedMedia for another media type or
// charset; CodeInvalid for an empty body.
func JSONBody(ev *events.APIGatewayV2HTTPRequest, max int) ([]byte, error) {
	body, err := Body(ev, max)
	if err != nil {
		return nil, err
	}
	ct := Header(ev, "content-type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, gateway.Errorf(gateway.CodeUnsupportedMedia, "The request body must be application/json.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, gateway.Errorf(gateway.CodeUnsupportedMedia, "The request body must be UTF-8 encoded.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, gateway.Errorf(gateway.CodeInvalid, "A JSON request body is required.")
	}
	return body, nil
}
