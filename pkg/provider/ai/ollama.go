package ai

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// FormatOllama is POST {base}/api/chat and GET {base}/api/tags, no key.
const FormatOllama Format = "ollama"

// ollama is Ollama's native API.
type ollama struct{}

func (ollama) authorize(h http.Header, key string) { bearer(h, key) }

func (ollama) chat(ctx context.Context, a api, c chatCall) (ChatResponse, error) {
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
	latency, err := a.call(ctx, http.MethodPost, "/api/chat", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	if out.Message == nil {
		return ChatResponse{}, a.malformed("the answer has no message")
	}
	return ChatResponse{
		Text: out.Message.Content, Model: firstNonEmpty(out.Model, c.model), FinishReason: finishReason(out.DoneReason),
		Usage:     Usage{InputTokens: out.PromptEvalCount, OutputTokens: out.EvalCount},
		LatencyMs: latency.Milliseconds(),
	}, nil
}

func (ollama) listModels(ctx context.Context, a api) ([]Model, time.Duration, error) {
	type entry struct {
		Name string `json:"name"`
	}
	return fetchModels(ctx, a, "/api/tags", "models", func(m entry) Model { return Model{ID: m.Name} })
}

// readError reads {"error":"…"}.
func (ollama) readError(body []byte) errorEnvelope {
	var env errorEnvelope
	var b struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil {
		env.message = b.Error
	}
	return env
}
