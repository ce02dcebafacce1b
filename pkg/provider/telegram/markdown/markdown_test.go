package markdown

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

func TestToHTML(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []string
	}{
		{name: "empty", md: "", want: nil},
		{name: "whitespace", md: " \n\t\n ", want: nil},
		{name: "emphasis", md: "**bold** __bold__ *it* _it_ ~~gone~~", want: []string{"<b>bold</b> <b>bold</b> <i>it</i> <i>it</i> <s>gone</s>"}},
		{name: "nested emphasis", md: "***both*** and **b *i* b**", want: []string{"<i><b>both</b></i> and <b>b <i>i</i> b</b>"}},
		{name: "snake_case and arithmetic stay", md: "my_var_name = 2 * 3 * 4; ~5 min", want: []string{"my_var_name = 2 * 3 * 4; ~5 min"}},
		{name: "escapes", md: `\*not\* \_em\_ 1 < 2 & 3 > 2 <div> &nbsp;`, want: []string{"*not* _em_ 1 &lt; 2 &amp; 3 &gt; 2 &lt;div&gt; &amp;nbsp;"}},
		{name: "inline code keeps markers", md: "run `a **b** <c> & d` now", want: []string{"run <code>a **b** &lt;c&gt; &amp; d</code> now"}},
		{name: "double backtick code", md: "`` a ` b ``", want: []string{"<code>a ` b</code>"}},
		{name: "fenced code with a language", md: "```go\nif a < b && c > d {\n}\n```", want: []string{`<pre><code class="language-go">if a &lt; b &amp;&amp; c &gt; d {` + "\n}</code></pre>"}},
		{name: "fenced code without a language", md: "~~~\nx\n~~~", want: []string{"<pre>x</pre>"}},
		{name: "unclosed fence runs to the end", md: "Look:\n```python\nprint('hi')\n", want: []string{"Look:\n<pre><code class=\"language-python\">print('hi')</code></pre>"}},
		{name: "lone markers are text", md: "a **lone and *star and `tick", want: []string{"a **lone and *star and `tick"}},
		{name: "heading", md: "## Step 1: `init`\ntext", want: []string{"<b>Step 1: <code>init</code></b>\ntext"}},
		{name: "lists", md: "- a\n  - b\n    - c\n- d\n\n1. one\n2. two", want: []string{"• a\n    • b\n        • c\n• d\n\n1. one\n2. two"}},
		{name: "blockquote", md: "> **Note** a < b\n> more", want: []string{"<blockquote><b>Note</b> a &lt; b\nmore</blockquote>"}},
		{name: "links", md: "[Go](https://go.dev/?a=1&b=\"2\") [x](javascript:alert(1)) [t](tg://user?id=1) [m](mailto:a@b.c) [rel](./x)", want: []string{`<a href="https://go.dev/?a=1&amp;b=&quot;2&quot;">Go</a> x <a href="tg://user?id=1">t</a> <a href="mailto:a@b.c">m</a> rel`}},
		{name: "image", md: "![diagram](https://x.io/d.png)", want: []string{`<a href="https://x.io/d.png">diagram</a>`}},
		{name: "autolink", md: "<https://example.com/a?b>", want: []string{`<a href="https://example.com/a?b">https://example.com/a?b</a>`}},
		{name: "table", md: "| op | meaning |\n|---|---:|\n| `a\\|b` | or |\n| && | and |", want: []string{"<pre>op  | meaning\n----+--------\na|b |      or\n&amp;&amp;  |     and</pre>"}},
		{name: "rule", md: "a\n\n***\n\nb", want: []string{"a\n\n──────────\n\nb"}},
		{name: "TeX stays as written", md: `$a_i * b_i$ and $$\int_0^1 x\,dx$$ but *x*`, want: []string{`$a_i * b_i$ and $$\int_0^1 x\,dx$$ but <i>x</i>`}},
		{name: "prices are not TeX", md: "from $5 to $10, *really*", want: []string{"from $5 to $10, <i>really</i>"}},
		{name: "control characters are dropped", md: "a\x00b\x1bc\r\nd", want: []string{"abc\nd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToHTML(tt.md)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ToHTML(%q)\n got %q\nwant %q", tt.md, got, tt.want)
			}
			checkParts(t, got, true)
		})
	}
}

func TestToPlain(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []string
	}{
		{name: "markers removed", md: "# T\n**b** *i* `c` ~~s~~", want: []string{"T\nb i c s"}},
		{name: "links with their address", md: "[Go](https://go.dev) <https://x.io> [x](./rel)", want: []string{"Go (https://go.dev) https://x.io x"}},
		{name: "quote", md: "> a\n> b", want: []string{"> a\n> b"}},
		{name: "code", md: "```sh\necho <x> & y\n```", want: []string{"echo <x> & y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToPlain(tt.md)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ToPlain(%q)\n got %q\nwant %q", tt.md, got, tt.want)
			}
			checkParts(t, got, false)
		})
	}
}

func TestLen(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{name: "ascii", text: "abc", want: 3},
		{name: "cyrillic", text: "привет", want: 6},
		{name: "chinese", text: "你好", want: 2},
		{name: "emoji outside the BMP", text: "😀👍🏽", want: 6},
		{name: "invalid UTF-8", text: "a\xffb", want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Len(tt.text); got != tt.want {
				t.Fatalf("Len(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

// TestSplit checks where long texts are cut and that formatting survives
// the cut.
func TestSplit(t *testing.T) {
	para := strings.Repeat("word ", 150) + "end." // 754 units
	code := ""
	for i := range 400 {
		code += fmt.Sprintf("fmt.Println(%d) // <%d>\n", i, i)
	}
	tests := []struct {
		name  string
		md    string
		parts int
		check func(t *testing.T, parts []string)
	}{
		{name: "paragraph breaks first", md: strings.Repeat(para+"\n\n", 8), parts: 2, check: func(t *testing.T, parts []string) {
			for _, p := range parts {
				if !strings.HasSuffix(p, "end.") {
					t.Errorf("part does not end at a paragraph: …%q", p[len(p)-20:])
				}
			}
		}},
		{name: "a long code block is closed and reopened with its language", md: "```go\n" + code + "```", parts: 3, check: func(t *testing.T, parts []string) {
			for _, p := range parts {
				if !strings.HasPrefix(p, `<pre><code class="language-go">fmt.Println(`) || !strings.HasSuffix(p, "</code></pre>") {
					t.Errorf("part %.60q…%q", p, p[len(p)-20:])
				}
			}
		}},
		{name: "code cut between lines keeps its indentation", md: "```python\nclass Doubler:\n" + strings.Repeat("    x = x * 2  # <double>\n", 300) + "```", parts: 2, check: func(t *testing.T, parts []string) {
			if !strings.HasPrefix(parts[1], `<pre><code class="language-python">    x = x * 2`) {
				t.Errorf("second part starts %.80q", parts[1])
			}
		}},
		{name: "bold across a cut", md: "**" + strings.Repeat("bold words here. ", 600) + "end.**", parts: 3, check: func(t *testing.T, parts []string) {
			for _, p := range parts {
				if !strings.HasPrefix(p, "<b>") || !strings.HasSuffix(p, ".</b>") && !strings.HasSuffix(p, "here</b>") {
					t.Errorf("part %.20q…%q", p, p[len(p)-20:])
				}
			}
		}},
		{name: "emoji are not cut in half", md: strings.Repeat("😀", 5000), parts: 3, check: func(t *testing.T, parts []string) {
			if Len(parts[0]) != 4096 || Len(parts[1]) != 4096 || Len(parts[2]) != 1808 {
				t.Errorf("lengths %d %d %d", Len(parts[0]), Len(parts[1]), Len(parts[2]))
			}
		}},
		{name: "entities are not cut", md: strings.Repeat("&", 9000), parts: 3, check: func(t *testing.T, parts []string) {
			if parts[0] != strings.Repeat("&amp;", 4096) {
				t.Errorf("first part %.40q…", parts[0])
			}
		}},
		{name: "words are not cut", md: strings.Repeat("abcdefghi ", 1000), parts: 3, check: func(t *testing.T, parts []string) {
			for _, p := range parts {
				if !strings.HasSuffix(p, "abcdefghi") {
					t.Errorf("part ends …%q", p[len(p)-12:])
				}
			}
		}},
		{name: "a link across a cut keeps its address", md: "[" + strings.Repeat("long label ", 420) + "](https://example.com/x)", parts: 2, check: func(t *testing.T, parts []string) {
			for _, p := range parts {
				if !strings.HasPrefix(p, `<a href="https://example.com/x">`) {
					t.Errorf("part %.40q", p)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := ToHTML(tt.md)
			checkParts(t, parts, true)
			if len(parts) != tt.parts {
				t.Fatalf("%d parts, want %d", len(parts), tt.parts)
			}
			tt.check(t, parts)
			checkParts(t, ToPlain(tt.md), false)
		})
	}
}

// checkParts asserts what the sender relies on: every part parses as
// Telegram parses it and holds 1 to MaxLength units of text.
func checkParts(t testing.TB, parts []string, html bool) {
	t.Helper()
	for i, p := range parts {
		text := p
		if html {
			var err error
			if text, err = telegramtest.ParseHTML(p); err != nil {
				t.Fatalf("part %d: %v\n%q", i, err, p)
			}
		}
		if strings.TrimSpace(text) == "" || Len(text) > MaxLength {
			t.Fatalf("part %d has %d units of text: %.80q", i, Len(text), text)
		}
	}
}

// FuzzToHTML checks that no input panics and that every part, HTML or
// plain, is one Telegram accepts.
func FuzzToHTML(f *testing.F) {
	for _, s := range []string{
		"", "**", "```go\nx", "*a **b* c**", "[a](b", "[a](https://x.y/(z)", "<a href=x>", "a < b && c > d",
		"| a | b |\n|---|---|\n| `|` | x |", "> > > q", "- a\n  - b\n1. c", "__init__.py", "~~a~~~", "&amp;&#0;",
		"😀" + strings.Repeat("x", 4095), strings.Repeat("**a ", 3000), "# \n##", "\\\\*a*", "`` ` ``", "![](javascript:x)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		checkParts(t, ToHTML(md), true)
		checkParts(t, ToPlain(md), false)
	})
}
