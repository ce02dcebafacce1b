package ai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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

// Caps on what an AI API's answer may cost. A base URL is the gateway
// owner's to choose, so these are what a real vendor plausibly sends, not
// what a hostile endpoint could: the health worker checks dozens of
// gateways at once in one function's memory.
const (
	// MaxModelListBytes caps a model list: a vendor's own list is at
	// most a few hundred entries, tens of kilobytes; 1 MiB leaves room
	// for OpenAI-compatible aggregators that describe each model at length.
	MaxModelListBytes = 1 << 20
	// MaxModels is how many models a list keeps, in the vendor's order:
	// no vendor offers near 1,000; a longer list is read to its end
	// (within MaxModelListBytes) and the rest dropped, so the check stays
	// healthy and the count says 1,000.
	MaxModels = 1000
	// MaxChatBytes caps a chat answer: the longest completion any vendor
	// offers (128k output tokens, about 0.5 MB of text) with room for
	// JSON escaping and metadata; it stays under Lambda's 6 MB response
	// limit, which the action's answer must pass.
	MaxChatBytes = 4 << 20
)

// fetchModels is every format's listModels: GET path, whose answer is an
// object holding the list as the array field; each element, decoded as
// an E, becomes a model through model. The answer is decoded as it
// arrives, element by element: at most MaxModels elements are kept and
// the rest skipped, and a body over MaxModelListBytes is a
// *provider.ResponseError. An answer without the list (a 2xx of {} or
// null, as another JSON API behind a wrong base URL would give) is a
// malformed answer.
func fetchModels[E any](ctx context.Context, a api, path, field string, model func(E) Model) ([]Model, time.Duration, error) {
	var models []Model
	latency, err := a.send(ctx, http.MethodGet, path, nil, MaxModelListBytes, func(r io.Reader) error {
		found, err := streamList(r, field, func(dec *json.Decoder) error {
			var e E
			if err := dec.Decode(&e); err != nil {
				return err
			}
			models = append(models, model(e))
			return nil
		})
		if err == nil && !found {
			return a.malformed(reasonNoModelList)
		}
		return err
	})
	if err != nil {
		return nil, latency, err
	}
	return models, latency, nil
}

// errNotList is streamList's complaint about an answer of another shape.
var errNotList = errors.New("not an object with a list")

// streamList reads one JSON object from r with tokens, never holding more
// than one of its values at a time: each element of its array field is
// handed to keep (which decodes it from dec) while fewer than MaxModels
// were, and skipped after; every other field is skipped. found is false
// when the object has no such field, or it is null, or r holds null. The
// field given twice is errNotList: which list would be the vendor's?
func streamList(r io.Reader, field string, keep func(dec *json.Decoder) error) (found bool, err error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if tok != json.Delim('{') {
		return false, errNotList
	}
	seen := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false, err
		}
		if key == field && seen {
			return false, errNotList
		}
		if key != field {
			if err := skipValue(dec); err != nil {
				return false, err
			}
			continue
		}
		seen = true
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		switch tok {
		case nil:
			continue
		case json.Delim('['):
		default:
			return false, errNotList
		}
		found = true
		kept := 0
		for dec.More() {
			if kept >= MaxModels {
				if err := skipValue(dec); err != nil {
					return false, err
				}
				continue
			}
			if err := keep(dec); err != nil {
				return false, err
			}
			kept++
		}
		if _, err := dec.Token(); err != nil { // ]
			return false, err
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return false, err
	}
	return found, nil
}

// skipValue reads the next value from dec and drops it. The decoder
// checks it is well-formed JSON; nothing of it is copied (skipped's
// UnmarshalJSON is handed the decoder's own bytes), so a skipped value
// costs only the decoder's buffer, bounded by the answer's cap.
func skipValue(dec *json.Decoder) error {
	var s skipped
	return dec.Decode(&s)
}

// skipped is any JSON value, dropped.
type skipped struct{}

// UnmarshalJSON keeps nothing of b.
func (*skipped) UnmarshalJSON([]byte) error { return nil }

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
// answer of at most MaxChatBytes into out as it arrives. Errors: as send.
func (a api) call(ctx context.Context, method, path string, body, out any) (time.Duration, error) {
	return a.send(ctx, method, path, body, MaxChatBytes, func(r io.Reader) error {
		return json.NewDecoder(r).Decode(out)
	})
}

// send sends one request in the target's format and reads a 2xx answer of
// at most maxBytes with decode, as it arrives. Errors: *APIError for an
// error status, *provider.ResponseError for an answer over maxBytes or
// that decode cannot read (decode's own *provider.ResponseError, or "not
// the expected JSON"), and the Client's errors.
func (a api) send(ctx context.Context, method, path string, body any, maxBytes int64, decode func(io.Reader) error) (time.Duration, error) {
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
		RetryAfter: func(r *provider.Response) time.Duration { return wire.readError(r.Body).retryAfter },
		MaxBytes:   maxBytes,
		Decode: func(r io.Reader) error {
			err := decode(r)
			var re *provider.ResponseError
			if err != nil && !errors.As(err, &re) {
				err = a.malformed("the answer is not the expected JSON")
			}
			return err
		}}
	resp, err := a.client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if resp.Status/100 != 2 {
		return resp.Latency, decodeError(a.target, resp)
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
