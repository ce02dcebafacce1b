package aitest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// geminiWire is the Gemini API's generateContent format.
type geminiWire struct{}

func (geminiWire) models() []string { return []string{"gemini-2.0-flash", "gemini-1.5-pro"} }

// key reads x-goog-api-key or, as Gemini also accepts, ?key=.
func (geminiWire) key(r *http.Request) string {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

// unauthorized answers as Gemini does: 403 without a key, and 400
// API_KEY_INVALID (not 401) for a wrong one.
func (geminiWire) unauthorized(w http.ResponseWriter, key string, echo bool) {
	if key == "" {
		writeJSON(w, 403, geminiError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED", ""))
		return
	}
	msg := "API key not valid. Please pass a valid API key."
	if echo {
		msg += " (" + key + ")"
	}
	body := geminiError(400, msg, "INVALID_ARGUMENT", "")
	body["error"].(map[string]any)["details"] = []any{
		map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
			"metadata": map[string]any{"service": "generativelanguage.googleapis.com"}},
	}
	writeJSON(w, 400, body)
}

func (geminiWire) serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte, _ int) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == "/v1beta/models":
		if !s.authorized(w, r) {
			return
		}
		models := make([]any, len(s.opts.Models))
		for i, m := range s.opts.Models {
			models[i] = map[string]any{"name": "models/" + m, "version": "001", "displayName": "Stand-in " + m,
				"supportedGenerationMethods": []string{"generateContent", "countTokens"}}
		}
		writeJSON(w, 200, map[string]any{"models": models})
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/v1beta/models/") && strings.HasSuffix(path, ":generateContent"):
		if !s.authorized(w, r) {
			return
		}
		model := strings.TrimSuffix(strings.TrimPrefix(path, "/v1beta/models/"), ":generateContent")
		if !s.knownModel(model) {
			writeJSON(w, 404, geminiError(404, "models/"+model+" is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", "NOT_FOUND", ""))
			return
		}
		var req struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"contents"`
			SystemInstruction *struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"systemInstruction"`
			GenerationConfig struct {
				MaxOutputTokens int `json:"maxOutputTokens"`
			} `json:"generationConfig"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, 400, geminiError(400, "Invalid JSON payload received.", "INVALID_ARGUMENT", ""))
			return
		}
		if len(req.Contents) == 0 {
			writeJSON(w, 400, geminiError(400, "* GenerateContentRequest.contents: contents is not specified\n", "INVALID_ARGUMENT", ""))
			return
		}
		var texts []string
		if req.SystemInstruction != nil {
			for _, p := range req.SystemInstruction.Parts {
				texts = append(texts, p.Text)
			}
		}
		last := ""
		for _, c := range req.Contents {
			if c.Role != "user" && c.Role != "model" {
				writeJSON(w, 400, geminiError(400, "Please use a valid role: user, model.", "INVALID_ARGUMENT", ""))
				return
			}
			for _, p := range c.Parts {
				texts = append(texts, p.Text)
				if c.Role == "user" {
					last = p.Text
				}
			}
		}
		text, in, out, truncated := s.reply(texts, last, req.GenerationConfig.MaxOutputTokens)
		finish := "STOP"
		if truncated {
			finish = "MAX_TOKENS"
		}
		writeJSON(w, 200, map[string]any{
			"candidates": []any{map[string]any{
				"content":      map[string]any{"parts": []any{map[string]any{"text": text}}, "role": "model"},
				"finishReason": finish, "index": 0,
			}},
			"usageMetadata": map[string]any{"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out},
			"modelVersion":  model,
		})
	default:
		writeJSON(w, 404, geminiError(404, "Requested entity was not found.", "NOT_FOUND", ""))
	}
}

// writeError writes google.rpc.Status with the status's canonical code
// name, and RetryInfo when retryDelay is set.
func (geminiWire) writeError(w http.ResponseWriter, status int, msg, retryDelay string) {
	st := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}[status]
	if st == "" {
		st = "UNKNOWN"
	}
	if msg == "" {
		msg = map[string]string{"RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
			"INTERNAL":    "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
			"UNAVAILABLE": "The model is overloaded. Please try again later."}[st]
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, geminiError(status, msg, st, retryDelay))
}

func geminiError(code int, msg, status, retryDelay string) map[string]any {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if retryDelay != "" {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retryDelay}}
	}
	return map[string]any{"error": e}
}
