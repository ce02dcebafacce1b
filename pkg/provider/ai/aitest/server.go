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
//
// As in package ai, each format is one file (openai.go, anthropic.go,
// gemini.go, ollama.go) and server.go holds what they share.
package aitest

import (
	"encoding/json"
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
	wire wire
	opts Options

	mu       sync.Mutex
	requests []Request
	failures []Failure
	delay    time.Duration
	seq      int
}

// wire is what differs between the stand-in's formats; each is one file
// (openai.go, anthropic.go, gemini.go, ollama.go), named by wireOf.
type wire interface {
	// models are the ids served when Options.Models is nil.
	models() []string
	// serve answers a request the server was not told to fail.
	serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte, seq int)
	// key returns the key r carries, where the format puts it.
	key(r *http.Request) string
	// unauthorized writes the format's answer to a missing (empty) or
	// wrong key; echo puts the whole key in the message.
	unauthorized(w http.ResponseWriter, key string, echo bool)
	// writeError writes the format's error body for status: msg, or the
	// vendor's wording for the status when empty, and Gemini's retryDelay.
	writeError(w http.ResponseWriter, status int, msg, retryDelay string)
}

// wireOf is the table of formats: a new format is its file, its Flavor
// and a case here.
func wireOf(f Flavor) wire {
	switch f {
	case OpenAI:
		return openAIWire{}
	case Anthropic:
		return anthropicWire{}
	case Gemini:
		return geminiWire{}
	case Ollama:
		return ollamaWire{}
	}
	return unknownWire{}
}

// unknownWire is a Flavor no file speaks: every request is 404, and a
// failure has the bare {"error":"…"} body, Ollama's.
type unknownWire struct{ ollamaWire }

func (unknownWire) models() []string { return nil }

func (unknownWire) serve(_ *Server, w http.ResponseWriter, r *http.Request, _ []byte, _ int) {
	http.NotFound(w, r)
}

// NewServer returns a stand-in for flavor. It does no I/O.
func NewServer(flavor Flavor, opts Options) *Server {
	format := wireOf(flavor)
	if opts.Models == nil {
		opts.Models = format.models()
	}
	return &Server{wire: format, opts: opts}
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
		s.wire.writeError(w, f.Status, f.Message, f.RetryDelay)
		return
	}
	s.wire.serve(s, w, r, body, seq)
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

// authorized writes the format's authentication error and returns false
// when the request's key is missing or wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	key := s.wire.key(r)
	if key == s.opts.APIKey {
		return true
	}
	s.wire.unauthorized(w, key, s.opts.EchoKeyInErrors)
	return false
}

// bearerKey reads Authorization: Bearer, where OpenAI and an Ollama behind
// an authenticating proxy take the key.
func bearerKey(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
