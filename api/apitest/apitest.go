// Package apitest checks API responses against the OpenAPI 3.1 document of
// package api, so that every response a test receives is also a check of the
// published contract.
//
// Validation is kin-openapi's (openapi3filter), which validates OpenAPI 3.1
// schemas with a JSON Schema 2020-12 validator: type arrays with "null",
// const, if/then/else and additionalProperties work as written. On top of it
// Check is stricter than openapi3filter in three ways it leaves open: a
// status the operation does not declare is an error (there is no "default"
// response in the document), a response declared without content must have
// no body and no Content-Type, and a response declared with content must
// have a body whose media type is one of the declared ones exactly.
package apitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/gatehouse/gatehouse/api"
)

// Contract is the loaded document. It is safe for concurrent use.
type Contract struct {
	doc *openapi3.T
}

var (
	once    sync.Once
	shared  *Contract
	errLoad error
)

// Load parses api.Document, resolves its references and validates it as an
// OpenAPI 3.1 document. The result is loaded once per process and shared.
// Errors: the document does not parse, a reference does not resolve, or the
// document is not valid OpenAPI.
func Load() (*Contract, error) {
	once.Do(func() { shared, errLoad = load(api.Document) })
	return shared, errLoad
}

// Must is Load for tests: it fails tb when the document does not load.
func Must(tb interface {
	Helper()
	Fatalf(string, ...any)
}) *Contract {
	tb.Helper()
	c, err := Load()
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	return c
}

// uri is the "uri" format, which kin-openapi leaves unchecked: an absolute
// URL with a scheme and a host.
func uri(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}

var defineFormats sync.Once

func load(data []byte) (*Contract, error) {
	defineFormats.Do(func() { openapi3.DefineStringFormatValidator("uri", openapi3.NewCallbackValidator(uri)) })
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("the OpenAPI document is version %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	return &Contract{doc: doc}, nil
}

// Operations returns every operation of the document as a route key,
// "METHOD /path/{param}", sorted.
func (c *Contract) Operations() []string {
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// Check validates one response of the operation method pathTemplate (a
// path of the document, e.g. "/api/gateways/{id}"): its status must be
// declared, its headers must match the declared ones (required ones
// present), and its body must have a declared media type and match that
// type's schema. Header names are matched case-insensitively.
func (c *Contract) Check(method, pathTemplate string, status int, header http.Header, body []byte) error {
	method = strings.ToUpper(method)
	item := c.doc.Paths.Value(pathTemplate)
	if item == nil {
		return fmt.Errorf("%s %s: the path is not in the OpenAPI document", method, pathTemplate)
	}
	op := item.GetOperation(method)
	if op == nil {
		return fmt.Errorf("%s %s: the operation is not in the OpenAPI document", method, pathTemplate)
	}
	where := fmt.Sprintf("%s %s → %d", method, pathTemplate, status)
	declared := op.Responses.Status(status)
	if declared == nil || declared.Value == nil {
		return fmt.Errorf("%s: status %d is not declared for this operation (declared: %v)", where, status, declaredStatuses(op))
	}
	ct := header.Get("Content-Type")
	if len(declared.Value.Content) == 0 {
		if len(body) > 0 || ct != "" {
			return fmt.Errorf("%s: the document declares no body, got Content-Type %q and %d bytes: %.200s", where, ct, len(body), body)
		}
	} else {
		if len(body) == 0 {
			return fmt.Errorf("%s: the document declares a body (%v), got none", where, mediaTypes(declared.Value.Content))
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || declared.Value.Content[mt] == nil {
			return fmt.Errorf("%s: Content-Type %q is not one of %v", where, ct, mediaTypes(declared.Value.Content))
		}
	}

	req, err := http.NewRequest(method, "http://gatehouse.invalid"+pathTemplate, nil)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: c.doc, Path: pathTemplate, PathItem: item, Method: method, Operation: op},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s: %w\nbody: %.2000s", where, err, body)
	}
	return nil
}

// CheckEvent validates a Lambda proxy response (API Gateway payload 2.0) as
// Check does, decoding a base64 body and merging multi-value headers.
func (c *Contract) CheckEvent(method, pathTemplate string, resp events.APIGatewayV2HTTPResponse) error {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("%s %s: the body is marked base64 but is not: %w", method, pathTemplate, err)
		}
	}
	status := resp.StatusCode
	if status == 0 {
		return errors.New("the response has no statusCode")
	}
	return c.Check(method, pathTemplate, status, h, body)
}

func declaredStatuses(op *openapi3.Operation) []string {
	var out []string
	for code := range op.Responses.Map() {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}

func mediaTypes(c openapi3.Content) []string {
	var out []string
	for mt := range c {
		out = append(out, mt)
	}
	slices.Sort(out)
	return out
}
