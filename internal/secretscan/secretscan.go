// Package secretscan is test support for secret hygiene. Tests register the
// secrets they use — bot tokens, API keys, webhook and signing secrets, KMS
// data keys, bearer tokens — and route every log line, response and error
// message they see through a Scanner. Check (per test) and Finish (per test
// binary, from TestMain through Main) then fail when any registered secret,
// in any of the encodings a careless log line or response would use, appears
// in any of them.
//
// A report names the secret and where it was found, with the secret itself
// replaced by its name: the scanner never prints what it guards.
//
// The package-level functions use one Scanner per test binary (Default), so
// a harness that records into it covers every test that uses the harness.
// The package is not a _test file so that every package's tests can import
// it; nothing outside tests should.
package secretscan

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// MinLen is the shortest secret worth registering: shorter strings occur
// in ordinary text by chance, and the index keys on the first MinLen bytes.
const MinLen = 8

// Kinds of recorded text, as reports and the summary name them.
const (
	KindLog      = "log line"
	KindResponse = "response"
	KindError    = "error"
)

// Reporter is the part of testing.TB that Check uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Leak is one registered secret found in recorded text.
type Leak struct {
	Secret   string // the secret's name, never its value
	Encoding string // how it was written: raw, base64, hex, url-escaped, json-escaped
	Kind     string // KindLog, KindResponse or KindError
	Where    string // the recorder's label
	// Excerpt is the text around the find with every registered secret
	// replaced by «its name».
	Excerpt string
}

// String describes the leak without the secret.
func (l Leak) String() string {
	return fmt.Sprintf("secret %q (%s) in %s of %s: %s", l.Secret, l.Encoding, l.Kind, l.Where, l.Excerpt)
}

type secret struct {
	name     string
	patterns []pattern
}

type pattern struct {
	secret   int // index into Scanner.secrets
	encoding string
	text     string
}

type record struct {
	kind  string
	where string
	text  string
}

// Scanner keeps registered secrets and recorded text. It is safe for
// concurrent use. The zero value is not usable; call New.
type Scanner struct {
	mu       sync.Mutex
	secrets  []secret
	values   map[string]bool
	patterns []pattern
	// index maps the first MinLen bytes of every pattern to the patterns
	// that start with them, so a scan costs one lookup per byte of text
	// however many secrets there are (a run registers thousands of KMS
	// data keys).
	index   map[uint64][]int
	records []record
	// checkedRecords and checkedPatterns say how far Check got: records
	// before the first were scanned for patterns before the second.
	checkedRecords  int
	checkedPatterns int
	leaks           []Leak
	out             io.Writer
	dataKeys        atomic.Int64 // numbers KMS data keys in their names
}

// New returns an empty Scanner that prints Finish's lines to os.Stderr.
func New() *Scanner {
	return &Scanner{values: map[string]bool{}, index: map[uint64][]int{}, out: os.Stderr}
}

// SetOutput sets where Finish prints; tests of the scanner capture it.
func (s *Scanner) SetOutput(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = w
}

// Register adds a secret under name, with the encodings it would take in a
// log line, a URL, a JSON string or a binary dump. It ignores a secret
// shorter than MinLen (reporting false) and one already registered.
func (s *Scanner) Register(name, value string) bool {
	if len(value) < MinLen {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values[value] {
		return true
	}
	s.values[value] = true
	id := len(s.secrets)
	sec := secret{name: name}
	for _, e := range encodings(value) {
		p := pattern{secret: id, encoding: e.name, text: e.text}
		sec.patterns = append(sec.patterns, p)
		s.index[key(p.text)] = append(s.index[key(p.text)], len(s.patterns))
		s.patterns = append(s.patterns, p)
	}
	s.secrets = append(s.secrets, sec)
	return true
}

type encoded struct{ name, text string }

// encodings returns value as it would appear written raw, base64 (standard
// and URL alphabets, at each of the three byte alignments it can have inside
// a longer encoded string), hex, URL-escaped and JSON-escaped, without
// duplicates and without fragments shorter than MinLen.
func encodings(value string) []encoded {
	raw := []byte(value)
	out := []encoded{{"raw", value}}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"base64", base64.RawStdEncoding}, {"base64url", base64.RawURLEncoding}} {
		for offset := 0; offset < 3; offset++ {
			// Only the characters that depend on the secret's bytes alone
			// are kept: the ones the neighbouring bytes share are dropped.
			b := append(make([]byte, offset), raw...)
			text := enc.e.EncodeToString(b)
			start, end := (offset*8+5)/6, len(b)*8/6
			if end > start {
				out = append(out, encoded{enc.name, text[start:end]})
			}
		}
	}
	out = append(out,
		encoded{"hex", hex.EncodeToString(raw)},
		encoded{"hex", strings.ToUpper(hex.EncodeToString(raw))},
		encoded{"url-escaped", url.QueryEscape(value)},
		encoded{"url-escaped", url.PathEscape(value)},
	)
	if b, err := json.Marshal(value); err == nil {
		out = append(out, encoded{"json-escaped", string(b[1 : len(b)-1])})
	}
	// Go's encoder escapes <, > and &; others do not. A JSON document
	// logged as a string in a JSON log line is escaped twice.
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(value) == nil {
		t := strings.TrimSpace(sb.String())
		out = append(out, encoded{"json-escaped", t[1 : len(t)-1]})
	}
	for _, e := range out[len(out)-2:] {
		if b, err := json.Marshal(e.text); err == nil {
			out = append(out, encoded{"json-escaped", string(b[1 : len(b)-1])})
		}
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, e := range out {
		if len(e.text) >= MinLen && !seen[e.text] {
			seen[e.text] = true
			uniq = append(uniq, e)
		}
	}
	return uniq
}

func key(s string) uint64 { return binary.LittleEndian.Uint64([]byte(s[:MinLen])) }

// record keeps text for the next Check.
func (s *Scanner) record(kind, where, text string) {
	if text == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, record{kind: kind, where: where, text: text})
}

// Response records an HTTP response: its body and every header value.
// where says which (a function name and request id, say).
func (s *Scanner) Response(where, body string, headers map[string]string) {
	var b strings.Builder
	b.WriteString(body)
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "\n%s: %s", k, headers[k])
	}
	s.record(KindResponse, where, b.String())
}

// Error records err's message; a nil err records nothing.
func (s *Scanner) Error(where string, err error) {
	if err != nil {
		s.record(KindError, where, err.Error())
	}
}

// Find returns the names of the registered secrets that text contains, in
// registration order: for an assertion on the spot, without recording.
func (s *Scanner) Find(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, p := range s.scan(text, s.index, 0) {
		if n := s.secrets[p.secret].name; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// scan returns the patterns (numbered from first) that occur in text.
// Callers hold s.mu.
func (s *Scanner) scan(text string, index map[uint64][]int, first int) []pattern {
	var found []pattern
	seen := map[int]bool{}
	for i := 0; i+MinLen <= len(text); i++ {
		for _, pi := range index[key(text[i:])] {
			if pi < first || seen[pi] {
				continue
			}
			if p := s.patterns[pi]; strings.HasPrefix(text[i:], p.text) {
				seen[pi] = true
				found = append(found, p)
			}
		}
	}
	return found
}

// check scans what is new since the last call — new records for every
// pattern, old records for new patterns — and returns the new leaks.
// Callers hold s.mu.
func (s *Scanner) check() []Leak {
	var leaks []Leak
	newIndex := map[uint64][]int{}
	for pi := s.checkedPatterns; pi < len(s.patterns); pi++ {
		k := key(s.patterns[pi].text)
		newIndex[k] = append(newIndex[k], pi)
	}
	for ri, r := range s.records {
		index := s.index
		if ri < s.checkedRecords {
			if len(newIndex) == 0 {
				continue
			}
			index = newIndex
		}
		reported := map[int]bool{}
		for _, p := range s.scan(r.text, index, 0) {
			if reported[p.secret] {
				continue
			}
			reported[p.secret] = true
			leaks = append(leaks, Leak{Secret: s.secrets[p.secret].name, Encoding: p.encoding, Kind: r.kind, Where: r.where,
				Excerpt: s.excerpt(r.text, p.secret)})
		}
	}
	s.checkedRecords, s.checkedPatterns = len(s.records), len(s.patterns)
	return leaks
}

// excerptRadius is how much text a report shows on each side of a find.
const excerptRadius = 80

// Redact returns text with every registered secret, in every encoding,
// replaced by «its name»: what a test may print of text that failed a
// check.
func (s *Scanner) Redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redact(text)
}

// redact is Redact for callers that hold s.mu.
func (s *Scanner) redact(text string) string {
	pats := slices.Clone(s.patterns)
	// Longest first, so an encoding that contains another is replaced whole.
	sort.SliceStable(pats, func(i, j int) bool { return len(pats[i].text) > len(pats[j].text) })
	for _, p := range pats {
		if strings.Contains(text, p.text) {
			text = strings.ReplaceAll(text, p.text, "«"+s.secrets[p.secret].name+"»")
		}
	}
	return text
}

// excerpt returns the text around the first occurrence of secret number
// sec, redacted first, so that no secret — not even part of one at the
// excerpt's edge — is shown. Callers hold s.mu.
func (s *Scanner) excerpt(text string, sec int) string {
	text = s.redact(text)
	marker := "«" + s.secrets[sec].name + "»"
	at := max(strings.Index(text, marker), 0)
	from, to := max(at-excerptRadius, 0), min(at+len(marker)+excerptRadius, len(text))
	return strings.Join(strings.Fields(strings.ToValidUTF8(text[from:to], "?")), " ")
}

// Check fails r once for every secret found in text recorded since the
// previous Check (or, for secrets registered since, in any text), and
// returns what it found.
func (s *Scanner) Check(r Reporter) []Leak {
	r.Helper()
	s.mu.Lock()
	leaks := s.check()
	s.leaks = append(s.leaks, leaks...)
	s.mu.Unlock()
	for _, l := range leaks {
		r.Errorf("secretscan: %s", l)
	}
	return leaks
}

// Drain scans like Check but only returns what it finds: for a test that
// plants leaks on purpose to prove the wiring, so that they neither fail
// it nor count as the run's leaks.
func (s *Scanner) Drain() []Leak {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check()
}

// Counts is what a Scanner has seen.
type Counts struct {
	Secrets, Encodings        int
	LogLines, Responses, Errs int
	Leaks                     int
}

// Counts returns the totals so far.
func (s *Scanner) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{Secrets: len(s.secrets), Encodings: len(s.patterns), Leaks: len(s.leaks)}
	for _, r := range s.records {
		switch r.kind {
		case KindLog:
			c.LogLines++
		case KindResponse:
			c.Responses++
		case KindError:
			c.Errs++
		}
	}
	return c
}

// Finish scans what no Check has scanned, prints every leak and one summary
// line, and returns code, or 1 when this scan found a leak (leaks an earlier
// Check found have already failed their test). Call it once, after the
// tests: Main does.
func (s *Scanner) Finish(code int) int {
	s.mu.Lock()
	leaks := s.check()
	s.leaks = append(s.leaks, leaks...)
	out := s.out
	s.mu.Unlock()
	for _, l := range leaks {
		fmt.Fprintf(out, "secretscan: LEAK: %s\n", l)
	}
	c := s.Counts()
	fmt.Fprintf(out, "secretscan: %d leaks; scanned %d log lines, %d responses, %d errors for %d secrets (%d encodings)\n",
		c.Leaks, c.LogLines, c.Responses, c.Errs, c.Secrets, c.Encodings)
	if len(leaks) > 0 && code == 0 {
		return 1
	}
	return code
}
