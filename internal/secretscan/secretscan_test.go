package secretscan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

const (
	token  = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	apiKey = "sk-proj-SECRET/with+odd&chars<>0000"
)

// fakeReporter keeps what Check reports.
type fakeReporter struct{ errs []string }

func (f *fakeReporter) Helper() {}
func (f *fakeReporter) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func newScanner(t *testing.T) *Scanner {
	t.Helper()
	s := New()
	if !s.Register("bot token", token) || !s.Register("api key", apiKey) {
		t.Fatal("Register refused a long secret")
	}
	return s
}

// assertNoSecret fails when text shows any registered secret in any form.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, v := range []string{token, apiKey} {
		for _, e := range encodings(v) {
			if strings.Contains(text, e.text) {
				t.Errorf("%s shows a secret (%s): %s", what, e.name, text)
			}
		}
	}
	if strings.Contains(text, "AAHdqTcv") || strings.Contains(text, "SECRET/with") {
		t.Errorf("%s shows part of a secret: %s", what, text)
	}
}

// TestEveryChannelAndEncodingIsCaught plants the secret, in each encoding a
// careless line would use, in each kind of recorded text.
func TestEveryChannelAndEncodingIsCaught(t *testing.T) {
	jsonEsc, _ := json.Marshal(apiKey)
	wrapped := base64.StdEncoding.EncodeToString([]byte("Basic x:" + apiKey + ";"))
	plants := []struct {
		name, text, encoding string
	}{
		{"raw", "token=" + apiKey, "raw"},
		{"base64", "auth " + base64.StdEncoding.EncodeToString([]byte(apiKey)), "base64"},
		{"base64 url", base64.URLEncoding.EncodeToString([]byte(apiKey)), "base64url"},
		{"base64 inside a longer blob", wrapped, "base64"},
		{"hex", "key=" + hex.EncodeToString([]byte(apiKey)), "hex"},
		{"HEX", strings.ToUpper(hex.EncodeToString([]byte(apiKey))), "hex"},
		{"query escaped", "https://x/?k=" + url.QueryEscape(apiKey), "url-escaped"},
		{"json escaped", `{"k":` + string(jsonEsc) + `}`, "json-escaped"},
	}
	channels := map[string]func(s *Scanner, text string){
		"log writer":    func(s *Scanner, text string) { fmt.Fprintf(s.Writer("w"), "first line\nmsg %s\n", text) },
		"slog handler":  func(s *Scanner, text string) { s.Logger("l").Debug("m", "v", text) },
		"response body": func(s *Scanner, text string) { s.Response("get-gateway req-1", "{\"x\":\""+text+"\"}", nil) },
		"response header": func(s *Scanner, text string) {
			s.Response("get-gateway req-2", "", map[string]string{"Location": text})
		},
		"error": func(s *Scanner, text string) { s.Error("provider", fmt.Errorf("call failed: %w", errors.New(text))) },
	}
	for cname, plant := range channels {
		for _, p := range plants {
			t.Run(cname+"/"+p.name, func(t *testing.T) {
				s := newScanner(t)
				plant(s, p.text)
				r := &fakeReporter{}
				leaks := s.Check(r)
				if len(leaks) != 1 || len(r.errs) != 1 {
					t.Fatalf("found %d leaks (%d reports), want 1: %v", len(leaks), len(r.errs), leaks)
				}
				l := leaks[0]
				if l.Secret != "api key" {
					t.Errorf("leak names %q, want %q", l.Secret, "api key")
				}
				// A secret's two base64 alphabets agree where it has no + or
				// /, and then the one pattern is named base64.
				if !strings.HasPrefix(l.Encoding, strings.TrimSuffix(p.encoding, "url")) {
					t.Errorf("encoding = %q, want %q", l.Encoding, p.encoding)
				}
				if !strings.Contains(l.Excerpt, "«api key»") {
					t.Errorf("excerpt %q does not mark the find", l.Excerpt)
				}
				assertNoSecret(t, "the report", r.errs[0])
				if again := s.Check(r); len(again) != 0 {
					t.Errorf("the same leak was reported twice: %v", again)
				}
			})
		}
	}
}

func TestCleanTextAndNearMisses(t *testing.T) {
	s := newScanner(t)
	s.Response("r", `{"tokenLast4":"saw0","botId":"123456789"}`, map[string]string{"ETag": `"1"`})
	s.Error("e", errors.New("Incorrect API key provided: sk-****0000"))
	fmt.Fprintln(s.Writer("w"), token[:len(token)-1]+"X", apiKey[1:len(apiKey)-1])
	s.Error("nil", nil)
	if leaks := s.Check(&fakeReporter{}); len(leaks) != 0 {
		t.Errorf("clean text reported: %v", leaks)
	}
	if s.Register("short", "pass123") {
		t.Error("a 7-byte secret was registered")
	}
	fmt.Fprintln(s.Writer("w"), "password pass123")
	if leaks := s.Check(&fakeReporter{}); len(leaks) != 0 {
		t.Errorf("an unregistered short secret reported: %v", leaks)
	}
}

// TestLateRegistration: a secret registered after the text that holds it
// was recorded (a data key minted mid-test, say) is still found, and each
// leak once.
func TestLateRegistration(t *testing.T) {
	s := New()
	late := "late-secret-0123456789"
	s.Response("r1", "body "+late, nil)
	r := &fakeReporter{}
	if leaks := s.Check(r); len(leaks) != 0 {
		t.Fatalf("nothing registered yet, found %v", leaks)
	}
	s.Register("late", late)
	s.Error("e1", errors.New("wrapped: "+late))
	leaks := s.Check(r)
	if len(leaks) != 2 {
		t.Fatalf("found %d leaks, want the response and the error: %v", len(leaks), leaks)
	}
	if leaks[0].Where != "r1" || leaks[1].Where != "e1" || leaks[1].Kind != KindError {
		t.Errorf("leaks = %v", leaks)
	}
	if len(s.Check(r)) != 0 {
		t.Error("leaks reported again")
	}
}

// TestExcerptHidesNeighbours: the excerpt shows no other secret either, not
// even one cut at its edge.
func TestExcerptHidesNeighbours(t *testing.T) {
	s := newScanner(t)
	text := strings.Repeat("a", 70) + token + " " + apiKey + strings.Repeat("b", 200)
	s.Response("r", text, nil)
	leaks := s.Check(&fakeReporter{})
	if len(leaks) != 2 {
		t.Fatalf("found %v", leaks)
	}
	for _, l := range leaks {
		assertNoSecret(t, "excerpt", l.Excerpt)
		if !strings.Contains(l.Excerpt, "«bot token» «api key»") {
			t.Errorf("excerpt = %q", l.Excerpt)
		}
	}
}

// TestDrain: planted leaks a test drains neither fail nor count.
func TestDrain(t *testing.T) {
	s := newScanner(t)
	s.Error("plant", errors.New(token))
	if leaks := s.Drain(); len(leaks) != 1 {
		t.Fatalf("Drain found %v", leaks)
	}
	var out bytes.Buffer
	s.SetOutput(&out)
	if code := s.Finish(0); code != 0 || !strings.Contains(out.String(), "0 leaks") {
		t.Errorf("Finish = %d, %q", code, out.String())
	}
}

func TestRedact(t *testing.T) {
	s := newScanner(t)
	got := s.Redact("a " + token + " b " + url.QueryEscape(apiKey) + " c")
	if got != "a «bot token» b «api key» c" {
		t.Errorf("Redact = %q", got)
	}
}

func TestFind(t *testing.T) {
	s := newScanner(t)
	if got := s.Find("x " + token + " " + hex.EncodeToString([]byte(apiKey)) + " " + token); fmt.Sprint(got) != "[bot token api key]" {
		t.Errorf("Find = %v", got)
	}
	if got := s.Find("nothing here at all"); got != nil {
		t.Errorf("Find = %v", got)
	}
}

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leak  bool
		code  int
		want  int
		leaks string
	}{
		{"clean run", false, 0, 0, "0 leaks"},
		{"failed run stays failed", false, 2, 2, "0 leaks"},
		{"leak fails a passing run", true, 0, 1, "1 leaks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScanner(t)
			var out bytes.Buffer
			s.SetOutput(&out)
			fmt.Fprintln(s.Writer("w"), "line one")
			s.Response("r", "{}", nil)
			if tc.leak {
				s.Error("e", errors.New("boom "+token))
			}
			if got := s.Finish(tc.code); got != tc.want {
				t.Errorf("Finish(%d) = %d, want %d", tc.code, got, tc.want)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			summary := lines[len(lines)-1]
			wantSummary := tc.leaks + "; scanned 1 log lines, 1 responses, "
			if !strings.HasPrefix(summary, "secretscan: "+wantSummary) {
				t.Errorf("summary = %q, want prefix %q", summary, wantSummary)
			}
			if tc.leak && (len(lines) != 2 || !strings.Contains(lines[0], `LEAK: secret "bot token"`)) {
				t.Errorf("output = %q", out.String())
			}
			assertNoSecret(t, "Finish's output", out.String())
		})
	}
}

func TestDefaultLoggersAndTee(t *testing.T) {
	s := newScanner(t)
	restore := s.CaptureDefaultLoggers()
	slog.Info("via slog", "token", token)
	log.Printf("via log %s", apiKey)
	restore()
	slog.New(slog.NewTextHandler(io.Discard, nil)).Info("not captured " + token)
	var own bytes.Buffer
	tee := slog.New(Tee(slog.NewTextHandler(&own, nil), s.Handler("tee"))).With("k", "v").WithGroup("g")
	tee.Info("tee", "key", apiKey)
	leaks := s.Check(&fakeReporter{})
	var where []string
	for _, l := range leaks {
		where = append(where, l.Where+":"+l.Secret)
	}
	if fmt.Sprint(where) != "[slog.Default:bot token slog.Default:api key tee:api key]" {
		t.Errorf("leaks found in %v", where)
	}
	if !strings.Contains(own.String(), "g.key=") {
		t.Errorf("the tee's other handler got %q", own.String())
	}
}

// roundTrip answers every request with a canned KMS answer.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestKMSDataKeysAreRegistered: the plaintext of GenerateDataKey and
// Decrypt becomes a secret, so a data key in a log line is a leak.
func TestKMSDataKeysAreRegistered(t *testing.T) {
	s := New()
	keys := [][]byte{bytes.Repeat([]byte{0xA1, 0x07}, 16), bytes.Repeat([]byte{0x5C, 0xE3}, 16)}
	n := 0
	client := kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://kms.invalid"),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient: roundTrip(func(r *http.Request) (*http.Response, error) {
			body, _ := json.Marshal(map[string]any{"KeyId": "k", "CiphertextBlob": []byte("blob"), "Plaintext": keys[n]})
			n++
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
				Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		}),
	}, s.KMSOption)
	if _, err := client.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{KeyId: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: []byte("blob")}); err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Secrets != 2 {
		t.Fatalf("%d secrets registered, want 2 data keys", c.Secrets)
	}
	fmt.Fprintf(s.Writer("w"), "dek=%x\n", keys[0])
	s.Response("r", base64.StdEncoding.EncodeToString(keys[1]), nil)
	leaks := s.Check(&fakeReporter{})
	if len(leaks) != 2 || leaks[0].Secret != "KMS data key #1" || leaks[1].Secret != "KMS data key #2" {
		t.Errorf("leaks = %v", leaks)
	}
}

func TestCounts(t *testing.T) {
	s := newScanner(t)
	fmt.Fprint(s.Writer("w"), "a\nb\n\nc")
	s.Response("r", "x", nil)
	s.Error("e", errors.New("y"))
	c := s.Counts()
	if c.LogLines != 3 || c.Responses != 1 || c.Errs != 1 || c.Secrets != 2 || c.Encodings < 2*8 {
		t.Errorf("counts = %+v", c)
	}
}
