package telegramtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestParseHTML checks the parser against TDLib's own cases
// (test/message_entities.cpp, check_parse_html) and the errors bots meet.
func TestParseHTML(t *testing.T) {
	tests := []struct {
		name    string
		html    string
		want    string
		wantErr string
	}{
		{name: "plain", html: "hello", want: "hello"},
		{name: "empty", html: "", want: ""},
		{name: "the four named references and numeric ones", html: "&lt;&gt;&amp;&quot;&#65;&#x42;", want: `<>&"AB`},
		{name: "other named references stay literal", html: "&ge;&nbsp;&laquo;&Or;", want: "&ge;&nbsp;&laquo;&Or;"},
		{name: "a reference without its semicolon", html: "a &lt b", want: "a < b"},
		{name: "a numeric reference too long stays literal", html: "&#12345678;", want: "&#12345678;"},
		{name: "a bare ampersand", html: "Tom & Jerry &&", want: "Tom & Jerry &&"},
		{name: "nested tags", html: "<b>bold <i>both</i></b> <u>u</u><s>s</s><tg-spoiler>x</tg-spoiler>", want: "bold both usx"},
		{name: "tags are case-insensitive", html: "<B>x</b>", want: "x"},
		{name: "the short end tag", html: "<i>a</>", want: "a"},
		{name: "an end tag with spaces", html: "<i>a</i   >", want: "a"},
		{name: "a link", html: `<a href="https://example.com/?a=1&amp;b=2">x</a>`, want: "x"},
		{name: "unknown attributes are ignored", html: `<b aba = caba>x</b>`, want: "x"},
		{name: "an attribute without a value", html: `<blockquote expandable>q</blockquote>`, want: "q"},
		{name: "pre with a language", html: `<pre><code class="language-go">a &lt; b</code></pre>`, want: "a < b"},
		{name: "a spoiler span", html: `<span class="tg-spoiler">x</span>`, want: "x"},
		{name: "a custom emoji", html: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, want: "👍"},
		{name: "emoji and references", html: "🏟 🏟<i>🏟 &lt🏟</i>", want: "🏟 🏟🏟 <🏟"},

		{name: "an unsupported tag", html: "Use a <div> here", wantErr: `Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 6`},
		{name: "a bare less-than", html: "if a < b && c > d", wantErr: `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 5`},
		{name: "a less-than at the end", html: "a <", wantErr: `Bad Request: can't parse entities: Unclosed start tag at byte offset 2`},
		{name: "an unclosed start tag", html: "🏟 🏟&lt;<abacaba", wantErr: `Bad Request: can't parse entities: Unclosed start tag at byte offset 13`},
		{name: "unsupported with attributes", html: "🏟 🏟&lt;<abac aba>", wantErr: `Bad Request: can't parse entities: Unsupported start tag "abac" at byte offset 13`},
		{name: "an empty attribute name", html: "🏟 🏟&lt;<i   =aba>", wantErr: `Bad Request: can't parse entities: Empty attribute name in the tag "i" at byte offset 13`},
		{name: "a start tag without its end", html: "<b>bold", wantErr: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "an attribute then the end", html: "🏟 🏟&lt;<i    aba>", wantErr: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "i"`},
		{name: "an attribute cut after its equal sign", html: "🏟 🏟&lt;<i    aba  =  ", wantErr: `Bad Request: can't parse entities: Unclosed start tag "i" at byte offset 13`},
		{name: "a bad name token", html: "🏟 🏟&lt;<i    aba  =  190azAz-.,", wantErr: `Bad Request: can't parse entities: Unexpected end of name token at byte offset 27`},
		{name: "an unterminated quoted value", html: `🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>`, wantErr: `Bad Request: can't parse entities: Unclosed start tag at byte offset 13`},
		{name: "an end tag with nothing open", html: "x</b>", wantErr: `Bad Request: can't parse entities: Unexpected end tag at byte offset 1`},
		{name: "a cut end tag", html: "🏟 🏟&lt;<b></b></", wantErr: `Bad Request: can't parse entities: Unexpected end tag at byte offset 20`},
		{name: "an unclosed end tag", html: "🏟 🏟&lt;<i>a</i   ", wantErr: `Bad Request: can't parse entities: Unclosed end tag at byte offset 17`},
		{name: "a crossed end tag", html: "<i>x</b>", wantErr: `Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</i>", found "</b>"`},
		{name: "crossed nesting", html: "<b>a<i>b</b>c</i>", wantErr: `Bad Request: can't parse entities: Unmatched end tag at byte offset 8, expected "</i>", found "</b>"`},
		{name: "a span without the spoiler class", html: "<span>x</span>", wantErr: `Bad Request: can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "a bad custom emoji id", html: `<tg-emoji emoji-id="x">👍</tg-emoji>`, wantErr: `Bad Request: can't parse entities: Invalid custom emoji identifier specified`},
		{name: "a decoded surrogate", html: "&#xDFDF;", wantErr: `Bad Request: can't parse entities: Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units`},
		{name: "an HTML comment", html: "<!-- note -->", wantErr: `Bad Request: can't parse entities: Unsupported start tag "!--" at byte offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHTML(tt.html)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseHTML(%q) = %q, %v; want error %q", tt.html, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHTML(%q) = %q, %v; want %q", tt.html, got, err, tt.want)
			}
		})
	}
}

// TestSendMessageChecksText sends texts through the stand-in's HTTP API:
// parse errors, empty and over-long texts get Telegram's 400s, and the
// stored message holds the text after parsing.
func TestSendMessageChecksText(t *testing.T) {
	s := NewServer(Options{Bots: []Bot{{Token: token}}})
	srv := httptest.NewServer(s)
	defer srv.Close()

	tests := []struct {
		name      string
		text      string
		parseMode string
		wantCode  int
		wantDesc  string
		wantText  string
	}{
		{name: "HTML parsed", text: " <b>a &lt; b</b>\n", parseMode: "HTML", wantCode: 200, wantText: "a < b"},
		{name: "HTML rejected", text: "a <div> b", parseMode: "HTML", wantCode: 400, wantDesc: `Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 2`},
		{name: "tags only", text: "<b> </b>", parseMode: "HTML", wantCode: 400, wantDesc: "Bad Request: message text is empty"},
		{name: "without parse_mode tags are text", text: "a <div> b", wantCode: 200, wantText: "a <div> b"},
		{name: "4096 after parsing", text: "<b>" + strings.Repeat("&amp;", 4096) + "</b>", parseMode: "HTML", wantCode: 200, wantText: strings.Repeat("&", 4096)},
		{name: "4097 after parsing", text: strings.Repeat("x", 4097), parseMode: "HTML", wantCode: 400, wantDesc: "Bad Request: message is too long"},
		{name: "emoji count twice", text: strings.Repeat("😀", 2049), wantCode: 400, wantDesc: "Bad Request: message is too long"},
		{name: "2048 emoji fit", text: strings.Repeat("😀", 2048), wantCode: 200, wantText: strings.Repeat("😀", 2048)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			body, _ := json.Marshal(map[string]any{"chat_id": 7, "text": tt.text, "parse_mode": tt.parseMode})
			resp, err := http.Post(srv.URL+"/bot"+token+"/sendMessage", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var got struct {
				OK          bool   `json:"ok"`
				ErrorCode   int    `json:"error_code"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			if resp.StatusCode != tt.wantCode || got.Description != tt.wantDesc {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got.Description, tt.wantCode, tt.wantDesc)
			}
			if tt.wantCode != 200 {
				if got.ErrorCode != tt.wantCode || got.OK {
					t.Fatalf("body %s", raw)
				}
				return
			}
			msgs := s.Messages(token)
			if len(msgs) != 1 || msgs[0].Text != tt.wantText || msgs[0].Raw != tt.text {
				t.Fatalf("stored %+v, want text %q", msgs, tt.wantText)
			}
		})
	}
}
