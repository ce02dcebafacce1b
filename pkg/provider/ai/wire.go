package ai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// target is one resolved AI endpoint: a vendor, its base URL without a
// trailing slash, and the key.
type target struct {
	vendor Vendor
	base   string
	key    string
}

// call sends one request in t's format and decodes a 2xx JSON answer into
// out. Errors: *APIError for an error status, *provider.ResponseError for
// an answer that is not the expected JSON, and the Client's errors.
func (p *Provider) call(ctx context.Context, t target, method, path string, body, out any) (time.Duration, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return 0, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the request could not be encoded", Err: err}
		}
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	switch t.vendor.Format {
	case FormatAnthropic:
		h.Set("X-Api-Key", t.key)
		h.Set("Anthropic-Version", AnthropicVersion)
	case FormatGemini:
		h.Set("X-Goog-Api-Key", t.key)
	default:
		if t.key != "" {
			h.Set("Authorization", "Bearer "+t.key)
		}
	}
	req := provider.Request{Method: method, URL: t.base + path, Header: h, Body: data}
	if t.vendor.Format == FormatGemini {
		req.RetryAfter = func(r *provider.Response) time.Duration { return geminiRetryDelay(r.Body) }
	}
	resp, err := p.client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if resp.Status/100 != 2 {
		return resp.Latency, decodeError(t, resp)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return resp.Latency, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer is not the expected JSON"}
	}
	return resp.Latency, nil
}

// decodeError reads the vendor's error body. The message is redacted and
// shortened: it is shown to users and stored as lastError.
func decodeError(t target, resp *provider.Response) *APIError {
	e := &APIError{Provider: t.vendor.Name, Status: resp.Status, RetryAfter: provider.RetryAfterHeader(resp.Header)}
	switch t.vendor.Format {
	case FormatAnthropic:
		var b struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(resp.Body, &b) == nil {
			e.Type, e.Message = b.Error.Type, b.Error.Message
		}
	case FormatGemini:
		var b struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
				Details []struct {
					Type   string `json:"@type"`
					Reason string `json:"reason"`
				} `json:"details"`
			} `json:"error"`
		}
		if json.Unmarshal(resp.Body, &b) == nil {
			e.Type, e.Message = b.Error.Status, b.Error.Message
			for _, d := range b.Error.Details {
				if d.Reason != "" {
					e.Code = d.Reason
				}
			}
		}
		if d := geminiRetryDelay(resp.Body); d > 0 {
			e.RetryAfter = d
		}
	case FormatOllama:
		var b struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(resp.Body, &b) == nil {
			e.Message = b.Error
		}
	default:
		// OpenAI and the compatible APIs: {"error":{"message","type","code"}};
		// some answer {"error":"…"}, {"message":"…"} or {"detail":"…"}.
		var b struct {
			Error   json.RawMessage `json:"error"`
			Message string          `json:"message"`
			Detail  any             `json:"detail"`
		}
		if json.Unmarshal(resp.Body, &b) == nil {
			var obj struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    any    `json:"code"`
			}
			var s string
			switch {
			case json.Unmarshal(b.Error, &obj) == nil && obj.Message != "":
				e.Message, e.Type = obj.Message, obj.Type
				if obj.Code != nil {
					e.Code = fmt.Sprint(obj.Code)
				}
			case json.Unmarshal(b.Error, &s) == nil && s != "":
				e.Message = s
			case b.Message != "":
				e.Message = b.Message
			case b.Detail != nil:
				e.Message = fmt.Sprint(b.Detail)
			}
		}
	}
	e.Message = strings.TrimSpace(provider.Redact(e.Message, t.key))
	if e.Message == "" {
		e.Message = http.StatusText(resp.Status)
	}
	if r := []rune(e.Message); len(r) > 300 {
		e.Message = string(r[:300]) + "…"
	}
	return e
}

// geminiRetryDelay reads google.rpc.RetryInfo's retryDelay ("2s", "1.5s").
func geminiRetryDelay(body []byte) time.Duration {
	var b struct {
		Error struct {
			Details []struct {
				Type       string `json:"@type"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	for _, d := range b.Error.Details {
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
				return dur
			}
		}
	}
	return 0
}

// chatCall is a ChatRequest with its model resolved.
type chatCall struct {
	model       string
	messages    []Message // user and assistant turns, system turns folded into system
	system      string
	maxTokens   int
	temperature *float64
}

func (p *Provider) chat(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	switch t.vendor.Format {
	case FormatAnthropic:
		return p.chatAnthropic(ctx, t, c)
	case FormatGemini:
		return p.chatGemini(ctx, t, c)
	case FormatOllama:
		return p.chatOllama(ctx, t, c)
	}
	return p.chatOpenAI(ctx, t, c)
}

// withSystem puts the system prompt first, as the formats without a
// separate system field expect.
func withSystem(c chatCall) []Message {
	if c.system == "" {
		return c.messages
	}
	return append([]Message{{Role: "system", Content: c.system}}, c.messages...)
}

func (p *Provider) chatOpenAI(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	body := map[string]any{"model": c.model, "messages": withSystem(c)}
	if c.maxTokens > 0 {
		body[t.vendor.maxTokensField] = c.maxTokens
	}
	if c.temperature != nil {
		body["temperature"] = *c.temperature
	}
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	latency, err := p.call(ctx, t, http.MethodPost, "/chat/completions", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	if len(out.Choices) == 0 {
		return ChatResponse{}, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer has no choices"}
	}
	ch := out.Choices[0]
	return ChatResponse{
		Text: contentText(ch.Message.Content), Model: firstNonEmpty(out.Model, c.model),
		FinishReason: finishReason(ch.FinishReason),
		Usage:        Usage{InputTokens: out.Usage.PromptTokens, OutputTokens: out.Usage.CompletionTokens},
		LatencyMs:    latency.Milliseconds(),
	}, nil
}

// contentText reads a message content that is a string or, in some
// compatible APIs, an array of {"type":"text","text":…} parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, part := range parts {
		if part.Type == "text" {
			b.WriteString(part.Text)
		}
	}
	return b.String()
}

func (p *Provider) chatAnthropic(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	maxTokens := c.maxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens // required by the Messages API
	}
	body := map[string]any{"model": c.model, "max_tokens": maxTokens, "messages": c.messages}
	if c.system != "" {
		body["system"] = c.system
	}
	if c.temperature != nil {
		body["temperature"] = min(*c.temperature, 1) // Anthropic's range is 0-1
	}
	var out struct {
		Model   string `json:"model"`
		Content *[]struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
		Usage      struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	latency, err := p.call(ctx, t, http.MethodPost, "/v1/messages", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	// A message may have no content blocks, but never lacks the field.
	if out.Content == nil {
		return ChatResponse{}, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer has no content"}
	}
	var text strings.Builder
	for _, part := range *out.Content {
		if part.Type == "text" {
			text.WriteString(part.Text)
		}
	}
	return ChatResponse{
		Text: text.String(), Model: firstNonEmpty(out.Model, c.model), FinishReason: finishReason(out.StopReason),
		Usage:     Usage{InputTokens: out.Usage.InputTokens, OutputTokens: out.Usage.OutputTokens},
		LatencyMs: latency.Milliseconds(),
	}, nil
}

type geminiPart struct {
	Text string `json:"text"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

func (p *Provider) chatGemini(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	contents := make([]geminiContent, len(c.messages))
	for i, m := range c.messages {
		role := "user"
		if m.Role == "assistant" {
			role = "model"
		}
		contents[i] = geminiContent{Role: role, Parts: []geminiPart{{Text: m.Content}}}
	}
	body := map[string]any{"contents": contents}
	if c.system != "" {
		body["systemInstruction"] = geminiContent{Parts: []geminiPart{{Text: c.system}}}
	}
	gen := map[string]any{}
	if c.maxTokens > 0 {
		gen["maxOutputTokens"] = c.maxTokens
	}
	if c.temperature != nil {
		gen["temperature"] = *c.temperature
	}
	if len(gen) > 0 {
		body["generationConfig"] = gen
	}
	var out struct {
		Candidates []struct {
			Content struct {
				Parts []geminiPart `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		PromptFeedback struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback"`
		UsageMetadata struct {
			PromptTokenCount     int `json:"promptTokenCount"`
			CandidatesTokenCount int `json:"candidatesTokenCount"`
		} `json:"usageMetadata"`
		ModelVersion string `json:"modelVersion"`
	}
	path := "/v1beta/models/" + url.PathEscape(strings.TrimPrefix(c.model, "models/")) + ":generateContent"
	latency, err := p.call(ctx, t, http.MethodPost, path, body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	res := ChatResponse{
		Model:     firstNonEmpty(out.ModelVersion, c.model),
		Usage:     Usage{InputTokens: out.UsageMetadata.PromptTokenCount, OutputTokens: out.UsageMetadata.CandidatesTokenCount},
		LatencyMs: latency.Milliseconds(),
	}
	if len(out.Candidates) == 0 {
		// A blocked prompt gets no candidate, only promptFeedback with its
		// blockReason; an answer with neither is not a Gemini answer.
		if out.PromptFeedback.BlockReason == "" {
			return ChatResponse{}, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer has no candidates"}
		}
		res.FinishReason = "content_filter"
		return res, nil
	}
	var text strings.Builder
	for _, part := range out.Candidates[0].Content.Parts {
		text.WriteString(part.Text)
	}
	res.Text, res.FinishReason = text.String(), finishReason(out.Candidates[0].FinishReason)
	return res, nil
}

func (p *Provider) chatOllama(ctx context.Context, t target, c chatCall) (ChatResponse, error) {
	// stream: false, or Ollama answers NDJSON chunks.
	body := map[string]any{"model": c.model, "messages": withSystem(c), "stream": false}
	opts := map[string]any{}
	if c.maxTokens > 0 {
		opts["num_predict"] = c.maxTokens
	}
	if c.temperature != nil {
		opts["temperature"] = *c.temperature
	}
	if len(opts) > 0 {
		body["options"] = opts
	}
	var out struct {
		Model   string `json:"model"`
		Message *struct {
			Content string `json:"content"`
		} `json:"message"`
		DoneReason      string `json:"done_reason"`
		PromptEvalCount int    `json:"prompt_eval_count"`
		EvalCount       int    `json:"eval_count"`
	}
	latency, err := p.call(ctx, t, http.MethodPost, "/api/chat", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	if out.Message == nil {
		return ChatResponse{}, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer has no message"}
	}
	return ChatResponse{
		Text: out.Message.Content, Model: firstNonEmpty(out.Model, c.model), FinishReason: finishReason(out.DoneReason),
		Usage:     Usage{InputTokens: out.PromptEvalCount, OutputTokens: out.EvalCount},
		LatencyMs: latency.Milliseconds(),
	}, nil
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

// listModels reads the vendor's model list. An answer without the list
// (a 200 of {} or null, as another JSON API behind a wrong base URL would
// give) is a *provider.ResponseError: taken for an empty list, it would
// pass every key check and health check.
func (p *Provider) listModels(ctx context.Context, t target) ([]Model, time.Duration, error) {
	var models []Model
	var latency time.Duration
	var err error
	listed := false
	switch t.vendor.Format {
	case FormatAnthropic:
		var out struct {
			Data *[]struct {
				ID          string `json:"id"`
				DisplayName string `json:"display_name"`
			} `json:"data"`
		}
		latency, err = p.call(ctx, t, http.MethodGet, "/v1/models?limit=1000", nil, &out)
		if listed = out.Data != nil; listed {
			for _, m := range *out.Data {
				models = append(models, Model{ID: m.ID, Name: m.DisplayName})
			}
		}
	case FormatGemini:
		var out struct {
			Models *[]struct {
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"models"`
		}
		latency, err = p.call(ctx, t, http.MethodGet, "/v1beta/models?pageSize=1000", nil, &out)
		if listed = out.Models != nil; listed {
			for _, m := range *out.Models {
				models = append(models, Model{ID: strings.TrimPrefix(m.Name, "models/"), Name: m.DisplayName})
			}
		}
	case FormatOllama:
		var out struct {
			Models *[]struct {
				Name string `json:"name"`
			} `json:"models"`
		}
		latency, err = p.call(ctx, t, http.MethodGet, "/api/tags", nil, &out)
		if listed = out.Models != nil; listed {
			for _, m := range *out.Models {
				models = append(models, Model{ID: m.Name})
			}
		}
	default:
		var out struct {
			Data *[]struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		latency, err = p.call(ctx, t, http.MethodGet, "/models", nil, &out)
		if listed = out.Data != nil; listed {
			for _, m := range *out.Data {
				models = append(models, Model{ID: m.ID})
			}
		}
	}
	if err != nil {
		return nil, latency, err
	}
	if !listed {
		return nil, latency, &provider.ResponseError{Provider: t.vendor.Label, Reason: "the answer has no model list"}
	}
	slices.SortFunc(models, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	return models, latency, nil
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}
