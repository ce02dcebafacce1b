package ai

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// FormatAnthropic is POST {base}/v1/messages and GET {base}/v1/models with
// x-api-key and anthropic-version.
const FormatAnthropic Format = "anthropic"

// AnthropicVersion is the anthropic-version header Gatehouse sends.
const AnthropicVersion = "2023-06-01"

// anthropic is the Messages API's format.
type anthropic struct{}

func (anthropic) authorize(h http.Header, key string) {
	h.Set("X-Api-Key", key)
	h.Set("Anthropic-Version", AnthropicVersion)
}

func (anthropic) chat(ctx context.Context, a api, c chatCall) (ChatResponse, error) {
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
	latency, err := a.call(ctx, http.MethodPost, "/v1/messages", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	// A message may have no content blocks, but never lacks the field.
	if out.Content == nil {
		return ChatResponse{}, a.malformed("the answer has no content")
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

func (anthropic) listModels(ctx context.Context, a api) ([]Model, time.Duration, error) {
	type entry struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
	}
	return fetchModels(ctx, a, "/v1/models?limit=1000", "data", func(m entry) Model { return Model{ID: m.ID, Name: m.DisplayName} })
}

// readError reads {"type":"error","error":{"type","message"}}.
func (anthropic) readError(body []byte) errorEnvelope {
	var env errorEnvelope
	var b struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil {
		env.typ, env.message = b.Error.Type, b.Error.Message
	}
	return env
}
