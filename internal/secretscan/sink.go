package secretscan

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
)

// Writer returns an io.Writer that records every line written to it as a
// log line from source. Each Write is taken as whole lines, as log and
// slog write them.
func (s *Scanner) Writer(source string) io.Writer { return lineWriter{s: s, source: source} }

type lineWriter struct {
	s      *Scanner
	source string
}

func (w lineWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(string(p), "\n") {
		w.s.record(KindLog, w.source, line)
	}
	return len(p), nil
}

// Handler returns a JSON slog.Handler whose every line is recorded as from
// source, at every level (debug lines leak as easily as errors).
func (s *Scanner) Handler(source string) slog.Handler {
	return slog.NewJSONHandler(s.Writer(source), &slog.HandlerOptions{Level: slog.LevelDebug})
}

// Logger returns a logger over Handler(source).
func (s *Scanner) Logger(source string) *slog.Logger { return slog.New(s.Handler(source)) }

// CaptureDefaultLoggers points slog.Default — and with it the standard
// library's log package, which slog.SetDefault redirects — at the scanner,
// so that code logging without an injected logger is scanned too. Its lines
// go nowhere else: a test that wants them reads its own logger. The
// returned function restores both.
func (s *Scanner) CaptureDefaultLoggers() (restore func()) {
	prevSlog := slog.Default()
	prevFlags, prevOut := log.Flags(), log.Writer()
	slog.SetDefault(slog.New(s.Handler("slog.Default")))
	return func() {
		slog.SetDefault(prevSlog)
		log.SetFlags(prevFlags)
		log.SetOutput(prevOut)
	}
}

// teeHandler sends each record to every handler.
type teeHandler []slog.Handler

// Tee returns a handler that passes every record to each of hs: a test's
// own logger and the scanner's, say.
func Tee(hs ...slog.Handler) slog.Handler { return teeHandler(hs) }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
