package markdown

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

type nodeKind uint8

const (
	nText nodeKind = iota
	nDelim
	nCode
	nLink
)

// node is a piece of a paragraph: text, a code span, a link, or a run of
// emphasis markers (*, _ or ~~) that may open or close formatting.
type node struct {
	kind  nodeKind
	text  string // text, code, or a link's label (still Markdown)
	url   string
	image bool

	ch                byte
	n, orig           int // markers left unmatched, markers in the run
	canOpen, canClose bool
	opens, closes     []string // tags this run opens and closes, in the order matched
}

// maxLinkSearch bounds how far a '[' looks for its ']': unbalanced
// brackets in a long text must not make the conversion quadratic.
const maxLinkSearch = 5000

var (
	uriRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*$`)
	emailRe = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*$`)
)

// inline renders a paragraph's inline Markdown. links is false inside a
// link's label (links do not nest).
func (r *renderer) inline(s string, links bool) {
	nodes := scan(s, links)
	matchEmphasis(nodes)
	for _, nd := range nodes {
		r.node(nd)
	}
}

func isPunct(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// scan splits s into nodes.
func scan(s string, links bool) []node {
	var nodes []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, node{kind: nText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			text.WriteByte(s[i+1])
			i += 2
		case c == '$':
			// TeX math stays as written: its \, _ and * are not Markdown.
			end := mathClose(s, i)
			if end < 0 {
				text.WriteByte(c)
				i++
				continue
			}
			text.WriteString(s[i:end])
			i = end
		case c == '`':
			n := runLen(s, i, '`')
			end := codeClose(s, i+n, n)
			if end < 0 {
				text.WriteString(s[i : i+n])
				i += n
				continue
			}
			flush()
			code := strings.ReplaceAll(s[i+n:end], "\n", " ")
			if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
				code = code[1 : len(code)-1]
			}
			nodes = append(nodes, node{kind: nCode, text: code})
			i = end + n
		case links && (c == '[' || c == '!' && i+1 < len(s) && s[i+1] == '['):
			start := i
			if c == '!' {
				start++
			}
			label, url, end, ok := link(s, start)
			if !ok {
				text.WriteByte(c)
				i++
				continue
			}
			flush()
			nodes = append(nodes, node{kind: nLink, text: label, url: url, image: c == '!'})
			i = end
		case links && c == '<':
			url, label, end, ok := autolink(s, i)
			if !ok {
				text.WriteByte(c)
				i++
				continue
			}
			flush()
			nodes = append(nodes, node{kind: nLink, text: label, url: url})
			i = end
		case c == '*' || c == '_' || c == '~':
			n := runLen(s, i, c)
			if c == '~' && n != 2 {
				text.WriteString(s[i : i+n])
				i += n
				continue
			}
			prev, next := ' ', ' '
			if i > 0 {
				prev, _ = utf8.DecodeLastRuneInString(s[:i])
			}
			if i+n < len(s) {
				next, _ = utf8.DecodeRuneInString(s[i+n:])
			}
			// CommonMark's flanking rules.
			left := !unicode.IsSpace(next) && (!isPunct(next) || unicode.IsSpace(prev) || isPunct(prev))
			right := !unicode.IsSpace(prev) && (!isPunct(prev) || unicode.IsSpace(next) || isPunct(next))
			canOpen, canClose := left, right
			if c == '_' { // snake_case stays as it is
				canOpen = left && (!right || isPunct(prev))
				canClose = right && (!left || isPunct(next))
			}
			flush()
			nodes = append(nodes, node{kind: nDelim, ch: c, n: n, orig: n, canOpen: canOpen, canClose: canClose})
			i += n
		default:
			j := i + 1
			for j < len(s) && !strings.ContainsRune("\\`[!<*_~$", rune(s[j])) {
				j++
			}
			text.WriteString(s[i:j])
			i = j
		}
	}
	flush()
	return nodes
}

// mathClose returns the index after the TeX span that starts at s[i]:
// $$…$$, or $…$ as Pandoc reads it (no space inside the dollars, no digit
// right after the closing one, so "$5 and $10" is not math); -1 if none.
func mathClose(s string, i int) int {
	if strings.HasPrefix(s[i:], "$$") {
		if e := strings.Index(s[i+2:], "$$"); e > 0 && e < maxLinkSearch {
			return i + 2 + e + 2
		}
		return -1
	}
	if i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == '\n' || s[i+1] == '$' {
		return -1
	}
	for j := i + 1; j < len(s) && j-i < maxLinkSearch; j++ {
		switch s[j] {
		case '\\':
			j++
		case '\n':
			if j+1 < len(s) && s[j+1] == '\n' {
				return -1
			}
		case '$':
			if s[j-1] == ' ' || j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' {
				continue
			}
			return j + 1
		}
	}
	return -1
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// codeClose finds the run of exactly n backticks that closes a code span
// whose content starts at from, or returns -1.
func codeClose(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := runLen(s, i, '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// link parses [label](url "title") with s[start] == '['; end is the index
// after it.
func link(s string, start int) (label, url string, end int, ok bool) {
	depth, j := 0, start
	for ; j < len(s) && j-start < maxLinkSearch; j++ {
		switch s[j] {
		case '\\':
			j++
			continue
		case '[':
			depth++
			continue
		case ']':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(s) || depth != 0 || j+1 >= len(s) || s[j+1] != '(' {
		return "", "", 0, false
	}
	label = s[start+1 : j]
	k := skipSpace(s, j+2)
	if k < len(s) && s[k] == '<' {
		e := strings.IndexAny(s[k+1:], ">\n")
		if e < 0 || s[k+1+e] != '>' {
			return "", "", 0, false
		}
		url, k = s[k+1:k+1+e], k+2+e
	} else {
		from, parens := k, 0
	dest:
		for ; k < len(s) && k-from < maxLinkSearch; k++ {
			switch s[k] {
			case '\\':
				k++
			case ' ', '\t', '\n':
				break dest
			case '(':
				parens++
			case ')':
				if parens == 0 {
					break dest
				}
				parens--
			}
		}
		if k > len(s) {
			k = len(s)
		}
		url = s[from:k]
	}
	k = skipSpace(s, k)
	if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		e := strings.IndexByte(s[k+1:], s[k])
		if e < 0 {
			return "", "", 0, false
		}
		k = skipSpace(s, k+2+e)
	}
	if k >= len(s) || s[k] != ')' {
		return "", "", 0, false
	}
	return label, unescape(url), k + 1, true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

// unescape removes the backslashes of escaped punctuation.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// autolink parses <scheme:…> and <user@host> with s[i] == '<'.
func autolink(s string, i int) (url, label string, end int, ok bool) {
	e := strings.IndexAny(s[i+1:], "<> \n\t")
	if e < 0 || s[i+1+e] != '>' {
		return "", "", 0, false
	}
	body := s[i+1 : i+1+e]
	switch {
	case uriRe.MatchString(body):
		return body, body, i + 2 + e, true
	case emailRe.MatchString(body):
		return "mailto:" + body, body, i + 2 + e, true
	}
	return "", "", 0, false
}

// linkable says whether Telegram may be given url as a link: the schemes
// a reader can safely follow.
func linkable(url string) bool {
	u := strings.ToLower(url)
	for _, p := range []string{"http://", "https://", "tg://", "mailto:"} {
		if strings.HasPrefix(u, p) && len(u) > len(p) {
			return true
		}
	}
	return false
}

// matchEmphasis pairs emphasis markers as CommonMark's "process emphasis"
// does, so the tags it adds always nest. Markers left unmatched stay text.
func matchEmphasis(nodes []node) {
	type key struct {
		ch   byte
		mod  int
		open bool
	}
	bottom := map[key]int{}
	var stack []int // indices of runs that may open
	for c := range nodes {
		cl := &nodes[c]
		if cl.kind != nDelim {
			continue
		}
		if cl.canClose {
			k := key{cl.ch, cl.orig % 3, cl.canOpen}
			for cl.n > 0 {
				lo, seen := bottom[k]
				if !seen {
					lo = -1
				}
				found := -1
				for j := len(stack) - 1; j >= 0 && stack[j] > lo; j-- {
					op := &nodes[stack[j]]
					if op.ch != cl.ch || op.n == 0 {
						continue
					}
					if cl.ch == '~' {
						if op.n >= 2 && cl.n >= 2 {
							found = j
							break
						}
						continue
					}
					if (op.canClose || cl.canOpen) && (op.orig+cl.orig)%3 == 0 && (op.orig%3 != 0 || cl.orig%3 != 0) {
						continue
					}
					found = j
					break
				}
				if found < 0 {
					bottom[k] = c - 1
					break
				}
				op := &nodes[stack[found]]
				use := 1
				if op.n >= 2 && cl.n >= 2 {
					use = 2
				}
				tag := "i"
				switch {
				case cl.ch == '~':
					tag = "s"
				case use == 2:
					tag = "b"
				}
				op.n -= use
				cl.n -= use
				op.opens = append(op.opens, tag)
				cl.closes = append(cl.closes, tag)
				if op.n == 0 {
					stack = stack[:found]
				} else {
					stack = stack[:found+1]
				}
			}
		}
		if cl.canOpen && cl.n > 0 {
			stack = append(stack, c)
		}
	}
}

// node renders one node.
func (r *renderer) node(nd node) {
	switch nd.kind {
	case nText:
		r.text(nd.text)
	case nCode:
		if strings.TrimSpace(nd.text) == "" {
			r.text(nd.text)
			return
		}
		r.open("code", "<code>")
		r.text(nd.text)
		r.close("code")
	case nDelim:
		for _, t := range nd.closes {
			r.close(t)
		}
		r.text(strings.Repeat(string(nd.ch), nd.n))
		for k := len(nd.opens) - 1; k >= 0; k-- {
			r.open(nd.opens[k], "<"+nd.opens[k]+">")
		}
	case nLink:
		label := &renderer{html: r.html}
		label.inline(nd.text, false)
		toks := label.tokens()
		text := plainText(toks)
		if strings.TrimSpace(text) == "" {
			toks, text = nil, ""
			if nd.image {
				toks, text = []token{{kind: kText, text: "image"}}, "image"
			}
		}
		switch {
		case !linkable(nd.url):
			r.append(toks)
		case r.html:
			r.open("a", `<a href="`+escapeAttr(nd.url)+`">`)
			if text == "" {
				r.text(nd.url)
			}
			r.append(toks)
			r.close("a")
		case text == "":
			r.text(nd.url)
		case text == nd.url || "mailto:"+text == nd.url:
			r.text(text)
		default:
			r.text(text + " (" + nd.url + ")")
		}
	}
}

// append adds tokens rendered apart, merging adjacent text.
func (r *renderer) append(toks []token) {
	for _, t := range toks {
		if t.kind == kText {
			r.text(t.text)
		} else {
			r.flush()
			r.toks = append(r.toks, t)
		}
	}
}
