package markdown

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// renderer renders Markdown into tokens, as HTML (tags and text) or as
// plain text (text only).
type renderer struct {
	html bool
	toks []token
	buf  strings.Builder // text not yet in toks

	started bool // a block was written
	blank   bool // a blank line came since the last block
	lists   []int
}

func (r *renderer) text(s string) { r.buf.WriteString(s) }

// flush moves the pending text into a token.
func (r *renderer) flush() {
	if r.buf.Len() > 0 {
		r.toks = append(r.toks, token{kind: kText, text: r.buf.String()})
		r.buf.Reset()
	}
}

// tokens returns what was rendered.
func (r *renderer) tokens() []token {
	r.flush()
	return r.toks
}

func (r *renderer) open(name, tag string) {
	if r.html {
		r.flush()
		r.toks = append(r.toks, token{kind: kOpen, text: tag, name: name})
	}
}

func (r *renderer) close(name string) {
	if r.html {
		r.flush()
		r.toks = append(r.toks, token{kind: kClose, name: name})
	}
}

// plainText returns the text of tokens.
func plainText(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind == kText {
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// clean makes input safe to carry: valid UTF-8, \n line ends, no control
// characters but tab and newline (Telegram would drop or reject them).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\t' || r == '\n':
			return r
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return -1
		case r == '\uFEFF':
			return -1
		}
		return r
	}, s)
}

// document renders a whole Markdown text.
func (r *renderer) document(md string) {
	r.blocks(strings.Split(clean(md), "\n"), 0)
}

// sep starts a block: a line break after the previous one, or a blank
// line when the source had one.
func (r *renderer) sep() {
	if r.started {
		if r.blank {
			r.text("\n\n")
		} else {
			r.text("\n")
		}
	}
	r.started, r.blank = true, false
}

var (
	fenceRe   = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})[ \t]*([^`]*)$")
	headingRe = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	closingRe = regexp.MustCompile(`(^|[ \t])#+$`)
	ruleRe    = regexp.MustCompile(`^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$`)
	quoteRe   = regexp.MustCompile(`^ {0,3}>`)
	itemRe    = regexp.MustCompile(`^([ \t]*)([-*+•]|[0-9]{1,9}[.)])(?:[ \t]+(.*))?$`)
	delimRe   = regexp.MustCompile(`^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$`)
	setextRe  = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	langRe    = regexp.MustCompile(`[^A-Za-z0-9_+#.\-]`)
)

// indentOf is the width of s's leading whitespace, a tab counting 4.
func indentOf(s string) int {
	n := 0
	for _, c := range s {
		switch c {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return n
		}
	}
	return n
}

func isTable(lines []string, i int) bool {
	return i+1 < len(lines) && strings.Contains(lines[i], "|") &&
		strings.Contains(lines[i+1], "-") && delimRe.MatchString(lines[i+1]) &&
		(strings.Contains(lines[i+1], "|") || strings.Count(strings.TrimSpace(lines[i]), "|") > 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"))
}

// startsBlock says whether line i begins a block other than a paragraph.
func startsBlock(lines []string, i int) bool {
	l := lines[i]
	return fenceRe.MatchString(l) || headingRe.MatchString(l) || ruleRe.MatchString(l) ||
		quoteRe.MatchString(l) || itemRe.MatchString(l) || isTable(lines, i)
}

// blocks renders lines; depth is the blockquote nesting.
func (r *renderer) blocks(lines []string, depth int) {
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "":
			r.blank = true
			i++
		case fenceRe.MatchString(line):
			i = r.fence(lines, i)
		case headingRe.MatchString(line):
			m := headingRe.FindStringSubmatch(line)
			r.lists = nil
			r.heading(closingRe.ReplaceAllString(m[2], ""))
			i++
		case ruleRe.MatchString(line):
			r.lists = nil
			r.sep()
			r.text("──────────")
			i++
		case quoteRe.MatchString(line):
			r.lists = nil
			i = r.quote(lines, i, depth)
		case isTable(lines, i):
			r.lists = nil
			i = r.table(lines, i)
		case itemRe.MatchString(line):
			i = r.item(lines, i)
		default:
			i = r.paragraph(lines, i)
		}
	}
}

func (r *renderer) heading(s string) {
	r.sep()
	r.open("b", "<b>")
	r.inline(strings.TrimSpace(s), true)
	r.close("b")
}

// fence renders a fenced code block from line i; an unclosed one runs to
// the end, as CommonMark says. It returns the line after the block.
func (r *renderer) fence(lines []string, i int) int {
	m := fenceRe.FindStringSubmatch(lines[i])
	indent, marker := indentOf(m[1]), m[2]
	lang := ""
	if f := strings.Fields(m[3]); len(f) > 0 {
		lang = langRe.ReplaceAllString(f[0], "")
		lang = strings.TrimPrefix(lang, ".")
	}
	var code []string
	j := i + 1
	for ; j < len(lines); j++ {
		t := strings.TrimSpace(lines[j])
		if strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]) == "" {
			j++
			break
		}
		code = append(code, trimIndent(lines[j], indent))
	}
	r.sep()
	body := strings.Join(code, "\n")
	if strings.TrimSpace(body) == "" {
		return j
	}
	r.open("pre", "<pre>")
	if lang != "" {
		r.open("code", `<code class="language-`+escapeAttr(lang)+`">`)
	}
	r.text(body)
	if lang != "" {
		r.close("code")
	}
	r.close("pre")
	return j
}

// trimIndent removes up to n columns of leading whitespace.
func trimIndent(s string, n int) string {
	col := 0
	for i, c := range s {
		if col >= n || (c != ' ' && c != '\t') {
			return s[i:]
		}
		if c == '\t' {
			col += 4
		} else {
			col++
		}
	}
	return ""
}

// quote renders the blockquote starting at line i. Telegram does not nest
// blockquotes, so an inner one is rendered as its content.
func (r *renderer) quote(lines []string, i, depth int) int {
	var inner []string
	for ; i < len(lines) && quoteRe.MatchString(lines[i]); i++ {
		// Inner quotation marks go too: nested quotes are flattened.
		l := strings.TrimLeft(lines[i], " ")
		for strings.HasPrefix(l, ">") {
			l = strings.TrimPrefix(l[1:], " ")
		}
		inner = append(inner, l)
	}
	sub := &renderer{html: r.html}
	sub.blocks(inner, depth+1)
	toks := sub.tokens()
	if strings.TrimSpace(plainText(toks)) == "" {
		return i
	}
	r.sep()
	switch {
	case !r.html:
		r.text("> " + strings.ReplaceAll(plainText(toks), "\n", "\n> "))
	case depth > 0:
		r.append(toks)
	default:
		r.open("blockquote", "<blockquote>")
		r.append(toks)
		r.close("blockquote")
	}
	return i
}

// splitRow splits a table row at the pipes outside code spans and not
// escaped.
func splitRow(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "|")
	if strings.HasSuffix(s, "|") && !strings.HasSuffix(s, `\|`) {
		s = s[:len(s)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '|':
			cur.WriteString(`\|`)
			i++
			continue
		case c == '`':
			n := 1
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			if inCode == 0 {
				if strings.Contains(s[i+n:], strings.Repeat("`", n)) {
					inCode = n
				}
			} else if inCode == n {
				inCode = 0
			}
			cur.WriteString(s[i : i+n])
			i += n - 1
			continue
		case c == '|' && inCode == 0:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// width is how many monospace columns s takes: East Asian wide characters
// and emoji take two.
func width(s string) int {
	n := 0
	for _, c := range s {
		switch {
		case unicode.Is(unicode.Mn, c) || c == '\u200d' || c >= 0xfe00 && c <= 0xfe0f:
		case c >= 0x1100 && c <= 0x115f, c >= 0x2e80 && c <= 0xa4cf, c >= 0xac00 && c <= 0xd7a3,
			c >= 0xf900 && c <= 0xfaff, c >= 0xfe30 && c <= 0xfe4f, c >= 0xff00 && c <= 0xff60,
			c >= 0xffe0 && c <= 0xffe6, c >= 0x1f300 && c <= 0x1faff, c >= 0x20000:
			n += 2
		default:
			n++
		}
	}
	return n
}

// table renders a table as a monospace block with aligned columns:
// Telegram has no tables.
func (r *renderer) table(lines []string, i int) int {
	header := splitRow(lines[i])
	aligns := splitRow(lines[i+1])
	rows := [][]string{header}
	j := i + 2
	for ; j < len(lines) && strings.Contains(lines[j], "|") && strings.TrimSpace(lines[j]) != ""; j++ {
		rows = append(rows, splitRow(lines[j]))
	}
	cols := 0
	for _, row := range rows {
		cols = max(cols, len(row))
	}
	widths := make([]int, cols)
	cells := make([][]string, len(rows))
	for k, row := range rows {
		cells[k] = make([]string, cols)
		for c := range cols {
			if c < len(row) {
				sub := &renderer{}
				sub.inline(strings.ReplaceAll(row[c], `\|`, "|"), true)
				cells[k][c] = strings.ReplaceAll(strings.ReplaceAll(plainText(sub.tokens()), "<br>", " "), "\n", " ")
			}
			widths[c] = max(widths[c], width(cells[k][c]))
		}
	}
	var b strings.Builder
	for k, row := range cells {
		if k == 1 {
			for c := range cols {
				if c > 0 {
					b.WriteString("-+-")
				}
				b.WriteString(strings.Repeat("-", widths[c]))
			}
			b.WriteString("\n")
		}
		var line strings.Builder
		for c, cell := range row {
			if c > 0 {
				line.WriteString(" | ")
			}
			pad := strings.Repeat(" ", widths[c]-width(cell))
			if c < len(aligns) && strings.HasSuffix(aligns[c], ":") && !strings.HasPrefix(aligns[c], ":") {
				line.WriteString(pad + cell)
			} else {
				line.WriteString(cell + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		if k < len(cells)-1 {
			b.WriteString("\n")
		}
	}
	r.sep()
	r.open("pre", "<pre>")
	r.text(b.String())
	r.close("pre")
	return j
}

// item renders a list item from line i, with the lines that continue it.
func (r *renderer) item(lines []string, i int) int {
	m := itemRe.FindStringSubmatch(lines[i])
	indent := indentOf(m[1])
	for len(r.lists) > 0 && r.lists[len(r.lists)-1] > indent {
		r.lists = r.lists[:len(r.lists)-1]
	}
	if len(r.lists) == 0 || r.lists[len(r.lists)-1] < indent {
		r.lists = append(r.lists, indent)
	}
	level := len(r.lists) - 1
	pad := strings.Repeat("    ", level)
	bullet := "• "
	if c := m[2][0]; c >= '0' && c <= '9' {
		n, _ := strconv.Atoi(m[2][:len(m[2])-1])
		bullet = strconv.Itoa(n) + ". "
	}
	content := m[3]
	switch {
	case strings.HasPrefix(content, "[ ] "):
		bullet, content = bullet+"☐ ", content[4:]
	case strings.HasPrefix(content, "[x] "), strings.HasPrefix(content, "[X] "):
		bullet, content = bullet+"☑ ", content[4:]
	}
	j := i + 1
	for ; j < len(lines) && strings.TrimSpace(lines[j]) != "" && !startsBlock(lines, j); j++ {
		content += "\n" + pad + strings.Repeat(" ", utf8.RuneCountInString(bullet)) + strings.TrimSpace(lines[j])
	}
	r.sep()
	r.text(pad + bullet)
	r.inline(strings.TrimRight(content, " \t"), true)
	return j
}

// paragraph renders the lines from i up to a blank line or another block.
// Line breaks are kept: models break lines on purpose.
func (r *renderer) paragraph(lines []string, i int) int {
	var ls []string
	j := i
	for ; j < len(lines) && strings.TrimSpace(lines[j]) != ""; j++ {
		if j > i {
			if j == i+1 && setextRe.MatchString(lines[j]) {
				r.lists = nil
				r.heading(ls[0])
				return j + 1
			}
			if startsBlock(lines, j) {
				break
			}
		}
		l := strings.TrimSpace(lines[j])
		l = strings.TrimSuffix(l, `\`)
		ls = append(ls, l)
	}
	if indentOf(lines[i]) == 0 {
		r.lists = nil
	}
	r.sep()
	r.inline(strings.Join(ls, "\n"), true)
	return j
}
