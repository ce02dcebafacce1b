package ai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FormatOpenAI is POST {base}/chat/completions and GET {base}/models with
// Authorization: Bearer; the base URL includes the version path.
const FormatOpenAI Format = "openai"

// openAI is the chat-completions format of OpenAI, which DeepSeek, xAI,
// Mistral and Groq copy.
type openAI struct {
	// maxTokensField is the request field for the output limit: OpenAI
	// deprecated max_tokens for max_completion_tokens (its reasoning models
	// refuse the old name); the compatible APIs still read max_tokens.
	maxTokensField string
}

func (openAI) authorize(h http.Header, key string) { bearer(h, key) }

func (f openAI) chat(ctx context.Context, a api, c chatCall) (ChatResponse, error) {
	body := map[string]any{"model": c.model, "messages": withSystem(c)}
	if c.maxTokens > 0 {
		body[f.maxTokensField] = c.maxTokens
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
	latency, err := a.call(ctx, http.MethodPost, "/chat/completions", body, &out)
	if err != nil {
		return ChatResponse{}, err
	}
	if len(out.Choices) == 0 {
		return ChatResponse{}, a.malformed("the answer has no choices")
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

func (openAI) listModels(ctx context.Context, a api) ([]Model, time.Duration, error) {
	type entry struct {
		ID string `json:"id"`
	}
	return fetchModels(ctx, a, "/models", "data", func(m entry) Model { return Model{ID: m.ID} })
}

// readError reads {"error":{"message","type","code"}}, and the shapes
// some compatible APIs answer instead: {"error":"…"}, {"message":"…"} or
// {"detail":…}.
func (openAI) readError(body []byte) errorEnvelope {
	var env errorEnvelope
	var b struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(body, &b) != nil {
		return env
	}
	var obj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	}
	var s string
	switch {
	case json.Unmarshal(b.Error, &obj) == nil && obj.Message != "":
		env.message, env.typ = obj.Message, obj.Type
		if obj.Code != nil {
			env.code = fmt.Sprint(obj.Code) // some compatible APIs send a number
		}
	case json.Unmarshal(b.Error, &s) == nil && s != "":
		env.message = s
	case b.Message != "":
		env.message = b.Message
	case b.Detail != nil:
		env.message = fmt.Sprint(b.Detail)
	}
	return env
}
