package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// TestMain runs the tests under secretscan: every error they record (see
// scanned) is scanned for the API keys, in every common encoding.
func TestMain(m *testing.M) {
	secretscan.Register("apiKey", apiKey)
	for _, v := range Vendors() {
		secretscan.Register("wrong key of "+v.Name, "sk-wrong-"+v.Name+"-abcdefghijklmnop")
	}
	secretscan.Main(m)
}

const apiKey = "sk-test-0123456789abcdefXYZ"

var flavorOf = map[Format]aitest.Flavor{
	FormatOpenAI: aitest.OpenAI, FormatAnthropic: aitest.Anthropic, FormatGemini: aitest.Gemini, FormatOllama: aitest.Ollama,
}

// mapResolver answers from a table, so no test resolves a name for real.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := m[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// testGuard lets tests reach stand-ins on 127.0.0.1 and nothing else
// non-public; internal.example resolves to a private address.
var testGuard = ssrf.Guard{
	Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	Resolver: mapResolver{"internal.example": {netip.MustParseAddr("10.0.0.5")}},
}

func newProvider() *Provider {
	c := provider.NewClient(testGuard.Client())
	c.Backoff = 5 * time.Millisecond
	return New(Options{Guard: testGuard, Client: c})
}

// setup starts a stand-in speaking vendor's format and returns credentials
// pointing at it, with the vendor's own path prefix (/v1, /openai/v1).
func setup(t *testing.T, vendor string, opts aitest.Options) (*Provider, *aitest.Server, gateway.Credentials) {
	t.Helper()
	v, ok := LookupVendor(vendor)
	if !ok {
		t.Fatalf("no vendor %q", vendor)
	}
	if opts.APIKey == "" && v.RequiresAPIKey {
		opts.APIKey = apiKey
	}
	if opts.Models == nil {
		opts.Models = []string{v.DefaultModel, "zz-other-model"}
	}
	fake := aitest.NewServer(flavorOf[v.Format], opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(v.DefaultBaseURL)
	creds := gateway.Credentials{Provider: vendor, BaseURL: srv.URL + u.Path}
	if v.RequiresAPIKey {
		creds.APIKey = apiKey
	}
	return newProvider(), fake, creds
}

var vendorNames = []string{"openai", "anthropic", "deepseek", "grok", "gemini", "mistral", "groq", "ollama"}

func TestVendors(t *testing.T) {
	want := map[string]string{
		"openai":    "https://api.openai.com/v1",
		"anthropic": "https://api.anthropic.com",
		"deepseek":  "https://api.deepseek.com",
		"grok":      "https://api.x.ai/v1",
		"gemini":    "https://generativelanguage.googleapis.com",
		"mistral":   "https://api.mistral.ai/v1",
		"groq":      "https://api.groq.com/openai/v1",
		"ollama":    "http://localhost:11434",
	}
	var names []string
	for _, v := range Vendors() {
		names = append(names, v.Name)
		if v.DefaultBaseURL != want[v.Name] {
			t.Errorf("%s: base URL %q, want %q", v.Name, v.DefaultBaseURL, want[v.Name])
		}
		if v.RequiresAPIKey != (v.Name != "ollama") {
			t.Errorf("%s: RequiresAPIKey = %v", v.Name, v.RequiresAPIKey)
		}
	}
	if !slices.Equal(names, vendorNames) {
		t.Errorf("vendors %v, want %v", names, vendorNames)
	}
	// The vendors CheckCredentials names are the vendors there are.
	fe := newProvider().CheckCredentials(gateway.Credentials{Provider: "skynet", APIKey: "k"})
	if want := "must be one of " + strings.Join(vendorNames, ", "); len(fe) != 1 || fe[0].Message != want {
		t.Errorf("unknown provider: %v, want %q", fe, want)
	}
	info := newProvider().Info()
	if len(info.AIProviders) != 8 || info.Type != gateway.TypeAI || len(info.Actions) != 3 {
		t.Errorf("Info = %+v", info)
	}
}

func TestChatEveryVendor(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendorNames {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			p, fake, creds := setup(t, vendor, aitest.Options{})
			params := `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}], "maxTokens": 50, "temperature": 0.3}`
			res, err := p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(params))
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := LookupVendor(vendor)
			got := res.(ChatResponse)
			if got.Text != "You said: hello there" || got.Model != v.DefaultModel || got.FinishReason != "stop" ||
				got.Usage.InputTokens != 4 || got.Usage.OutputTokens != 4 {
				t.Errorf("response %+v", got)
			}

			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			switch v.Format {
			case FormatOpenAI:
				u, _ := url.Parse(v.DefaultBaseURL)
				check("path", r.Path, u.Path+"/chat/completions")
				check("Authorization", r.Header.Get("Authorization"), "Bearer "+apiKey)
				check("first message", body["messages"].([]any)[0], map[string]any{"role": "system", "content": "Be brief."})
				field := v.wire.(openAI).maxTokensField
				check(field, body[field], 50)
				check("temperature", body["temperature"], 0.3)
			case FormatAnthropic:
				check("path", r.Path, "/v1/messages")
				check("x-api-key", r.Header.Get("X-Api-Key"), apiKey)
				check("anthropic-version", r.Header.Get("Anthropic-Version"), "2023-06-01")
				check("system", body["system"], "Be brief.")
				check("messages", len(body["messages"].([]any)), 1)
				check("max_tokens", body["max_tokens"], 50)
			case FormatGemini:
				check("path", r.Path, "/v1beta/models/gemini-2.0-flash:generateContent")
				check("x-goog-api-key", r.Header.Get("X-Goog-Api-Key"), apiKey)
				check("systemInstruction", body["systemInstruction"], map[string]any{"parts": []any{map[string]any{"text": "Be brief."}}})
				check("generationConfig", body["generationConfig"], map[string]any{"maxOutputTokens": 50, "temperature": 0.3})
			case FormatOllama:
				check("path", r.Path, "/api/chat")
				check("Authorization", r.Header.Get("Authorization"), "")
				check("stream", body["stream"], false)
				check("options", body["options"], map[string]any{"num_predict": 50, "temperature": 0.3})
			}
			if r.Query != "" && v.Format != FormatAnthropic {
				t.Errorf("query %q: keys must travel in headers", r.Query)
			}
		})
	}
}

func TestChatFinishReasonLength(t *testing.T) {
	t.Parallel()
	for _, vendor := range []string{"openai", "anthropic", "gemini", "ollama"} {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			p, _, creds := setup(t, vendor, aitest.Options{Reply: "one two three four five"})
			res, err := p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(`{"messages": [{"role": "user", "content": "count"}], "maxTokens": 2}`))
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.(ChatResponse); got.Text != "one two" || got.FinishReason != "length" || got.Usage.OutputTokens != 2 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestChatDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		credModel string
		params    string
		wantModel string
		wantField string // error field, "" for success
	}{
		{name: "vendor default", wantModel: "gpt-4o-mini"},
		{name: "credentials model", credModel: "zz-other-model", wantModel: "zz-other-model"},
		{name: "config beats credentials", config: `{"model": "gpt-4o-mini", "system": "cfg"}`, credModel: "zz-other-model", wantModel: "gpt-4o-mini"},
		{name: "params beat config", config: `{"model": "gpt-4o-mini"}`, params: `"model": "zz-other-model",`, wantModel: "zz-other-model"},
		{name: "bad config", config: `{"temperature": 9}`, wantField: "config.temperature"},
		{name: "unknown config key", config: `{"modle": "x"}`, wantField: "config.modle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake, creds := setup(t, "openai", aitest.Options{})
			creds.Model = tt.credModel
			params := `{` + tt.params + `"messages": [{"role": "user", "content": "hi"}]}`
			res, err := p.Execute(context.Background(), creds, json.RawMessage(tt.config), "chat", json.RawMessage(params))
			faulttest.Scanned(t, err)
			if tt.wantField != "" {
				var ip *provider.InvalidParamsError
				if !errors.As(err, &ip) || ip.Fields[0].Field != tt.wantField {
					t.Fatalf("error %v, want InvalidParamsError on %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.(ChatResponse).Model; got != tt.wantModel {
				t.Errorf("model %q, want %q", got, tt.wantModel)
			}
			if strings.Contains(tt.config, "cfg") && !strings.Contains(string(fake.Requests()[0].Body), `"content":"cfg"`) {
				t.Errorf("config system prompt not sent: %s", fake.Requests()[0].Body)
			}
		})
	}
}

func TestListModelsEveryVendor(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendorNames {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			p, fake, creds := setup(t, vendor, aitest.Options{})
			res, err := p.Execute(context.Background(), creds, nil, "listModels", nil)
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			m := res.(map[string]any)
			models := m["models"].([]Model)
			v, _ := LookupVendor(vendor)
			if m["count"] != 2 || models[0].ID != v.DefaultModel || models[1].ID != "zz-other-model" {
				t.Errorf("got %+v", m)
			}
			if r := fake.Requests()[0]; r.Method != http.MethodGet {
				t.Errorf("listModels sent %s %s", r.Method, r.Path)
			}
		})
	}
}

func TestValidateKeyEveryVendor(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendorNames {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			opts := aitest.Options{}
			if vendor == "ollama" {
				opts.APIKey = apiKey // an Ollama behind an authenticating proxy
			}
			p, fake, creds := setup(t, vendor, opts)
			creds.APIKey = apiKey
			res, err := p.Execute(context.Background(), creds, nil, "validateKey", nil)
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if m := res.(map[string]any); m["valid"] != true || m["modelCount"] != 2 {
				t.Errorf("valid key: %v", m)
			}

			creds.APIKey = "sk-wrong-key-000000000000"
			res, err = p.Execute(context.Background(), creds, nil, "validateKey", nil)
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if m := res.(map[string]any); m["valid"] != false || m["outcome"] != provider.OutcomeInvalidCredentials {
				t.Errorf("wrong key: %v", m)
			}
			_, err = p.ValidateCredentials(context.Background(), creds)
			faulttest.Scanned(t, err)
			var ice *provider.InvalidCredentialsError
			if !errors.As(err, &ice) || ice.Field != "credentials.apiKey" {
				t.Errorf("ValidateCredentials(wrong key) = %v, want InvalidCredentialsError on credentials.apiKey", err)
			}
			h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil))
			if h.Healthy || h.Outcome != provider.OutcomeInvalidCredentials {
				t.Errorf("CheckHealth(wrong key) = %+v", h)
			}
			for _, r := range fake.Requests() {
				if r.Method != http.MethodGet {
					t.Errorf("a key check sent %s %s: it must never ask for a completion", r.Method, r.Path)
				}
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	p, _, creds := setup(t, "anthropic", aitest.Options{})
	if _, err := p.ValidateCredentials(context.Background(), creds); err != nil {
		t.Fatal(err)
	}
	res, err := p.Connect(context.Background(), provider.ConnectRequest{GatewayID: "g", Credentials: creds})
	faulttest.Scanned(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if res.Details["modelCount"] != 2 || res.WebhookSecretHash != nil {
		t.Errorf("Connect = %+v", res)
	}
	if err := p.Disconnect(context.Background(), provider.DisconnectRequest{GatewayID: "g", Credentials: creds}); err != nil {
		t.Error(err)
	}
	h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil))
	if !h.Healthy || h.Details["modelCount"] != 2 || h.Details["provider"] != "anthropic" {
		t.Errorf("CheckHealth = %+v", h)
	}
}

func TestCredentialsFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		creds     gateway.Credentials
		wantField string
	}{
		{"unknown provider", gateway.Credentials{Provider: "skynet", APIKey: apiKey}, "credentials.provider"},
		{"missing key", gateway.Credentials{Provider: "openai"}, "credentials.apiKey"},
		{"key with a newline", gateway.Credentials{Provider: "openai", APIKey: "sk-abc\nX-Evil: 1"}, "credentials.apiKey"},
		{"ftp base URL", gateway.Credentials{Provider: "openai", APIKey: apiKey, BaseURL: "ftp://example.com"}, "credentials.baseUrl"},
	}
	p := New(Options{}) // the default guard: nothing private
	// Destinations the SSRF policy refuses are unreachable by policy, with a
	// clear message; they are not the credentials' fault.
	for _, c := range []gateway.Credentials{
		{Provider: "openai", APIKey: apiKey, BaseURL: "http://169.254.169.254/v1"},
		{Provider: "openai", APIKey: apiKey, BaseURL: "http://10.1.2.3/v1"},
		{Provider: "ollama", BaseURL: "http://[::1]:11434"},
		{Provider: "ollama"}, // the default is localhost
	} {
		_, err := p.ValidateCredentials(context.Background(), c)
		faulttest.Scanned(t, err)
		if provider.Classify(err) != provider.OutcomeUnreachable || !strings.Contains(provider.Message(err), "not allowed") {
			t.Errorf("%q: error %v, want unreachable (not allowed)", c.BaseURL, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ValidateCredentials(context.Background(), tt.creds)
			faulttest.Scanned(t, err)
			var ice *provider.InvalidCredentialsError
			if !errors.As(err, &ice) || ice.Field != tt.wantField {
				t.Fatalf("error %v, want InvalidCredentialsError on %s", err, tt.wantField)
			}
			if provider.Classify(err) != provider.OutcomeInvalidCredentials {
				t.Errorf("outcome %s", provider.Classify(err))
			}
		})
	}
	allowed := New(Options{Guard: ssrf.Guard{AllowPrivate: true}})
	if _, err := allowed.target(gateway.Credentials{Provider: "ollama"}); err != nil {
		t.Errorf("with private networks allowed, ollama's default is refused: %v", err)
	}
}

func TestChatParamErrors(t *testing.T) {
	t.Parallel()
	p, fake, creds := setup(t, "openai", aitest.Options{})
	tests := []struct {
		params    string
		wantField string
	}{
		{`{}`, "params.messages"},
		{`{"messages": []}`, "params.messages"},
		{`{"messages": "hi"}`, "params.messages"},
		{`{"messages": ["hi"]}`, "params.messages"},
		{`{"messages": [{"role": "robot", "content": "hi"}]}`, "params.messages[0].role"},
		{`{"messages": [{"role": "user", "content": " "}]}`, "params.messages[0].content"},
		{`{"messages": [{"role": "system", "content": "only system"}]}`, "params.messages"},
		{`{"messages": [{"role": "user", "content": "hi"}], "temperature": 3}`, "params.temperature"},
		{`{"messages": [{"role": "user", "content": "hi"}], "maxTokens": 1.5}`, "params.maxTokens"},
		{`{"messages": [{"role": "user", "content": "hi"}], "stream": true}`, "params.stream"},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			_, err := p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(tt.params))
			faulttest.Scanned(t, err)
			var ip *provider.InvalidParamsError
			if !errors.As(err, &ip) || ip.Fields[0].Field != tt.wantField {
				t.Errorf("error %v, want InvalidParamsError on %s", err, tt.wantField)
			}
		})
	}
	if _, err := p.Execute(context.Background(), creds, nil, "embed", nil); !errors.As(err, new(*provider.UnsupportedActionError)) {
		t.Errorf("unknown action: %v", err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid calls, want 0", n)
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		vendor    string
		fail      aitest.Failure
		model     string
		timeout   time.Duration
		want      provider.Outcome
		wantWait  time.Duration
		wantCalls int
		wantText  string
	}{
		{name: "openai 429 with Retry-After beyond deadline", vendor: "openai", fail: aitest.Failure{Status: 429, RetryAfter: "7", Times: -1},
			timeout: time.Second, want: provider.OutcomeRateLimited, wantWait: 7 * time.Second, wantCalls: 1, wantText: "Rate limit reached"},
		{name: "gemini 429 RetryInfo", vendor: "gemini", fail: aitest.Failure{Status: 429, RetryDelay: "9s", Times: -1},
			timeout: time.Second, want: provider.OutcomeRateLimited, wantWait: 9 * time.Second, wantCalls: 1, wantText: "Resource has been exhausted"},
		{name: "anthropic 529 overloaded", vendor: "anthropic", fail: aitest.Failure{Status: 529, Times: -1},
			want: provider.OutcomeUnreachable, wantCalls: 3, wantText: "Overloaded"},
		{name: "groq 500", vendor: "groq", fail: aitest.Failure{Status: 500, Times: -1},
			want: provider.OutcomeUnreachable, wantCalls: 3, wantText: "The server had an error"},
		{name: "ollama 503", vendor: "ollama", fail: aitest.Failure{Status: 503, Times: -1},
			want: provider.OutcomeUnreachable, wantCalls: 3, wantText: "service unavailable"},
		{name: "openai unknown model", vendor: "openai", model: "gpt-9", want: provider.OutcomeProviderError, wantCalls: 1, wantText: "The model `gpt-9` does not exist"},
		{name: "anthropic unknown model", vendor: "anthropic", model: "claude-0", want: provider.OutcomeProviderError, wantCalls: 1, wantText: "model: claude-0"},
		{name: "gemini unknown model", vendor: "gemini", model: "gemini-0", want: provider.OutcomeProviderError, wantCalls: 1, wantText: "models/gemini-0 is not found"},
		{name: "ollama unknown model", vendor: "ollama", model: "nope", want: provider.OutcomeProviderError, wantCalls: 1, wantText: `model "nope" not found`},
		{name: "mistral 403", vendor: "mistral", fail: aitest.Failure{Status: 403}, want: provider.OutcomeInvalidCredentials, wantCalls: 1},
		{name: "deepseek 400 not retried", vendor: "deepseek", fail: aitest.Failure{Status: 400, Message: "Invalid request"},
			want: provider.OutcomeProviderError, wantCalls: 1, wantText: "Invalid request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake, creds := setup(t, tt.vendor, aitest.Options{})
			if tt.timeout > 0 {
				p.client.Timeout = tt.timeout
			}
			if tt.fail.Status != 0 {
				fake.Fail(tt.fail)
			}
			params := `{"messages": [{"role": "user", "content": "hi"}]`
			if tt.model != "" {
				params += `, "model": "` + tt.model + `"`
			}
			_, err := p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(params+`}`))
			faulttest.Scanned(t, err)
			if got := provider.Classify(err); got != tt.want {
				t.Errorf("outcome %q, want %q (%v)", got, tt.want, err)
			}
			if got := provider.RetryAfter(err); got != tt.wantWait {
				t.Errorf("RetryAfter %v, want %v", got, tt.wantWait)
			}
			if got := len(fake.Requests()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if !strings.Contains(provider.Message(err), tt.wantText) {
				t.Errorf("message %q does not contain %q", provider.Message(err), tt.wantText)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Provider != tt.vendor {
				t.Errorf("error %T %v is not this vendor's APIError", err, err)
			}
		})
	}
}

func TestRetriesThenSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vendor     string
		fail       aitest.Failure
		wantCalls  int
		minElapsed time.Duration
	}{
		{"openai", aitest.Failure{Status: 429, RetryAfter: "1"}, 2, time.Second},
		{"anthropic", aitest.Failure{Status: 529, Times: 2}, 3, 0},
		{"gemini", aitest.Failure{Status: 503}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			t.Parallel()
			p, fake, creds := setup(t, tt.vendor, aitest.Options{})
			fake.Fail(tt.fail)
			start := time.Now()
			res, err := p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(`{"messages": [{"role": "user", "content": "again"}]}`))
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.(ChatResponse); got.Text != "You said: again" || got.LatencyMs < tt.minElapsed.Milliseconds() {
				t.Errorf("got %+v", got)
			}
			if got := len(fake.Requests()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if elapsed := time.Since(start); elapsed < tt.minElapsed {
				t.Errorf("took %v, want at least %v", elapsed, tt.minElapsed)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	p, fake, creds := setup(t, "openai", aitest.Options{})
	fake.SetDelay(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Execute(ctx, creds, nil, "chat", json.RawMessage(`{"messages": [{"role": "user", "content": "hi"}]}`))
	faulttest.Scanned(t, err)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v, want about 200ms", elapsed)
	}
	if provider.Classify(err) != provider.OutcomeUnreachable || !strings.Contains(provider.Message(err), "timed out") {
		t.Errorf("error %v, want unreachable: timed out", err)
	}
}

func TestSSRFAtDialTime(t *testing.T) {
	t.Parallel()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	tests := []struct {
		name    string
		baseURL string
		want    string
	}{
		{"name resolving to a private address", "http://internal.example/v1", "destination address is not allowed: private network"},
		{"redirect to the metadata endpoint", redirector.URL + "/v1", "destination address is not allowed: link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider()
			creds := gateway.Credentials{Provider: "openai", APIKey: apiKey, BaseURL: tt.baseURL}
			_, err := p.Execute(context.Background(), creds, nil, "listModels", nil)
			faulttest.Scanned(t, err)
			if provider.Classify(err) != provider.OutcomeUnreachable || provider.Message(err) != tt.want {
				t.Errorf("error %v (%s), want unreachable %q", err, provider.Classify(err), tt.want)
			}
			h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil))
			if h.Outcome != provider.OutcomeUnreachable || h.Error != tt.want {
				t.Errorf("health %+v", h)
			}
		})
	}
}

// TestSecretsNeverInErrors makes stand-ins echo the key in their error
// messages and checks that no error, message or health report carries it.
func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	for _, vendor := range []string{"openai", "anthropic", "gemini"} {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			wrongKey := "sk-wrong-" + vendor + "-abcdefghijklmnop"
			p, fake, creds := setup(t, vendor, aitest.Options{EchoKeyInErrors: true})
			creds.APIKey = wrongKey
			var errs []error
			_, err := p.ValidateCredentials(context.Background(), creds)
			faulttest.Scanned(t, err)
			errs = append(errs, err)
			_, err = p.Execute(context.Background(), creds, nil, "chat", json.RawMessage(`{"messages": [{"role": "user", "content": "hi"}]}`))
			faulttest.Scanned(t, err)
			errs = append(errs, err)
			errs = append(errs, faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil)).Err)
			creds.APIKey = apiKey
			fake.Fail(aitest.Failure{Status: 400, Message: "bad request from key " + apiKey})
			_, err = p.Execute(context.Background(), creds, nil, "listModels", nil)
			faulttest.Scanned(t, err)
			errs = append(errs, err)
			res, err := p.Execute(context.Background(), gateway.Credentials{Provider: vendor, APIKey: wrongKey, BaseURL: creds.BaseURL}, nil, "validateKey", nil)
			faulttest.Scanned(t, err)
			errs = append(errs, err)
			b, _ := json.Marshal(res)

			texts := []string{string(b)}
			for _, err := range errs {
				if err == nil {
					continue
				}
				texts = append(texts, err.Error(), provider.Message(err), fmt.Sprintf("%+v", err))
				for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
					texts = append(texts, e.Error())
				}
			}
			echoed := false
			for _, s := range texts {
				if strings.Contains(s, wrongKey) || strings.Contains(s, apiKey) {
					t.Errorf("a secret leaked: %q", s)
				}
				echoed = echoed || strings.Contains(s, "[REDACTED]")
			}
			if !echoed {
				t.Error("the stand-in echoed no key; the test proves nothing")
			}
		})
	}
}
