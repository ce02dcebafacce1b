// Package aitest stands in for the AI providers' HTTP APIs, one Server per
// wire format, each checking authentication and answering with the
// documented paths, JSON shapes and error bodies:
//
//	OpenAI     …/chat/completions, …/models; Authorization: Bearer <key>;
//	           errors {"error":{"message","type","param","code"}}. OpenAI,
//	           DeepSeek, xAI (grok), Mistral and Groq speak this format; the
//	           path prefix (/v1, /openai/v1) is whatever the base URL holds.
//	Anthropic  /v1/messages, /v1/models; x-api-key and anthropic-version;
//	           errors {"type":"error","error":{"type","message"}}, 529 overloaded.
//	Gemini     /v1beta/models/{model}:generateContent, /v1beta/models;
//	           x-goog-api-key (or ?key=); errors {"error":{"code","message",
//	           "status","details"}}; a bad key is 400 API_KEY_INVALID.
//	Ollama     /api/chat, /api/tags; no key unless Options.APIKey is set;
//	           errors {"error":"…"}; streams NDJSON unless "stream": false.
//
// The reply to a chat is Options.Reply or "You said: <last user message>";
// token counts are word counts, and maxTokens truncates the reply with the
// format's "length" finish reason. A Server records every request, can be
// told to fail the next requests with a status (and Retry-After or Gemini's
// retryDelay), and to answer slowly. Unit tests mount it on httptest;
// integration and browser tests can run it as a standalone process with
// http.ListenAndServe(addr, aitest.NewServer(aitest.OpenAI, opts)).
package aitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Flavor is a wire format.
type Flavor string

// The wire formats.
const (
	OpenAI    Flavor = "openai"
	Anthropic Flavor = "anthropic"
	Gemini    Flavor = "gemini"
	Ollama    Flavor = "ollama"
)

// Options configure a Server.
type Options struct {
	// APIKey is the one key accepted. Empty means any request is accepted
	// (Ollama's default); a key is still required by the other formats.
	APIKey string
	// Models are the model ids the server lists and accepts; nil means a
	// default list for the flavor.
	Models []string
	// Reply is the text of every chat answer; empty echoes the last user
	// message.
	Reply string
	// EchoKeyInErrors puts the full key a request sent in the 401 message,
	// to test that clients redact it. Real APIs mask it.
	EchoKeyInErrors bool
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Failure makes the server answer the next requests with an error.
type Failure struct {
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// RetryDelay is Gemini's RetryInfo retryDelay ("2s") when not empty.
	RetryDelay string
	// Message defaults to the provider's wording for the status.
	Message string
	// Times is how many requests fail; 0 means 1, negative means all.
	Times int
}

// Server is the stand-in. It is an http.Handler, safe for concurrent use.
type Server struct {
	flavor Flavor
	opts   Options

	mu       sync.Mutex
	requests []Request
	failures []Failure
	delay    time.Duration
	seq      int
}

var defaultModels = map[Flavor][]string{
	OpenAI:    {"gpt-4o-mini", "gpt-4o"},
	Anthropic: {"claude-3-5-haiku-latest", "claude-sonnet-4-20250514"},
	Gemini:    {"gemini-2.0-flash", "gemini-1.5-pro"},
	Ollama:    {"llama3.2:latest", "qwen2.5:0.5b"},
}

// NewServer returns a stand-in for flavor. It does no I/O.
func NewServer(flavor Flavor, opts Options) *Server {
	if opts.Models == nil {
		opts.Models = defaultModels[flavor]
	}
	return &Server{flavor: flavor, opts: opts}
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Fail queues f for the next requests.
func (s *Server) Fail(f Failure) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// SetDelay makes every answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Reset forgets requests, failures and the delay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.failures, s.delay = nil, nil, 0
}

// ServeHTTP answers one request in the server's format.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	delay := s.delay
	f, failing := s.takeFailure()
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if failing {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		s.writeError(w, f.Status, f.Message, f.RetryDelay)
		return
	}
	switch s.flavor {
	case OpenAI:
		s.serveOpenAI(w, r, body, seq)
	case Anthropic:
		s.serveAnthropic(w, r, body, seq)
	case Gemini:
		s.serveGemini(w, r, body)
	case Ollama:
		s.serveOllama(w, r, body)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) takeFailure() (Failure, bool) {
	if len(s.failures) == 0 {
		return Failure{}, false
	}
	f := s.failures[0]
	if f.Times > 0 {
		s.failures[0].Times--
		if s.failures[0].Times == 0 {
			s.failures = s.failures[1:]
		}
	}
	return f, true
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// reply computes the answer to messages and the word counts, truncating to
// maxTokens words when positive.
func (s *Server) reply(texts []string, lastUser string, maxTokens int) (text string, in, out int, truncated bool) {
	for _, t := range texts {
		in += len(strings.Fields(t))
	}
	text = s.opts.Reply
	if text == "" {
		text = "You said: " + lastUser
	}
	words := strings.Fields(text)
	if maxTokens > 0 && len(words) > maxTokens {
		words, truncated = words[:maxTokens], true
		text = strings.Join(words, " ")
	}
	return text, in, len(words), truncated
}

func (s *Server) knownModel(m string) bool { return slices.Contains(s.opts.Models, m) }

// keyFrom returns the key a request sent the flavor's way.
func (s *Server) keyFrom(r *http.Request) string {
	switch s.flavor {
	case Anthropic:
		return r.Header.Get("X-Api-Key")
	case Gemini:
		if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
			return k
		}
		return r.URL.Query().Get("key")
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// authorized writes the flavor's authentication error and returns false
// when the request's key is missing or wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	key := s.keyFrom(r)
	if key == s.opts.APIKey {
		return true
	}
	shown := key
	if !s.opts.EchoKeyInErrors && len(key) > 8 {
		shown = key[:3] + strings.Repeat("*", 4) + key[len(key)-4:]
	}
	switch s.flavor {
	case OpenAI:
		msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
		code := any(nil)
		if key != "" {
			msg = "Incorrect API key provided: " + shown + ". You can find your API key at https://platform.openai.com/account/api-keys."
			code = "invalid_api_key"
		}
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": code}})
	case Anthropic:
		msg := "x-api-key header is required"
		if key != "" {
			msg = "invalid x-api-key"
			if s.opts.EchoKeyInErrors {
				msg += ": " + key
			}
		}
		writeJSON(w, 401, anthropicError("authentication_error", msg))
	case Gemini:
		if key == "" {
			writeJSON(w, 403, geminiError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED", ""))
			return false
		}
		msg := "API key not valid. Please pass a valid API key."
		if s.opts.EchoKeyInErrors {
			msg += " (" + key + ")"
		}
		body := geminiError(400, msg, "INVALID_ARGUMENT", "")
		body["error"].(map[string]any)["details"] = []any{
			map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
				"metadata": map[string]any{"service": "generativelanguage.googleapis.com"}},
		}
		writeJSON(w, 400, body)
	default:
		writeJSON(w, 401, map[string]any{"error": "unauthorized"})
	}
	return false
}

func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request, body []byte, seq int) {
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
			s.writeError(w, 400, "We could not parse the JSON body of your request.", "")
			return
		}
		if req.Model == "" {
			s.writeError(w, 400, "you must provide a model parameter", "")
			return
		}
		if !s.knownModel(req.Model) {
			writeJSON(w, 404, map[string]any{"error": map[string]any{
				"message": "The model `" + req.Model + "` does not exist or you do not have access to it.",
				"type":    "invalid_request_error", "param": nil, "code": "model_not_found"}})
			return
		}
		if len(req.Messages) == 0 {
			s.writeError(w, 400, "[] is too short - 'messages'", "")
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

func (s *Server) serveAnthropic(w http.ResponseWriter, r *http.Request, body []byte, seq int) {
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

func (s *Server) serveGemini(w http.ResponseWriter, r *http.Request, body []byte) {
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

func (s *Server) serveOllama(w http.ResponseWriter, r *http.Request, body []byte) {
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

// writeError writes the flavor's error body for status.
func (s *Server) writeError(w http.ResponseWriter, status int, msg, retryDelay string) {
	switch s.flavor {
	case OpenAI:
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
	case Anthropic:
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
	case Gemini:
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
	default:
		if msg == "" {
			msg = strings.ToLower(http.StatusText(status))
		}
		writeJSON(w, status, map[string]any{"error": msg})
	}
}

func anthropicError(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}

func geminiError(code int, msg, status, retryDelay string) map[string]any {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if retryDelay != "" {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retryDelay}}
	}
	return map[string]any{"error": e}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
