package local

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/template"
)

var getGateway = template.Route{Function: "get-gateway", Method: "GET", Path: "/api/gateways/{id}", Auth: true}

func TestNewRequestEvent(t *testing.T) {
	r := httptest.NewRequest("GET", "/api/gateways/gw%201?type=AI&type=WEBHOOK&limit=5&q=a%26b", nil)
	r.RemoteAddr = "203.0.113.9:51234"
	r.Host = "127.0.0.1:3000"
	r.Header.Set("User-Agent", "test-agent/1")
	r.Header.Add("X-Organization-Id", "acme")
	r.Header.Add("Accept", "application/json")
	r.Header.Add("Accept", "text/plain")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	claims := map[string]string{"sub": "alice", "orgs": "[acme beta]"}

	before := time.Now()
	ev, err := NewRequestEvent(r, getGateway, map[string]string{"id": "gw 1"}, claims)
	if err != nil {
		t.Fatal(err)
	}

	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("Version", ev.Version, "2.0")
	check("RouteKey", ev.RouteKey, "GET /api/gateways/{id}")
	check("RawPath", ev.RawPath, "/api/gateways/gw%201")
	check("RawQueryString", ev.RawQueryString, "type=AI&type=WEBHOOK&limit=5&q=a%26b")
	check("QueryStringParameters", ev.QueryStringParameters, map[string]string{"type": "AI,WEBHOOK", "limit": "5", "q": "a&b"})
	check("PathParameters", ev.PathParameters, map[string]string{"id": "gw 1"})
	check("Cookies", ev.Cookies, []string{"a=1", "b=2", "c=3"})
	check("Body", ev.Body, "")
	check("IsBase64Encoded", ev.IsBase64Encoded, false)

	for name, want := range map[string]string{
		"user-agent":        "test-agent/1",
		"x-organization-id": "acme",
		"accept":            "application/json,text/plain",
		"host":              "127.0.0.1:3000",
		"x-forwarded-for":   "203.0.113.9",
		"x-forwarded-proto": "http",
		"x-forwarded-port":  "3000",
	} {
		check("header "+name, ev.Headers[name], want)
	}
	for name := range ev.Headers {
		if name != strings.ToLower(name) {
			t.Errorf("header %q is not lower case", name)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header left in Headers; API Gateway moves it to cookies")
	}
	if !strings.HasPrefix(ev.Headers["x-amzn-trace-id"], "Root=1-") {
		t.Errorf("x-amzn-trace-id = %q", ev.Headers["x-amzn-trace-id"])
	}

	rc := ev.RequestContext
	check("RouteKey (context)", rc.RouteKey, "GET /api/gateways/{id}")
	check("Stage", rc.Stage, "$default")
	check("APIID", rc.APIID, "local")
	check("DomainName", rc.DomainName, "127.0.0.1:3000")
	check("DomainPrefix", rc.DomainPrefix, "127.0.0.1")
	check("HTTP", rc.HTTP, events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: "GET", Path: "/api/gateways/gw%201", Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "test-agent/1",
	})
	if rc.AccountID == "" || rc.RequestID == "" {
		t.Errorf("AccountID %q RequestID %q must be set", rc.AccountID, rc.RequestID)
	}
	ts, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time)
	if err != nil {
		t.Errorf("Time %q: %v", rc.Time, err)
	}
	if ts.Before(before.Truncate(time.Second)) || time.Since(ts) > time.Minute {
		t.Errorf("Time %v is not now", ts)
	}
	if d := rc.TimeEpoch - before.UnixMilli(); d < 0 || d > 60_000 {
		t.Errorf("TimeEpoch %d is not now", rc.TimeEpoch)
	}
	if rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		t.Fatal("no JWT authorizer in the request context")
	}
	check("claims", rc.Authorizer.JWT.Claims, claims)
	check("scopes", rc.Authorizer.JWT.Scopes, []string(nil))
}

func TestNewRequestEventNoAuthorizer(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/webhooks/telegram/g1", nil)
	ev, err := NewRequestEvent(r, template.Route{Method: "POST", Path: "/api/webhooks/telegram/{gatewayId}"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.RequestContext.Authorizer != nil {
		t.Errorf("Authorizer = %+v, want nil for a route without authorizer", ev.RequestContext.Authorizer)
	}
	if ev.QueryStringParameters != nil || ev.PathParameters != nil || ev.Cookies != nil {
		t.Errorf("empty parts should be absent: %+v", ev)
	}
}

func TestNewRequestEventRequestIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		ev, err := NewRequestEvent(httptest.NewRequest("GET", "/", nil), getGateway, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[ev.RequestContext.RequestID] {
			t.Fatalf("request id %q repeated", ev.RequestContext.RequestID)
		}
		seen[ev.RequestContext.RequestID] = true
	}
}

func TestNewRequestEventBody(t *testing.T) {
	binary := []byte{0xff, 0x00, 0x10, 'x'}
	tests := []struct {
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"application/json", []byte(`{"name":"x"}`), false},
		{"application/json; charset=utf-8", []byte(`{}`), false},
		{"application/merge-patch+json", []byte(`{}`), false},
		{"application/problem+json", []byte(`{}`), false},
		{"text/plain", []byte("hi"), false},
		{"TEXT/CSV", []byte("a,b"), false},
		{"application/x-www-form-urlencoded", []byte("a=1"), false},
		{"application/xml", []byte("<a/>"), false},
		{"application/octet-stream", binary, true},
		{"image/png", binary, true},
		{"multipart/form-data; boundary=x", []byte("--x--"), true},
		{"", []byte("no type"), true},
		{"not a media type;;", []byte("x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/gateways", bytes.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			ev, err := NewRequestEvent(r, template.Route{Method: "POST", Path: "/api/gateways"}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("IsBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.wantBase64)
			}
			got := []byte(ev.Body)
			if tt.wantBase64 {
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, tt.body) {
				t.Errorf("body = %q, want %q", got, tt.body)
			}
			if want := itoa(int64(len(tt.body))); ev.Headers["content-length"] != want {
				t.Errorf("content-length = %q, want %q", ev.Headers["content-length"], want)
			}
		})
	}
}

// unsizedReader hides its length, so the request has no Content-Length and
// the limit must hold while reading.
type unsizedReader struct{ io.Reader }

func TestNewRequestEventBodyLimit(t *testing.T) {
	route := template.Route{Method: "POST", Path: "/api/gateways"}
	exact := httptest.NewRequest("POST", "/api/gateways", unsizedReader{bytes.NewReader(make([]byte, MaxBodyBytes))})
	exact.Header.Set("Content-Type", "application/json")
	if _, err := NewRequestEvent(exact, route, nil, nil); err != nil {
		t.Errorf("body of exactly the limit: %v", err)
	}
	over := httptest.NewRequest("POST", "/api/gateways", unsizedReader{bytes.NewReader(make([]byte, MaxBodyBytes+1))})
	if _, err := NewRequestEvent(over, route, nil, nil); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("body over the limit: err = %v, want ErrBodyTooLarge", err)
	}
	declared := httptest.NewRequest("POST", "/api/gateways", strings.NewReader("x"))
	declared.ContentLength = MaxBodyBytes + 1
	if _, err := NewRequestEvent(declared, route, nil, nil); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("declared length over the limit: err = %v, want ErrBodyTooLarge", err)
	}
}

func TestDomainPrefix(t *testing.T) {
	for host, want := range map[string]string{
		"abc123.execute-api.eu-west-1.amazonaws.com": "abc123",
		"localhost:3000": "localhost",
		"127.0.0.1:3000": "127.0.0.1",
		"[::1]:3000":     "::1",
	} {
		if got := domainPrefix(host); got != want {
			t.Errorf("domainPrefix(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestWriteResponse(t *testing.T) {
	tests := []struct {
		name       string
		resp       events.APIGatewayV2HTTPResponse
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name:       "zero status means 200",
			resp:       events.APIGatewayV2HTTPResponse{Body: "ok"},
			wantStatus: 200,
			wantBody:   "ok",
		},
		{
			name: "headers, multi-value headers, cookies",
			resp: events.APIGatewayV2HTTPResponse{
				StatusCode:        201,
				Headers:           map[string]string{"Content-Type": "application/json", "etag": `"3"`, "Vary": "Accept"},
				MultiValueHeaders: map[string][]string{"Vary": {"Origin", "Authorization"}},
				Cookies:           []string{"a=1; Path=/", "b=2; HttpOnly"},
				Body:              `{"id":"g1"}`,
			},
			wantStatus: 201,
			wantBody:   `{"id":"g1"}`,
			wantHeader: http.Header{
				"Content-Type": {"application/json"},
				"Etag":         {`"3"`},
				"Vary":         {"Origin", "Authorization"},
				"Set-Cookie":   {"a=1; Path=/", "b=2; HttpOnly"},
			},
		},
		{
			name:       "base64 body",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), IsBase64Encoded: true, Headers: map[string]string{"Content-Length": "999"}},
			wantStatus: 200,
			wantBody:   "\x00\x01\x02",
			wantHeader: http.Header{"Content-Length": {"3"}},
		},
		{
			name:       "no content",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 204},
			wantStatus: 204,
		},
		{
			name:       "undecodable base64 body",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true, Headers: map[string]string{"X-Secret": "s"}},
			wantStatus: 502,
			wantHeader: http.Header{"Content-Type": {"application/problem+json"}, "X-Secret": nil},
		},
		{
			name:       "invalid status",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 1000},
			wantStatus: 502,
			wantHeader: http.Header{"Content-Type": {"application/problem+json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				WriteResponse(w, tt.resp)
			}))
			defer srv.Close()
			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus < 500 && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Values(k); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
