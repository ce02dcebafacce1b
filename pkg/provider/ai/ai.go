// Package ai is the provider of AI gateways: one provider-neutral chat
// request and response over eight AI APIs (openai, anthropic, deepseek,
// grok, gemini, mistral, groq, ollama) in their own wire formats, a model
// list, and a key check.
//
// Base URLs: each vendor has its documented default (Vendors); a gateway's
// baseUrl overrides it and, being user input, passes the SSRF guard — at
// validation time when it is a literal address or "localhost", and at dial
// time always, redirects included. For OpenAI-compatible vendors the base
// URL includes the version path (https://api.openai.com/v1), for the others
// it is the origin (https://api.anthropic.com), as in their SDKs.
//
// Cost: validateKey, ValidateCredentials, Connect and CheckHealth only list
// models, which every vendor serves for free; nothing but the chat action
// ever asks for a completion.
//
// Wire formats: each is one file (openai.go for OpenAI and the compatible
// APIs, anthropic.go, gemini.go, ollama.go) implementing wireFormat
// (wire.go), which holds only what differs between formats: how the key
// travels, the chat and model-list exchanges, and the error body. The
// vendor table (vendor.go) names the format each vendor speaks. So adding a
// vendor on an existing format touches one entry of that table, and adding
// a format touches one new file plus its table entry; its stand-in, for the
// tests, is likewise one new file in aitest plus its entry there.
package ai

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// DefaultMaxTokens is the output limit sent when the request and config
// name none and the API requires one (Anthropic).
const DefaultMaxTokens = 1024

// Message is one turn of a chat.
type Message struct {
	Role    string `json:"role"` // user, assistant or system
	Content string `json:"content"`
}

// ChatRequest is the provider-neutral chat request (the chat action's
// params). Empty fields fall back to the gateway's config, then to the
// credentials' model, then to the vendor's default model.
type ChatRequest struct {
	Messages    []Message `json:"messages"`
	Model       string    `json:"model,omitempty"`
	MaxTokens   int       `json:"maxTokens,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	System      string    `json:"system,omitempty"`
}

// Usage counts tokens as the vendor reported them.
type Usage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
}

// ChatResponse is the provider-neutral chat answer. FinishReason is one of
// stop, length, content_filter, tool_calls (or the vendor's own value in
// lower case when it has no equivalent).
type ChatResponse struct {
	Text         string `json:"text"`
	Model        string `json:"model"`
	FinishReason string `json:"finishReason"`
	Usage        Usage  `json:"usage"`
	LatencyMs    int64  `json:"latencyMs"`
}

// Model is one model a vendor offers.
type Model struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Config is an AI gateway's config object: defaults for chat.
type Config struct {
	Model       string   `json:"model,omitempty"`
	MaxTokens   int      `json:"maxTokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	System      string   `json:"system,omitempty"`
}

var configParams = []provider.Param{
	{Name: "model", Type: provider.ParamString, Description: "Default model for chat; overrides the credentials' model."},
	{Name: "maxTokens", Type: provider.ParamInteger, Description: "Default output token limit for chat."},
	{Name: "temperature", Type: provider.ParamNumber, Description: "Default sampling temperature for chat, 0-2."},
	{Name: "system", Type: provider.ParamString, Description: "Default system prompt for chat."},
}

var chatParams = []provider.Param{
	{Name: "messages", Type: provider.ParamArray, Items: provider.ParamObject, Required: true,
		Description: `The conversation: [{"role": "user"|"assistant"|"system", "content": "…"}], oldest first.`},
	{Name: "model", Type: provider.ParamString, Description: "Model id; defaults to the gateway's model."},
	{Name: "maxTokens", Type: provider.ParamInteger, Description: "Output token limit."},
	{Name: "temperature", Type: provider.ParamNumber, Description: "Sampling temperature, 0-2 (Anthropic caps it at 1)."},
	{Name: "system", Type: provider.ParamString, Description: "System prompt."},
}

// ParseConfig checks and decodes a gateway's config. Errors:
// *provider.InvalidParamsError with "config.<name>" fields.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := provider.DecodeParams("", "config", configParams, raw, &c); err != nil {
		return Config{}, err
	}
	if fields := checkLimits("config", c.MaxTokens, c.Temperature); len(fields) > 0 {
		return Config{}, &provider.InvalidParamsError{Fields: fields}
	}
	return c, nil
}

func checkLimits(prefix string, maxTokens int, temperature *float64) []gateway.FieldError {
	var bad []gateway.FieldError
	if maxTokens < 0 || maxTokens > 1_000_000 {
		bad = append(bad, gateway.FieldError{Field: prefix + ".maxTokens", Message: "must be between 1 and 1000000"})
	}
	if temperature != nil && (*temperature < 0 || *temperature > 2) {
		bad = append(bad, gateway.FieldError{Field: prefix + ".temperature", Message: "must be between 0 and 2"})
	}
	return bad
}

// Options configure a Provider.
type Options struct {
	// Guard checks base URLs when credentials are validated. Its
	// AllowPrivate comes from GATEHOUSE_ALLOW_PRIVATE_NETWORKS.
	Guard ssrf.Guard
	// Client sends the requests; nil means one dialling through Guard
	// (provider.NewClient(Guard.Client())). A Client given here must dial
	// through the same guard.
	Client *provider.Client
}

// Provider is the AI provider. It is stateless and safe for concurrent use.
type Provider struct {
	guard  ssrf.Guard
	client *provider.Client
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider. It does no I/O.
func New(opts Options) *Provider {
	c := opts.Client
	if c == nil {
		c = provider.NewClient(opts.Guard.Client())
	}
	return &Provider{guard: opts.Guard, client: c}
}

// Type returns gateway.TypeAI.
func (p *Provider) Type() gateway.Type { return gateway.TypeAI }

// CheckConfig checks a gateway's config with ParseConfig.
func (p *Provider) CheckConfig(raw json.RawMessage) error {
	_, err := ParseConfig(raw)
	return err
}

// Info describes the provider for the dashboard.
func (p *Provider) Info() provider.Info {
	names := namesOfVendors()
	infos := make([]provider.AIProviderInfo, len(vendors))
	for i, v := range vendors {
		infos[i] = provider.AIProviderInfo{Name: v.Name, Label: v.Label, DefaultBaseURL: v.DefaultBaseURL,
			RequiresAPIKey: v.RequiresAPIKey, DefaultModel: v.DefaultModel, ExampleModels: v.ExampleModels}
	}
	return provider.Info{
		Type:        gateway.TypeAI,
		Name:        "AI",
		Description: "An AI provider's API: chat completions through one request shape, model listing, key checks.",
		Credentials: []provider.CredentialField{
			{Name: "provider", Label: "Provider", Required: true, Enum: names},
			{Name: "apiKey", Label: "API key", Required: false, Secret: true, Description: "Required for every provider but ollama."},
			{Name: "baseUrl", Label: "Base URL", Pattern: `^https?://`, Description: "Overrides the provider's default, e.g. a proxy or a self-hosted Ollama."},
			{Name: "model", Label: "Default model", Description: "Used by chat when the request names none."},
		},
		Config:      configParams,
		Actions:     p.Actions(),
		AIProviders: infos,
	}
}

// Actions lists chat, listModels and validateKey.
func (p *Provider) Actions() []provider.Action {
	return []provider.Action{
		{Name: "chat", Description: "Runs a chat completion and returns text, model, finishReason, usage and latencyMs.",
			Params: chatParams, RequiresConnection: true},
		{Name: "listModels", Description: "Lists the models the key can use (free)."},
		{Name: "validateKey", Description: "Checks the key with a free model-list call; never a paid completion."},
	}
}

// target resolves creds into an endpoint. Errors:
// *provider.InvalidCredentialsError for an unknown provider, a missing or
// malformed key, or a base URL the guard refuses or cannot parse.
func (p *Provider) target(creds gateway.Credentials) (target, error) {
	v, ok := LookupVendor(creds.Provider)
	if !ok {
		return target{}, &provider.InvalidCredentialsError{Field: "credentials.provider", Message: "provider must be one of " + strings.Join(namesOfVendors(), ", ")}
	}
	if v.RequiresAPIKey && creds.APIKey == "" {
		return target{}, &provider.InvalidCredentialsError{Field: "credentials.apiKey", Message: "an API key is required for " + v.Label}
	}
	for _, r := range creds.APIKey {
		if r <= ' ' || r > '~' {
			return target{}, &provider.InvalidCredentialsError{Field: "credentials.apiKey", Message: "the API key contains spaces or characters an API key never has"}
		}
	}
	base := v.DefaultBaseURL
	if creds.BaseURL != "" {
		base = creds.BaseURL
	}
	// The default is checked too: Ollama's is localhost, refused unless
	// the operator allows private networks.
	if err := p.guard.CheckURL(base); err != nil {
		// A destination the SSRF policy refuses is unreachable by policy,
		// not a wrong credential (the create-time check refuses literal
		// ones first); a malformed URL is the credential's fault.
		var blocked *ssrf.BlockedError
		if errors.As(err, &blocked) {
			return target{}, &provider.UnreachableError{Reason: blocked.Error(), Err: err}
		}
		return target{}, &provider.InvalidCredentialsError{Field: "credentials.baseUrl", Message: "the base URL is not usable: " + err.Error(), Err: err}
	}
	return target{vendor: v, base: strings.TrimRight(strings.TrimSpace(base), "/"), key: creds.APIKey}, nil
}

// rejected turns the vendor's rejection of the key into an
// *provider.InvalidCredentialsError and leaves other errors alone.
func rejected(err error) error {
	var ice *provider.InvalidCredentialsError
	if provider.Classify(err) != provider.OutcomeInvalidCredentials || errors.As(err, &ice) {
		return err
	}
	return &provider.InvalidCredentialsError{Field: "credentials.apiKey", Message: "the provider rejected the API key", Err: err}
}

// ValidateCredentials checks the credentials' shape and base URL, then lists
// models (free). Errors: *provider.InvalidCredentialsError (shape, refused
// base URL, or a key the vendor rejects), *APIError,
// *provider.UnreachableError, *provider.ResponseError.
func (p *Provider) ValidateCredentials(ctx context.Context, creds gateway.Credentials) (provider.Validation, error) {
	t, err := p.target(creds)
	if err != nil {
		return provider.Validation{}, err
	}
	start := time.Now()
	if _, _, err := p.listModels(ctx, t); err != nil {
		return provider.Validation{}, rejected(err)
	}
	return provider.Validation{LatencyMs: time.Since(start).Milliseconds()}, nil
}

// Connect validates the config and the credentials (a model list); an AI
// gateway has nothing to register. Errors: as ValidateCredentials, plus
// *provider.InvalidParamsError for a bad config.
func (p *Provider) Connect(ctx context.Context, req provider.ConnectRequest) (provider.ConnectResult, error) {
	if _, err := ParseConfig(req.Config); err != nil {
		return provider.ConnectResult{}, err
	}
	t, err := p.target(req.Credentials)
	if err != nil {
		return provider.ConnectResult{}, err
	}
	start := time.Now()
	models, _, err := p.listModels(ctx, t)
	if err != nil {
		return provider.ConnectResult{}, rejected(err)
	}
	return provider.ConnectResult{
		Details:   map[string]any{"provider": t.vendor.Name, "modelCount": len(models)},
		LatencyMs: time.Since(start).Milliseconds(),
	}, nil
}

// Disconnect does nothing: an AI gateway holds nothing remote. It returns
// nil.
func (p *Provider) Disconnect(context.Context, provider.DisconnectRequest) error { return nil }

// Execute runs chat (result ChatResponse), listModels ({"models": […],
// "count": n}) or validateKey ({"valid": true, "modelCount": n}, or
// {"valid": false, "outcome": "invalid_credentials", "error": …} when the
// vendor rejects the key). Errors: *provider.UnsupportedActionError,
// *provider.InvalidParamsError, *provider.InvalidCredentialsError (shape or
// base URL), *APIError, *provider.UnreachableError, *provider.ResponseError.
func (p *Provider) Execute(ctx context.Context, creds gateway.Credentials, config json.RawMessage, action string, params json.RawMessage) (any, error) {
	a, ok := provider.FindAction(p.Actions(), action)
	if !ok {
		return nil, &provider.UnsupportedActionError{Type: gateway.TypeAI, Action: action}
	}
	var req ChatRequest
	if err := provider.DecodeParams(action, "params", a.Params, params, &req); err != nil {
		return nil, err
	}
	t, err := p.target(creds)
	if err != nil {
		return nil, err
	}
	switch action {
	case "chat":
		cfg, err := ParseConfig(config)
		if err != nil {
			return nil, err
		}
		c, err := resolveChat(t, creds, cfg, req)
		if err != nil {
			return nil, err
		}
		return p.chat(ctx, t, c)
	case "listModels":
		models, _, err := p.listModels(ctx, t)
		if err != nil {
			return nil, err
		}
		if models == nil {
			models = []Model{}
		}
		return map[string]any{"models": models, "count": len(models)}, nil
	default: // validateKey
		models, _, err := p.listModels(ctx, t)
		if provider.Classify(err) == provider.OutcomeInvalidCredentials {
			return map[string]any{"valid": false, "outcome": provider.OutcomeInvalidCredentials, "error": provider.Message(err)}, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"valid": true, "modelCount": len(models)}, nil
	}
}

// resolveChat checks a chat request and fills its defaults. Errors:
// *provider.InvalidParamsError.
func resolveChat(t target, creds gateway.Credentials, cfg Config, req ChatRequest) (chatCall, error) {
	c := chatCall{
		model:       firstNonEmpty(req.Model, cfg.Model, creds.Model, t.vendor.DefaultModel),
		maxTokens:   req.MaxTokens,
		temperature: req.Temperature,
	}
	if c.maxTokens == 0 {
		c.maxTokens = cfg.MaxTokens
	}
	if c.temperature == nil {
		c.temperature = cfg.Temperature
	}
	bad := checkLimits("params", req.MaxTokens, req.Temperature)
	var system []string
	if s := firstNonEmpty(req.System, cfg.System); s != "" {
		system = append(system, s)
	}
	for i, m := range req.Messages {
		field := "params.messages[" + strconv.Itoa(i) + "]"
		switch {
		case m.Role != "user" && m.Role != "assistant" && m.Role != "system":
			bad = append(bad, gateway.FieldError{Field: field + ".role", Message: `must be "user", "assistant" or "system"`})
		case strings.TrimSpace(m.Content) == "":
			bad = append(bad, gateway.FieldError{Field: field + ".content", Message: "must not be empty"})
		case m.Role == "system":
			// Anthropic and Gemini take the system prompt apart from the
			// turns; folding it here gives every format the same input.
			system = append(system, m.Content)
		default:
			c.messages = append(c.messages, m)
		}
	}
	if len(bad) == 0 && len(c.messages) == 0 {
		bad = append(bad, gateway.FieldError{Field: "params.messages", Message: "must hold at least one user or assistant message"})
	}
	if len(bad) > 0 {
		return chatCall{}, &provider.InvalidParamsError{Action: "chat", Fields: bad}
	}
	c.system = strings.Join(system, "\n\n")
	return c, nil
}

// CheckHealth lists models (free). Details name the provider and the model
// count.
func (p *Provider) CheckHealth(ctx context.Context, creds gateway.Credentials, _ json.RawMessage) provider.HealthResult {
	start := time.Now()
	t, err := p.target(creds)
	if err != nil {
		return provider.NewHealthResult(time.Since(start), nil, err)
	}
	models, _, err := p.listModels(ctx, t)
	details := map[string]any{"provider": t.vendor.Name}
	if err == nil {
		details["modelCount"] = len(models)
	}
	return provider.NewHealthResult(time.Since(start), details, rejected(err))
}
