// Package markdown turns the Markdown AI models write into messages Telegram
// accepts.
//
// Models answer in Markdown: fenced code, **bold**, lists, tables, links.
// Telegram's own Markdown dialects do not fit it: MarkdownV2 rejects the
// whole message when one of _*[]()~`>#+-=|{}.! is left unescaped, and
// models put those characters everywhere (code, math, paths, emoticons).
// So Gatehouse converts to Telegram's HTML subset
// (https://core.telegram.org/bots/api#html-style), where only <, > and &
// need escaping, renders what Telegram lacks (headings, lists, tables,
// rules) as text it can show, and splits the result into messages of at
// most 4,096 UTF-16 code units after entity parsing, each of them valid
// HTML on its own. Broken input — an answer cut off inside a code block or
// after a lone ** — still yields valid HTML: unmatched markers are text and
// open blocks are closed at the end.
//
// ToPlain is the fallback for the day Telegram still refuses a part: the
// same text without markup, sent without parse_mode.
package markdown

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// MaxLength is Telegram's limit on a message's text after entity parsing,
// in UTF-16 code units.
const MaxLength = 4096

// Len returns the length of text as Telegram counts it against its limits:
// in UTF-16 code units (an emoji outside the Basic Multilingual Plane counts
// two). text is the text after entity parsing, not the HTML.
func Len(text string) int {
	n := 0
	for _, r := range text {
		// range yields U+FFFD, one unit, for a byte of invalid UTF-8.
		n += utf16.RuneLen(r)
	}
	return n
}

// ToHTML converts md to Telegram HTML in parts of 1 to MaxLength UTF-16
// code units of text each (counted after entity parsing), split at
// paragraph breaks where possible, then at line breaks, sentence ends and
// spaces. Formatting open at a split is closed at the end of one part and
// reopened at the start of the next, so each part parses on its own. It
// returns nil when md has nothing but whitespace.
func ToHTML(md string) []string {
	r := &renderer{html: true}
	r.document(md)
	return split(r.tokens(), true, MaxLength)
}

// ToPlain renders md as plain text without any markup — links as
// "text (url)" — in parts of 1 to MaxLength UTF-16 code units, split as
// ToHTML splits. It is for sending without parse_mode when Telegram
// refuses the HTML. It returns nil when md has nothing but whitespace.
func ToPlain(md string) []string {
	r := &renderer{html: false}
	r.document(md)
	return split(r.tokens(), false, MaxLength)
}

type kind uint8

const (
	kText kind = iota
	kOpen
	kClose
)

// token is a piece of the rendered message: text (unescaped), or a tag.
// An open tag's text is the whole tag as written ("<a href=\"…\">"), so it
// can be written again at the start of the next part.
type token struct {
	kind kind
	text string
	name string
}

// escapeText escapes what Telegram's HTML parser reads as markup.
func escapeText(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteByte(c)
		}
	}
}

// escapeAttr escapes an attribute value written between double quotes.
func escapeAttr(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b.WriteString("&quot;")
			continue
		}
		escapeText(&b, s[i:i+1])
	}
	return b.String()
}

// split cuts the rendered tokens into parts of at most limit UTF-16 units
// of text and writes each part, as HTML when html is set.
func split(toks []token, html bool, limit int) []string {
	var all []rune
	for _, t := range toks {
		if t.kind == kText {
			all = append(all, []rune(t.text)...)
		}
	}
	ranges := cuts(all, limit)
	if len(ranges) == 0 {
		return nil
	}
	w := writer{toks: toks, html: html}
	parts := make([]string, 0, len(ranges))
	for _, rg := range ranges {
		parts = append(parts, w.part(rg[0], rg[1]))
	}
	return parts
}

// cuts returns the [start, end) rune ranges of the parts: each holds at
// most limit UTF-16 units and ends with a non-space character; it starts
// with one too, or with the indentation of its first line. The other
// whitespace between two parts is dropped: Telegram would trim it.
func cuts(text []rune, limit int) [][2]int {
	end := len(text)
	for end > 0 && unicode.IsSpace(text[end-1]) {
		end--
	}
	var out [][2]int
	start := 0
	for {
		q := start
		for q < end && unicode.IsSpace(text[q]) {
			q++
		}
		if q >= end {
			return out
		}
		// A part that begins a line keeps the line's indentation (code
		// split between lines stays indented); other whitespace goes.
		ls := q
		for ls > start && text[ls-1] != '\n' {
			ls--
		}
		if ls > start || start > 0 && text[start-1] == '\n' {
			start = ls
		} else {
			start = q
		}
		// The furthest end this part may reach.
		e, units := start, 0
		for e < end {
			u := utf16.RuneLen(text[e])
			if u < 0 {
				u = 1
			}
			if units+u > limit {
				break
			}
			units += u
			e++
		}
		if e == end {
			return append(out, [2]int{start, end})
		}
		k := breakAt(text, start, e)
		stop := k
		for stop > start && unicode.IsSpace(text[stop-1]) {
			stop--
		}
		if stop == start { // only whitespace before the break: cut hard
			stop, k = e, e
		}
		out = append(out, [2]int{start, stop})
		start = k
	}
}

// breakAt chooses where a part that may run from start up to e (exclusive)
// ends: the last paragraph break in the second half of the window, else
// the last line break there, else the last sentence end, else the last
// space, else e itself (a rune boundary, so never inside a surrogate pair).
func breakAt(text []rune, start, e int) int {
	half := start + (e-start)/2
	if half <= start {
		half = start + 1
	}
	for k := e; k >= half; k-- {
		if k+1 < len(text) && text[k] == '\n' && text[k+1] == '\n' || k > 0 && text[k] == '\n' && text[k-1] == '\n' {
			return k
		}
	}
	for k := e; k >= half; k-- {
		if text[k] == '\n' {
			return k
		}
	}
	for k := e; k >= half; k-- {
		switch text[k-1] {
		case '.', '!', '?', '…', ';':
			if unicode.IsSpace(text[k]) {
				return k
			}
		case '。', '！', '？', '；':
			return k
		}
	}
	for k := e; k >= half; k-- {
		if unicode.IsSpace(text[k]) {
			return k
		}
	}
	return e
}

// writer writes parts from the token stream, keeping the stack of tags
// open at the current position.
type writer struct {
	toks  []token
	html  bool
	i     int // the current token
	off   int // runes of toks[i] already consumed
	pos   int // runes of text before the current position
	stack []token
}

// part writes the text of runes [s, e) with the tags around it: those open
// at s are reopened first, those still open at e are closed last.
func (w *writer) part(s, e int) string {
	// Skip to s: tags opened before s are reopened; tags closed at or
	// before s stay closed.
	for w.i < len(w.toks) {
		t := w.toks[w.i]
		switch t.kind {
		case kText:
			n := len([]rune(t.text)) - w.off
			if w.pos >= s {
				goto write
			}
			step := min(n, s-w.pos)
			w.advance(step, n)
		case kOpen:
			if w.pos >= s {
				goto write
			}
			w.stack = append(w.stack, t)
			w.i++
		case kClose:
			if w.pos > s {
				goto write
			}
			w.stack = w.stack[:len(w.stack)-1]
			w.i++
		}
	}
write:
	var b strings.Builder
	for _, t := range w.stack {
		b.WriteString(t.text)
	}
	for w.i < len(w.toks) {
		t := w.toks[w.i]
		switch t.kind {
		case kText:
			if w.pos >= e {
				goto done
			}
			r := []rune(t.text)[w.off:]
			step := min(len(r), e-w.pos)
			if w.html {
				escapeText(&b, string(r[:step]))
			} else {
				b.WriteString(string(r[:step]))
			}
			w.advance(step, len(r))
		case kOpen:
			if w.pos >= e {
				goto done
			}
			b.WriteString(t.text)
			w.stack = append(w.stack, t)
			w.i++
		case kClose:
			if w.pos > e {
				goto done
			}
			b.WriteString("</" + t.name + ">")
			w.stack = w.stack[:len(w.stack)-1]
			w.i++
		}
	}
done:
	for j := len(w.stack) - 1; j >= 0; j-- {
		b.WriteString("</" + w.stack[j].name + ">")
	}
	return b.String()
}

// advance consumes step runes of the current text token, of which n were
// left.
func (w *writer) advance(step, n int) {
	w.pos += step
	if step == n {
		w.i++
		w.off = 0
	} else {
		w.off += step
	}
}
