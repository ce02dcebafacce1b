package aitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ollamaWire is Ollama's native API. Ollama has no key of its own: one is
// checked only when Options.APIKey is set, as a proxy in front would.
type ollamaWire struct{}

func (ollamaWire) models() []string { return []string{"llama3.2:latest", "qwen2.5:0.5b"} }

func (ollamaWire) key(r *http.Request) string { return bearerKey(r) }

func (ollamaWire) unauthorized(w http.ResponseWriter, _ string, _ bool) {
	writeJSON(w, 401, map[string]any{"error": "unauthorized"})
}

func (ollamaWire) serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte, _ int) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/tags":
		if !s.authorized(w, r) {
			return
		}
		models := make([]any, len(s.opts.Models))
		for i, m := range s.opts.Models {
			models[i] = map[string]any{"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 1 << 30,
				"digest": "sha256:0000", "details": map[string]any{"format": "gguf", "family": "llama", "parameter_size": "3B"}}
		}
		writeJSON(w, 200, map[string]any{"models": models})
	case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
		if !s.authorized(w, r) {
			return
		}
		var req struct {
			Model    string    `json:"model"`
			Messages []message `json:"messages"`
			Stream   *bool     `json:"stream"`
			Options  struct {
				NumPredict int `json:"num_predict"`
			} `json:"options"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, 400, map[string]any{"error": "invalid character in request body"})
			return
		}
		if !s.knownModel(req.Model) && !s.knownModel(req.Model+":latest") {
			writeJSON(w, 404, map[string]any{"error": fmt.Sprintf("model %q not found, try pulling it first", req.Model)})
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
		text, in, out, truncated := s.reply(texts, last, req.Options.NumPredict)
		reason := "stop"
		if truncated {
			reason = "length"
		}
		final := map[string]any{
			"model": req.Model, "created_at": time.Now().UTC().Format(time.RFC3339Nano),
			"message": map[string]any{"role": "assistant", "content": text},
			"done":    true, "done_reason": reason, "total_duration": 1000000, "prompt_eval_count": in, "eval_count": out,
		}
		if req.Stream == nil || *req.Stream {
			// Ollama streams NDJSON unless told not to.
			w.Header().Set("Content-Type", "application/x-ndjson")
			enc := json.NewEncoder(w)
			_ = enc.Encode(map[string]any{"model": req.Model, "message": map[string]any{"role": "assistant", "content": text}, "done": false})
			final["message"] = map[string]any{"role": "assistant", "content": ""}
			_ = enc.Encode(final)
			return
		}
		writeJSON(w, 200, final)
	default:
		w.WriteHeader(404)
		_, _ = w.Write([]byte("404 page not found"))
	}
}

// writeError writes {"error":"…"}, by default the status text in lower
// case.
func (ollamaWire) writeError(w http.ResponseWriter, status int, msg, _ string) {
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
	}
	writeJSON(w, status, map[string]any{"error": msg})
}
