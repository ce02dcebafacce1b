package markdown_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/markdown"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

const corpusToken = "424242:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

func readCorpus(t *testing.T) []entry {
	t.Helper()
	f, err := os.Open("testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("corpus line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// noSpace drops all whitespace: parts may lose the whitespace at their
// edges (Telegram trims it), nothing else.
func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestCorpus sends every corpus answer, converted, through the stand-in
// Telegram with the real client: no part may be refused, and the parts'
// texts after parsing must add up to the whole rendering. The same for
// the plain-text fallback, sent without parse_mode.
func TestCorpus(t *testing.T) {
	corpus := readCorpus(t)
	long, giant, truncated := 0, 0, 0
	for _, e := range corpus {
		n := markdown.Len(e.Markdown)
		if n > markdown.MaxLength {
			long++
		}
		if n > 12000 {
			giant++
		}
		if strings.HasPrefix(e.Name, "truncated/") {
			truncated++
		}
	}
	if len(corpus) < 200 || long < 25 || giant < 3 || truncated < 10 {
		t.Fatalf("corpus has %d answers, %d over 4,096, %d over 12,000, %d truncated; want at least 200, 25, 3, 10", len(corpus), long, giant, truncated)
	}

	fake := telegramtest.NewServer(telegramtest.Options{Bots: []telegramtest.Bot{{Token: corpusToken}}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	bot := telegram.NewBot(srv.URL, corpusToken, provider.NewClient(srv.Client()))
	ctx := context.Background()

	for _, mode := range []struct {
		name      string
		parseMode string
		convert   func(string) []string
		whole     func(string) string
	}{
		{name: "html", parseMode: "HTML", convert: markdown.ToHTML, whole: markdown.HTMLText},
		{name: "plain", parseMode: "", convert: markdown.ToPlain, whole: markdown.PlainText},
	} {
		t.Run(mode.name, func(t *testing.T) {
			start := time.Now()
			var parts, maxLen, multi, cantParse, tooLong, other int
			var convertTime time.Duration
			for _, e := range corpus {
				c := time.Now()
				ps := mode.convert(e.Markdown)
				convertTime += time.Since(c)
				if len(ps) == 0 {
					t.Errorf("%s: no parts", e.Name)
					continue
				}
				parts += len(ps)
				if len(ps) > 1 {
					multi++
				}
				var got strings.Builder
				for i, p := range ps {
					msg, err := bot.SendMessage(ctx, telegram.SendMessage{ChatID: json.RawMessage("4242"), Text: p, ParseMode: mode.parseMode})
					var apiErr *telegram.APIError
					switch {
					case errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "can't parse entities"):
						cantParse++
						t.Errorf("%s part %d: %s\n%.300q", e.Name, i, apiErr.Description, p)
						continue
					case errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "message is too long"):
						tooLong++
						t.Errorf("%s part %d: %s", e.Name, i, apiErr.Description)
						continue
					case err != nil:
						other++
						t.Errorf("%s part %d: %v", e.Name, i, err)
						continue
					}
					maxLen = max(maxLen, markdown.Len(msg.Text))
					got.WriteString(msg.Text)
				}
				if want := noSpace(mode.whole(e.Markdown)); noSpace(got.String()) != want {
					t.Errorf("%s: the parts' text differs from the whole rendering (%d vs %d non-space runes)", e.Name, len([]rune(noSpace(got.String()))), len([]rune(want)))
				}
			}
			t.Logf("%s: %d answers (%d over 4,096 units, %d over 12,000, %d truncated) → %d parts, %d answers split; longest part %d UTF-16 units; can't parse entities: %d, message is too long: %d, other errors: %d; conversion %v, total with sending %v",
				mode.name, len(corpus), long, giant, truncated, parts, multi, maxLen, cantParse, tooLong, other, convertTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			if sent := len(fake.Messages(corpusToken)); sent == 0 {
				t.Fatal("the stand-in recorded no message")
			}
			fake.Reset()
		})
	}
}
