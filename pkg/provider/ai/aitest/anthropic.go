package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// anthropicWire is the Messages API's format.
type anthropicWire struct{}

func (anthropicWire) models() []string {
	return []string{"claude-3-5-haiku-latest", "claude-sonnet-4-20250514"}
}

func (anthropicWire) key(r *http.Request) string { return r.Header.Get("X-Api-Key") }

func (anthropicWire) unauthorized(w http.ResponseWriter, key string, echo bool) {
	msg := "x-api-key header is required"
	if key != "" {
		msg = "invalid x-api-key"
		if echo {
			msg += ": " + key
		}
	}
	writeJSON(w, 401, anthropicError("authentication_error", msg))
}

func (anthropicWire) serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte, seq int) {
	known := (r.Method == http.MethodGet && r.URL.Path == "/v1/models") || (r.Method == http.MethodPost && r.URL.Path == "/v1/messages")
	if !known {
		writeJSON(w, 404, anthropicError("not_found_error", "Not Found"))
		return
	}
	if r.Header.Get("Anthropic-Version") == "" {
		writeJSON(w, 400, anthropicError("invalid_request_error", "anthropic-version: header is required"))
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method == http.MethodGet {
		data := make([]any, len(s.opts.Models))
		for i, m := range s.opts.Models {
			data[i] = map[string]any{"type": "model", "id": m, "display_name": "Stand-in " + m, "created_at": "2025-01-01T00:00:00Z"}
		}
		first, last := "", ""
		if len(s.opts.Models) > 0 {
			first, last = s.opts.Models[0], s.opts.Models[len(s.opts.Models)-1]
		}
		writeJSON(w, 200, map[string]any{"data": data, "has_more": false, "first_id": first, "last_id": last})
		return
	}
	var req struct {
		Model     string    `json:"model"`
		MaxTokens int       `json:"max_tokens"`
		System    string    `json:"system"`
		Messages  []message `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, 400, anthropicError("invalid_request_error", "messages: invalid JSON"))
		return
	}
	switch {
	case req.MaxTokens <= 0:
		writeJSON(w, 400, anthropicError("invalid_request_error", "max_tokens: Field required"))
		return
	case !s.knownModel(req.Model):
		writeJSON(w, 404, anthropicError("not_found_error", "model: "+req.Model))
		return
	case len(req.Messages) == 0:
		writeJSON(w, 400, anthropicError("invalid_request_error", "messages: at least one message is required"))
		return
	}
	texts := []string{req.System}
	last := ""
	for _, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			writeJSON(w, 400, anthropicError("invalid_request_error",
				`messages: Unexpected role "`+m.Role+`". The Messages API accepts a top-level `+"`system`"+` parameter, not "system" as an input message role.`))
			return
		}
		texts = append(texts, m.Content)
		if m.Role == "user" {
			last = m.Content
		}
	}
	text, in, out, truncated := s.reply(texts, last, req.MaxTokens)
	stop := "end_turn"
	if truncated {
		stop = "max_tokens"
	}
	writeJSON(w, 200, map[string]any{
		"id": fmt.Sprintf("msg_standin%d", seq), "type": "message", "role": "assistant", "model": req.Model,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": out},
	})
}

// writeError writes {"type":"error","error":{"type","message"}}, with
// Anthropic's type for the status (529 is overloaded_error).
func (anthropicWire) writeError(w http.ResponseWriter, status int, msg, _ string) {
	typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
		413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[status]
	if typ == "" {
		typ = "api_error"
	}
	if msg == "" {
		msg = map[string]string{"rate_limit_error": "Number of requests has exceeded your rate limit.", "overloaded_error": "Overloaded",
			"api_error": "Internal server error"}[typ]
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, anthropicError(typ, msg))
}

func anthropicError(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}
