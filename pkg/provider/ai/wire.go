package ai

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// wireFormat is what differs between the AI APIs' wire formats; each
// format is one file (openai.go, anthropic.go, gemini.go, ollama.go) and
// the vendor table names the one each vendor speaks. Everything the
// formats share (sending, retries, error messages, stop reasons) is here.
type wireFormat interface {
	// authorize sets the headers that carry the key.
	authorize(h http.Header, key string)
	// chat sends c and reads the answer. An answer that lacks what
	// every answer of the format has is a *provider.ResponseError.
	chat(ctx context.Context, a api, c chatCall) (ChatResponse, error)
	// listModels reads the model list, in the vendor's order. An answer
	// without the list (a 200 of {} or null, as another JSON API behind a
	// wrong base URL would give) is a *provider.ResponseError: taken for
	// an empty list, it would pass every key check and health check.
	listModels(ctx context.Context, a api) ([]Model, time.Duration, error)
	// readError reads the format's error envelope; a body of another
	// shape reads as the zero errorEnvelope.
	readError(body []byte) errorEnvelope
}

// reasonNoModelList is every format's complaint about a 2xx answer
// without the model list.
const reasonNoModelList = "the answer has no model list"

// fetchModels is every format's listModels: GET path, decoded as an
// answer of type A, whose model list read returns (nil when the answer
// has none, which is a malformed answer).
func fetchModels[A any](ctx context.Context, a api, path string, read func(A) []Model) ([]Model, time.Duration, error) {
	var out A
	latency, err := a.call(ctx, http.MethodGet, path, nil, &out)
	if err != nil {
		return nil, latency, err
	}
	models := read(out)
	if models == nil {
		return nil, latency, a.malformed(reasonNoModelList)
	}
	return models, latency, nil
}

// target is one resolved AI endpoint: a vendor, its base URL without a
// trailing slash, and the key.
type target struct {
	vendor Vendor
	base   string
	key    string
}

// api is a target reached through the provider's client: all a wire
// format needs to send its requests.
type api struct {
	client *provider.Client
	target
}

func (p *Provider) chat(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	return t.vendor.wire.chat(ctx, api{client: p.client, target: t}, c)
}

// listModels reads the vendor's model list, sorted by id.
func (p *Provider) listModels(ctx context.Context, t target) ([]Model, time.Duration, error) {
	models, latency, err := t.vendor.wire.listModels(ctx, api{client: p.client, target: t})
	if err != nil {
		return nil, latency, err
	}
	slices.SortFunc(models, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	return models, latency, nil
}

// call sends one request in the target's format and decodes a 2xx JSON
// answer into out. Errors: *APIError for an error status,
// *provider.ResponseError for an answer that is not the expected JSON, and
// the Client's errors.
func (a api) call(ctx context.Context, method, path string, body, out any) (time.Duration, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, &provider.ResponseError{Provider: a.vendor.Label, Reason: "the request could not be encoded", Err: err}
		}
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	wire := a.vendor.wire
	wire.authorize(h, a.key)
	req := provider.Request{Method: method, URL: a.base + path, Header: h, Body: data,
		// A wait the error body names (Gemini's RetryInfo) paces the
		// retries too; without one the client reads the headers.
		RetryAfter: func(r *provider.Response) time.Duration { return wire.readError(r.Body).retryAfter }}
	resp, err := a.client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if resp.Status/100 != 2 {
		return resp.Latency, decodeError(a.target, resp)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return resp.Latency, a.malformed("the answer is not the expected JSON")
	}
	return resp.Latency, nil
}

// malformed is the error for a 2xx answer that is not what the format
// promises.
func (a api) malformed(reason string) *provider.ResponseError {
	return &provider.ResponseError{Provider: a.vendor.Label, Reason: reason}
}

// bearer sets Authorization: Bearer, the OpenAI format's header, which an
// Ollama behind an authenticating proxy expects too. A keyless Ollama gets
// no header at all.
func bearer(h http.Header, key string) {
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
}

// errorEnvelope is what a format's error body says.
type errorEnvelope struct {
	typ     string // e.g. "authentication_error", "RESOURCE_EXHAUSTED"
	code    string // e.g. "invalid_api_key", "API_KEY_INVALID"
	message string // as the vendor wrote it: unredacted, maybe long or empty
	// retryAfter is a wait the body names (Gemini's RetryInfo); zero
	// leaves it to the headers.
	retryAfter time.Duration
}

// decodeError turns an error answer into an *APIError in three steps: the
// format reads its envelope, the message is made fit to show, and the wait
// is taken from the body or else the headers. The status is classified
// when the error is, by APIError.Outcome.
func decodeError(t target, resp *provider.Response) *APIError {
	env := t.vendor.wire.readError(resp.Body)
	return &APIError{
		Provider: t.vendor.Name, Status: resp.Status, Type: env.typ, Code: env.code,
		Message:    showableMessage(env.message, resp.Status, t.key),
		RetryAfter: retryAfter(env, resp.Header),
	}
}

// showableMessage redacts and shortens a vendor's error message: it is
// shown to users and stored as lastError. A vendor that wrote none gets the
// status text.
func showableMessage(msg string, status int, key string) string {
	msg = strings.TrimSpace(provider.Redact(msg, key))
	if msg == "" {
		msg = http.StatusText(status)
	}
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return msg
}

// retryAfter prefers the body's wait to the headers' (Retry-After,
// retry-after-ms): Gemini names its wait only in the body.
func retryAfter(env errorEnvelope, h http.Header) time.Duration {
	if env.retryAfter > 0 {
		return env.retryAfter
	}
	return provider.RetryAfterHeader(h)
}

// chatCall is a ChatRequest with its model resolved.
type chatCall struct {
	model       string
	messages    []Message // user and assistant turns, system turns folded into system
	system      string
	maxTokens   int
	temperature *float64
}

// withSystem puts the system prompt first, as the formats without a
// separate system field expect.
func withSystem(c chatCall) []Message {
	if c.system == "" {
		return c.messages
	}
	return append([]Message{{Role: "system", Content: c.system}}, c.messages...)
}

// finishReason maps each format's stop reason to one vocabulary: stop,
// length, content_filter, tool_calls; anything else is passed through in
// lower case.
func finishReason(r string) string {
	switch strings.ToLower(r) {
	case "stop", "end_turn", "stop_sequence", "eos", "":
		return "stop"
	case "length", "max_tokens", "model_length":
		return "length"
	case "content_filter", "safety", "recitation", "blocklist", "prohibited_content", "spii", "refusal":
		return "content_filter"
	case "tool_calls", "tool_use", "function_call", "pause_turn":
		return "tool_calls"
	}
	return strings.ToLower(r)
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}
