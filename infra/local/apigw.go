package local

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gatehouse/gatehouse/pkg/edge"

	"github.com/gatehouse/gatehouse/infra/template"
)

// MaxBodyBytes is API Gateway's payload limit; larger requests never reach a
// function there, so they do not reach one here.
const MaxBodyBytes = 10 << 20

// ErrBodyTooLarge is returned by NewRequestEvent for a body over
// MaxBodyBytes; API Gateway answers such a request with 413.
var ErrBodyTooLarge = errors.New("request body exceeds 10 MiB")

// Constant parts of the request context: local has no account or API id,
// and the template's HTTP API uses the $default stage.
const (
	localAccountID = "000000000000"
	localAPIID     = "local"
	defaultStage   = "$default"
	timeLayout     = "02/Jan/2006:15:04:05 -0700"
)

// NewRequestEvent builds the payload format 2.0 event API Gateway would send
// for r on route. pathParams are the already-decoded values of the route's
// {param} segments; claims are the flattened JWT claims, or nil for a route
// without authorizer (then the event has no requestContext.authorizer).
//
// As in API Gateway: header names are lower case and repeated headers are
// joined with ","; cookies are moved from the cookie header into Cookies;
// repeated query parameters are joined with ","; host and x-forwarded-*
// headers are added; a body whose Content-Type is not textual is base64
// encoded with IsBase64Encoded set.
//
// It returns ErrBodyTooLarge (wrapped) for a body over MaxBodyBytes, and the
// read error when the body cannot be read.
func NewRequestEvent(r *http.Request, route template.Route, pathParams map[string]string, claims map[string]string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := readBody(r)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("local.NewRequestEvent: %w", err)
	}
	now := time.Now().UTC()
	sourceIP := remoteIP(r.RemoteAddr)
	rawPath := r.URL.EscapedPath()

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               rawPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies(r.Header),
		Headers:               headers(r, sourceIP, len(body)),
		QueryStringParameters: query(r.URL.RawQuery),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    localAccountID,
			Stage:        defaultStage,
			RequestID:    newRequestID(),
			APIID:        localAPIID,
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.Format(timeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      rawPath,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(pathParams) > 0 {
		ev.PathParameters = make(map[string]string, len(pathParams))
		for k, v := range pathParams {
			ev.PathParameters[k] = v
		}
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	if len(body) > 0 {
		if isTextual(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev, nil
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	// One byte past the limit tells a body of exactly the limit from a
	// larger one without trusting Content-Length.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}

func headers(r *http.Request, sourceIP string, bodyLen int) map[string]string {
	h := make(map[string]string, len(r.Header)+5)
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			continue
		}
		h[name] = strings.Join(values, ",")
	}
	// net/http moves Host out of the header map; API Gateway passes it on.
	h["host"] = r.Host
	if bodyLen > 0 {
		h["content-length"] = strconv.Itoa(bodyLen)
	}
	if xff := h["x-forwarded-for"]; xff != "" {
		h["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		h["x-forwarded-for"] = sourceIP
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	h["x-forwarded-proto"] = proto
	h["x-forwarded-port"] = port
	if _, ok := h["x-amzn-trace-id"]; !ok {
		h["x-amzn-trace-id"] = newTraceID()
	}
	return h
}

func cookies(h http.Header) []string {
	var out []string
	for _, line := range h.Values("Cookie") {
		for c := range strings.SplitSeq(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

func query(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	// ParseQuery keeps the pairs it could decode; API Gateway likewise
	// passes on what it understands rather than rejecting the request.
	values, _ := url.ParseQuery(raw)
	if len(values) == 0 {
		return nil
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// isTextual reports whether API Gateway would pass a body of this type as
// text; everything else, including a missing type, arrives base64 encoded.
func isTextual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json",
		strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded",
		mt == "application/xml":
		return true
	}
	return false
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// domainPrefix is the first label of the host name, as for
// <api-id>.execute-api...; an IP address has no labels, so it stays whole.
func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return host
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}

// newRequestID imitates API Gateway's ids (16 base64 characters); handlers
// put it into problem details, so it must be unique per request.
func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newTraceID has the X-Ray form API Gateway adds to every request.
func newTraceID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Root=1-%08x-%s", time.Now().Unix(), hex.EncodeToString(b))
}

// WriteResponse writes a function's response as API Gateway would: Headers,
// then MultiValueHeaders (which replace a header of the same name, as API
// Gateway merges them), Cookies as Set-Cookie headers, StatusCode (0 means
// 200) and Body, base64-decoded when IsBase64Encoded. A body that does not
// decode, or a status outside 200-599, is a broken integration: the client
// gets a 502 problem instead.
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	body := []byte(resp.Body)
	var err error
	if resp.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(resp.Body)
	}
	if err != nil || status < 200 || status > 599 {
		edge.NewProblem(edge.CodeBadGateway, "The function returned a malformed response.", "").Write(w, nil)
		return
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	// The handler's Content-Length may disagree with the decoded body;
	// net/http computes the right one.
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
