package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// openAIWire is the OpenAI format, which DeepSeek, xAI, Mistral and Groq
// copy: the path prefix (/v1, /openai/v1) is whatever the base URL holds,
// so only the paths' ends are matched.
type openAIWire struct{}

func (openAIWire) models() []string { return []string{"gpt-4o-mini", "gpt-4o"} }

func (openAIWire) key(r *http.Request) string { return bearerKey(r) }

func (openAIWire) unauthorized(w http.ResponseWriter, key string, echo bool) {
	// OpenAI shows a wrong key masked; echo shows it whole, to test that
	// clients redact it.
	shown := key
	if !echo && len(key) > 8 {
		shown = key[:3] + strings.Repeat("*", 4) + key[len(key)-4:]
	}
	msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
	code := any(nil)
	if key != "" {
		msg = "Incorrect API key provided: " + shown + ". You can find your API key at https://platform.openai.com/account/api-keys."
		code = "invalid_api_key"
	}
	writeJSON(w, 401, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": code}})
}

func (o openAIWire) serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte, seq int) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		if !s.authorized(w, r) {
			return
		}
		data := make([]any, len(s.opts.Models))
		for i, m := range s.opts.Models {
			data[i] = map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "stand-in"}
		}
		writeJSON(w, 200, map[string]any{"object": "list", "data": data})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		if !s.authorized(w, r) {
			return
		}
		var req struct {
			Model               string    `json:"model"`
			Messages            []message `json:"messages"`
			MaxTokens           int       `json:"max_tokens"`
			MaxCompletionTokens int       `json:"max_completion_tokens"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			o.writeError(w, 400, "We could not parse the JSON body of your request.", "")
			return
		}
		if req.Model == "" {
			o.writeError(w, 400, "you must provide a model parameter", "")
			return
		}
		if !s.knownModel(req.Model) {
			writeJSON(w, 404, map[string]any{"error": map[string]any{
				"message": "The model `" + req.Model + "` does not exist or you do not have access to it.",
				"type":    "invalid_request_error", "param": nil, "code": "model_not_found"}})
			return
		}
		if len(req.Messages) == 0 {
			o.writeError(w, 400, "[] is too short - 'messages'", "")
			return
		}
		var texts []string
		last := ""
		for _, m := range req.Messages {
			texts = append(texts, m.Content)
			if m.Role == "user" {
				last = m.Content
			}
		}
		text, in, out, truncated := s.reply(texts, last, max(req.MaxTokens, req.MaxCompletionTokens))
		finish := "stop"
		if truncated {
			finish = "length"
		}
		writeJSON(w, 200, map[string]any{
			"id": fmt.Sprintf("chatcmpl-standin%d", seq), "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": finish}},
			"usage":   map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
		})
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"message": "Invalid URL (" + r.Method + " " + r.URL.Path + ")", "type": "invalid_request_error", "param": nil, "code": nil}})
	}
}

// writeError writes {"error":{"message","type","param","code"}}.
func (openAIWire) writeError(w http.ResponseWriter, status int, msg, _ string) {
	typ, code := "invalid_request_error", any(nil)
	switch {
	case status == 429:
		typ, code = "requests", "rate_limit_exceeded"
		if msg == "" {
			msg = "Rate limit reached for gpt-4o-mini in organization org-standin on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s."
		}
	case status >= 500:
		typ = "server_error"
		if msg == "" {
			msg = "The server had an error while processing your request. Sorry about that!"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}
