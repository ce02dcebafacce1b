package ai

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FormatGemini is POST {base}/v1beta/models/{model}:generateContent and
// GET {base}/v1beta/models with x-goog-api-key.
const FormatGemini Format = "gemini"

// gemini is the Gemini API's generateContent format.
type gemini struct{}

type geminiPart struct {
	Text string `json:"text"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

// authorize sends the key in a header, never as ?key=: a query string
// ends up in URLs that errors and proxies log.
func (gemini) authorize(h http.Header, key string) { h.Set("X-Goog-Api-Key", key) }

func (gemini) chat(ctx context.Context, a api, c chatCall) (ChatResponse, error) {
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
	latency, err := a.call(ctx, http.MethodPost, path, body, &out)
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
			return ChatResponse{}, a.malformed("the answer has no candidates")
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

func (gemini) listModels(ctx context.Context, a api) ([]Model, time.Duration, error) {
	type entry struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	return fetchModels(ctx, a, "/v1beta/models?pageSize=1000", "models", func(m entry) Model {
		return Model{ID: strings.TrimPrefix(m.Name, "models/"), Name: m.DisplayName}
	})
}

// readError reads google.rpc.Status: {"error":{"code","message","status",
// "details"}}, the code from ErrorInfo's reason (API_KEY_INVALID) and the
// wait from RetryInfo.
func (gemini) readError(body []byte) errorEnvelope {
	var env errorEnvelope
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
	if json.Unmarshal(body, &b) == nil {
		env.typ, env.message = b.Error.Status, b.Error.Message
		for _, d := range b.Error.Details {
			if d.Reason != "" {
				env.code = d.Reason
			}
		}
	}
	// Read on its own, so that a wait survives an envelope whose other
	// fields are of an unexpected type.
	env.retryAfter = geminiRetryDelay(body)
	return env
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
