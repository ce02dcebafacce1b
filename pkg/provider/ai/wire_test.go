package ai

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// TestDecodeError pins each format's error envelope, including the shapes
// the stand-ins never send (the compatible APIs' {"error":"…"},
// {"message":…} and {"detail":…}), and the steps every format shares:
// redaction, the status text for an empty message, the 300-rune cut and
// the wait, where Gemini's RetryInfo beats the headers.
func TestDecodeError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 301)
	tests := []struct {
		name   string
		vendor string
		status int
		header http.Header
		body   string
		want   APIError
	}{
		{name: "openai object", vendor: "openai", status: 404,
			body: `{"error":{"message":"The model does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
			want: APIError{Type: "invalid_request_error", Code: "model_not_found", Message: "The model does not exist"}},
		{name: "openai numeric code", vendor: "groq", status: 429, header: http.Header{"Retry-After-Ms": {"1500"}},
			body: `{"error":{"message":"slow down","type":"requests","code":429}}`,
			want: APIError{Type: "requests", Code: "429", Message: "slow down", RetryAfter: 1500 * time.Millisecond}},
		{name: "openai object without message", vendor: "deepseek", status: 500, body: `{"error":{"type":"server_error"}}`,
			want: APIError{Message: "Internal Server Error"}},
		{name: "openai error string", vendor: "mistral", status: 400, body: `{"error":"bad things"}`,
			want: APIError{Message: "bad things"}},
		{name: "openai top-level message", vendor: "mistral", status: 422, body: `{"object":"error","message":"Invalid model","type":"invalid_model"}`,
			want: APIError{Message: "Invalid model"}},
		{name: "openai detail", vendor: "grok", status: 422, body: `{"detail":[{"msg":"field required"}]}`,
			want: APIError{Message: "[map[msg:field required]]"}},
		{name: "openai not JSON", vendor: "openai", status: 502, header: http.Header{"Retry-After": {"3"}}, body: `<html>bad gateway</html>`,
			want: APIError{Message: "Bad Gateway", RetryAfter: 3 * time.Second}},
		{name: "anthropic", vendor: "anthropic", status: 529,
			body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			want: APIError{Type: "overloaded_error", Message: "Overloaded"}},
		{name: "gemini bad key", vendor: "gemini", status: 400,
			body: `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`,
			want: APIError{Type: "INVALID_ARGUMENT", Code: "API_KEY_INVALID", Message: "API key not valid."}},
		{name: "gemini RetryInfo beats Retry-After", vendor: "gemini", status: 429, header: http.Header{"Retry-After": {"5"}},
			body: `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`,
			want: APIError{Type: "RESOURCE_EXHAUSTED", Message: "Resource has been exhausted", RetryAfter: 1500 * time.Millisecond}},
		{name: "gemini without RetryInfo", vendor: "gemini", status: 503, header: http.Header{"Retry-After": {"5"}},
			body: `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`,
			want: APIError{Type: "UNAVAILABLE", Message: "The model is overloaded.", RetryAfter: 5 * time.Second}},
		{name: "gemini RetryInfo in a body of the wrong shape", vendor: "gemini", status: 429,
			body: `{"error":{"message":7,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]}}`,
			want: APIError{Message: "Too Many Requests", RetryAfter: 2 * time.Second}},
		{name: "ollama", vendor: "ollama", status: 404, body: `{"error":"model \"x\" not found, try pulling it first"}`,
			want: APIError{Message: `model "x" not found, try pulling it first`}},
		{name: "ollama plain text", vendor: "ollama", status: 404, body: `404 page not found`,
			want: APIError{Message: "Not Found"}},
		{name: "key redacted", vendor: "anthropic", status: 401,
			body: `{"type":"error","error":{"type":"authentication_error","message":"  invalid x-api-key: ` + apiKey + `  "}}`,
			want: APIError{Type: "authentication_error", Message: "invalid x-api-key: [REDACTED]"}},
		{name: "long message cut", vendor: "ollama", status: 400, body: `{"error":"` + long + `"}`,
			want: APIError{Message: long[:600] + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, ok := LookupVendor(tt.vendor)
			if !ok {
				t.Fatalf("no vendor %q", tt.vendor)
			}
			header := tt.header
			if header == nil {
				header = http.Header{}
			}
			got := decodeError(target{vendor: v, key: apiKey}, &provider.Response{Status: tt.status, Header: header, Body: []byte(tt.body)})
			want := tt.want
			want.Provider, want.Status = tt.vendor, tt.status
			if *got != want {
				t.Errorf("decodeError =\n %+v\nwant\n %+v", *got, want)
			}
		})
	}
}

// TestVendorWire checks that each vendor's wire value is the format its
// Format names (the stand-in the tests pick goes by Format, the client by
// wire), and that every OpenAI-format vendor names its max-tokens field.
func TestVendorWire(t *testing.T) {
	t.Parallel()
	for _, v := range Vendors() {
		var got Format
		switch w := v.wire.(type) {
		case openAI:
			got = FormatOpenAI
			if w.maxTokensField == "" {
				t.Errorf("%s: no max-tokens field", v.Name)
			}
		case anthropic:
			got = FormatAnthropic
		case gemini:
			got = FormatGemini
		case ollama:
			got = FormatOllama
		}
		if got != v.Format {
			t.Errorf("%s: wire %T speaks %q, Format is %q", v.Name, v.wire, got, v.Format)
		}
	}
}

// TestStreamList: the list field's elements are handed over in order, at
// most MaxModels of them; other fields, however nested, are skipped; a
// missing or null list is not found; any other shape, a field given twice
// or broken JSON is an error.
func TestStreamList(t *testing.T) {
	t.Parallel()
	many := `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"id":"m"},`, MaxModels+5), ",") + `]}`
	tests := []struct {
		name      string
		body      string
		wantIDs   int
		wantFound bool
		wantErr   bool
	}{
		{name: "a list", body: `{"object":"list","data":[{"id":"a"},{"id":"b"}]}`, wantIDs: 2, wantFound: true},
		{name: "an empty list", body: `{"data":[]}`, wantFound: true},
		{name: "other fields skipped, nested deep", body: `{"meta":{"a":[[[{"b":[1,2,{"c":null}]}]]]},"data":[{"id":"a","extra":[[[]]]}],"has_more":false}`, wantIDs: 1, wantFound: true},
		{name: "more than MaxModels", body: many, wantIDs: MaxModels, wantFound: true},
		{name: "no list", body: `{"object":"list"}`},
		{name: "a null list", body: `{"data":null}`},
		{name: "null", body: `null`},
		{name: "a string list", body: `{"data":"gpt-4o"}`, wantErr: true},
		{name: "an object list", body: `{"data":{"id":"a"}}`, wantErr: true},
		{name: "an array answer", body: `[{"id":"a"}]`, wantErr: true},
		{name: "a number element", body: `{"data":[1]}`, wantErr: true},
		{name: "the field twice", body: `{"data":[{"id":"a"}],"data":[{"id":"b"}]}`, wantErr: true},
		{name: "cut off", body: `{"data":[{"id":"a"},{"id":"b`, wantErr: true},
		{name: "cut off after the list", body: `{"data":[{"id":"a"}],"x":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := 0
			found, err := streamList(strings.NewReader(tt.body), "data", func(dec *json.Decoder) error {
				var m struct {
					ID string `json:"id"`
				}
				if err := dec.Decode(&m); err != nil {
					return err
				}
				ids++
				return nil
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if found != tt.wantFound || ids != tt.wantIDs {
				t.Errorf("found %v with %d elements, want %v with %d", found, ids, tt.wantFound, tt.wantIDs)
			}
		})
	}
}
