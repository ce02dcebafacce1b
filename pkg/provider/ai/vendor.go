package ai

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// Format is an AI API's wire format. Each has its file, which declares
// its Format constant (FormatOpenAI in openai.go, …) and implements
// wireFormat.
type Format string

// Vendor is one AI provider an AI gateway may name in credentials.provider
// ("provider" there; Vendor here, so it is not confused with
// provider.Provider).
type Vendor struct {
	Name  string
	Label string
	// DefaultBaseURL is used when the credentials have no baseUrl. For the
	// OpenAI format it includes the version path, as the vendors' SDKs
	// expect; for the others it is the origin.
	DefaultBaseURL string
	Format         Format
	RequiresAPIKey bool
	// DefaultModel is used by chat when neither the request, the config
	// nor the credentials name a model.
	DefaultModel  string
	ExampleModels []string
	// wire speaks Format; openAI's value carries the vendor's
	// max-tokens field.
	wire wireFormat
	// requiresBaseURL is set for a vendor that runs on the user's own
	// machine: its default address is only a guess, and one the SSRF guard
	// refuses outside local development.
	requiresBaseURL bool
}

// vendors is the vendor table: a vendor on an existing wire format is one
// entry here, a new format is its file and the entry naming it.
var vendors = []Vendor{
	{Name: "openai", Label: "OpenAI", DefaultBaseURL: "https://api.openai.com/v1", Format: FormatOpenAI, RequiresAPIKey: true,
		DefaultModel: "gpt-4o-mini", ExampleModels: []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"}, wire: openAI{maxTokensField: "max_completion_tokens"}},
	{Name: "anthropic", Label: "Anthropic", DefaultBaseURL: "https://api.anthropic.com", Format: FormatAnthropic, RequiresAPIKey: true,
		DefaultModel: "claude-3-5-haiku-latest", ExampleModels: []string{"claude-3-5-haiku-latest", "claude-sonnet-4-20250514", "claude-opus-4-20250514"}, wire: anthropic{}},
	{Name: "deepseek", Label: "DeepSeek", DefaultBaseURL: "https://api.deepseek.com", Format: FormatOpenAI, RequiresAPIKey: true,
		DefaultModel: "deepseek-chat", ExampleModels: []string{"deepseek-chat", "deepseek-reasoner"}, wire: openAI{maxTokensField: "max_tokens"}},
	{Name: "grok", Label: "xAI Grok", DefaultBaseURL: "https://api.x.ai/v1", Format: FormatOpenAI, RequiresAPIKey: true,
		DefaultModel: "grok-3-mini", ExampleModels: []string{"grok-3-mini", "grok-3", "grok-4"}, wire: openAI{maxTokensField: "max_tokens"}},
	{Name: "gemini", Label: "Google Gemini", DefaultBaseURL: "https://generativelanguage.googleapis.com", Format: FormatGemini, RequiresAPIKey: true,
		DefaultModel: "gemini-2.0-flash", ExampleModels: []string{"gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro"}, wire: gemini{}},
	{Name: "mistral", Label: "Mistral AI", DefaultBaseURL: "https://api.mistral.ai/v1", Format: FormatOpenAI, RequiresAPIKey: true,
		DefaultModel: "mistral-small-latest", ExampleModels: []string{"mistral-small-latest", "mistral-large-latest", "codestral-latest"}, wire: openAI{maxTokensField: "max_tokens"}},
	{Name: "groq", Label: "Groq", DefaultBaseURL: "https://api.groq.com/openai/v1", Format: FormatOpenAI, RequiresAPIKey: true,
		DefaultModel: "llama-3.1-8b-instant", ExampleModels: []string{"llama-3.1-8b-instant", "llama-3.3-70b-versatile"}, wire: openAI{maxTokensField: "max_tokens"}},
	{Name: "ollama", Label: "Ollama", DefaultBaseURL: "http://localhost:11434", Format: FormatOllama, RequiresAPIKey: false,
		DefaultModel: "llama3.2", ExampleModels: []string{"llama3.2", "qwen2.5", "mistral"}, wire: ollama{}, requiresBaseURL: true},
}

// Vendors returns every supported AI provider, in the order the dashboard
// shows them.
func Vendors() []Vendor { return slices.Clone(vendors) }

// namesOfVendors lists the vendors' names, in the order of Vendors.
func namesOfVendors() []string {
	names := make([]string, len(vendors))
	for i, v := range vendors {
		names[i] = v.Name
	}
	return names
}

// LookupVendor returns the vendor named name.
func LookupVendor(name string) (Vendor, bool) {
	for _, v := range vendors {
		if v.Name == name {
			return v, true
		}
	}
	return Vendor{}, false
}

// APIError is an AI provider's error answer, with the provider's error
// type and code. Message has every credential redacted.
type APIError struct {
	Provider string // vendor name
	Status   int    // HTTP status
	Type     string // e.g. "authentication_error", "invalid_request_error", "RESOURCE_EXHAUSTED"
	Code     string // e.g. "invalid_api_key", "model_not_found", "API_KEY_INVALID"
	Message  string
	// RetryAfter is what Retry-After, retry-after-ms or Gemini's
	// RetryInfo asked for.
	RetryAfter time.Duration
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *APIError) Error() string {
	label := e.Provider
	if v, ok := LookupVendor(e.Provider); ok {
		label = v.Label
	}
	return label + " API error (HTTP " + strconv.Itoa(e.Status) + "): " + e.Message
}

// Outcome classifies the error: 401 and 403 are invalid_credentials, and so
// is Gemini's 400 API_KEY_INVALID (Gemini answers a bad key with 400); 429
// is rate_limited; 5xx (Anthropic's 529 included) unreachable.
func (e *APIError) Outcome() provider.Outcome {
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden,
		e.Status == http.StatusBadRequest && (e.Code == "API_KEY_INVALID" || e.Code == "API_KEY_EXPIRED"):
		return provider.OutcomeInvalidCredentials
	case e.Status == http.StatusTooManyRequests:
		return provider.OutcomeRateLimited
	case e.Status >= 500:
		return provider.OutcomeUnreachable
	}
	return provider.OutcomeProviderError
}

// RetryDelay returns RetryAfter.
func (e *APIError) RetryDelay() time.Duration { return e.RetryAfter }

// HTTPStatus returns the vendor's HTTP status.
func (e *APIError) HTTPStatus() int { return e.Status }
