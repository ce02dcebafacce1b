package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// parseEntitiesPrefix is how the Bot API prefixes TDLib's parse errors.
const parseEntitiesPrefix = "Bad Request: can't parse entities: "

// ParseError is Telegram's answer to a text its HTML parser rejects. Its
// message is the Bot API's description, word for word, e.g.
// `Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 12`.
type ParseError struct {
	// Reason is TDLib's message, without the Bot API's prefix.
	Reason string
}

// Error returns the description the Bot API answers with.
func (e *ParseError) Error() string { return parseEntitiesPrefix + e.Reason }

// htmlTags are the start tags TDLib's parse_html accepts (tg-time is left
// out: the Bot API does not document it for bots).
var htmlTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "s": true, "strike": true, "del": true,
	"u": true, "ins": true, "tg-spoiler": true, "tg-emoji": true, "span": true, "pre": true, "code": true,
	"blockquote": true,
}

// ParseHTML parses s the way the Bot API parses a text sent with
// parse_mode "HTML" — a transcription of TDLib's parse_html
// (td/telegram/MessageEntity.cpp), which the Bot API server calls — and
// returns the text after entity parsing: tags removed, &lt; &gt; &amp;
// &quot; and numeric references decoded. Any other named reference (&nbsp;)
// stays literal text, as in TDLib; a bare '<' starts a tag and so is an
// error unless it happens to spell a supported one.
//
// Errors are *ParseError with TDLib's messages and byte offsets. The
// entities themselves (and TDLib's later clean-up, such as dropping a link
// with an invalid URL) are not modelled: they never fail a send.
func ParseHTML(s string) (text string, err error) {
	p := htmlParser{s: s}
	return p.parse()
}

type openTag struct {
	name     string
	argument string
}

type htmlParser struct {
	s string
}

// at reads s as TDLib reads its NUL-terminated buffer: 0 past the end.
func (p *htmlParser) at(i int) byte {
	if i < len(p.s) {
		return p.s[i]
	}
	return 0
}

// isSpace is TDLib's is_space, which counts NUL as space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v' || c == '\f'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func fail(format string, args ...any) error {
	return &ParseError{Reason: fmt.Sprintf(format, args...)}
}

func (p *htmlParser) parse() (string, error) {
	var out strings.Builder
	var nested []openTag
	decodedSurrogate := false
	for i := 0; i < len(p.s); i++ {
		c := p.s[i]
		if c == '&' {
			if r, next := p.decodeEntity(i); r != 0 {
				if r >= 0xD800 && r <= 0xDFFF {
					decodedSurrogate = true
				}
				out.WriteRune(r)
				i = next - 1
				continue
			}
		}
		if c != '<' {
			out.WriteByte(c)
			continue
		}
		begin := i
		i++
		if p.at(i) != '/' {
			tag, end, err := p.startTag(begin, i)
			if err != nil {
				return "", err
			}
			nested = append(nested, tag)
			i = end
			continue
		}
		if len(nested) == 0 {
			return "", fail("Unexpected end tag at byte offset %d", begin)
		}
		for !isSpace(p.at(i)) && p.at(i) != '>' {
			i++
		}
		endName := strings.ToLower(p.s[begin+2 : i])
		for isSpace(p.at(i)) && p.at(i) != 0 {
			i++
		}
		if p.at(i) != '>' {
			return "", fail("Unclosed end tag at byte offset %d", begin)
		}
		open := nested[len(nested)-1]
		if endName != "" && endName != open.name {
			return "", fail("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, open.name, endName)
		}
		if open.name == "tg-emoji" {
			if id, err := strconv.ParseInt(open.argument, 10, 64); err != nil || id <= 0 {
				return "", fail("Invalid custom emoji identifier specified")
			}
		}
		nested = nested[:len(nested)-1]
	}
	if len(nested) > 0 {
		return "", fail("Can't find end tag corresponding to start tag \"%s\"", nested[len(nested)-1].name)
	}
	if decodedSurrogate {
		return "", fail("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
	}
	return out.String(), nil
}

// startTag reads a start tag whose '<' is at begin and whose name starts at
// i; it returns the index of the tag's '>'.
func (p *htmlParser) startTag(begin, i int) (openTag, int, error) {
	for !isSpace(p.at(i)) && p.at(i) != '>' {
		i++
	}
	if p.at(i) == 0 {
		return openTag{}, 0, fail("Unclosed start tag at byte offset %d", begin)
	}
	name := strings.ToLower(p.s[begin+1 : i])
	if !htmlTags[name] {
		return openTag{}, 0, fail("Unsupported start tag \"%s\" at byte offset %d", name, begin)
	}
	tag := openTag{name: name}
	for p.at(i) != '>' {
		for p.at(i) != 0 && isSpace(p.at(i)) {
			i++
		}
		if p.at(i) == '>' {
			break
		}
		attrBegin := i
		for c := p.at(i); !isSpace(c) && c != '=' && c != '>' && c != '/' && c != '"' && c != '\''; c = p.at(i) {
			i++
		}
		attr := p.s[attrBegin:i]
		if attr == "" {
			return openTag{}, 0, fail("Empty attribute name in the tag \"%s\" at byte offset %d", name, begin)
		}
		for p.at(i) != 0 && isSpace(p.at(i)) {
			i++
		}
		if p.at(i) != '=' {
			if p.at(i) == 0 {
				return openTag{}, 0, fail("Unclosed start tag \"%s\" at byte offset %d", name, begin)
			}
			if name == "blockquote" && attr == "expandable" {
				tag.argument = "1"
			}
			continue
		}
		i++
		for p.at(i) != 0 && isSpace(p.at(i)) {
			i++
		}
		if p.at(i) == 0 {
			return openTag{}, 0, fail("Unclosed start tag \"%s\" at byte offset %d", name, begin)
		}
		var value string
		if q := p.at(i); q != '"' && q != '\'' {
			// A name token: letters, digits, periods and hyphens.
			tokenBegin := i
			for isAlnum(p.at(i)) || p.at(i) == '.' || p.at(i) == '-' {
				i++
			}
			value = strings.ToLower(p.s[tokenBegin:i])
			if !isSpace(p.at(i)) && p.at(i) != '>' {
				return openTag{}, 0, fail("Unexpected end of name token at byte offset %d", tokenBegin)
			}
		} else {
			i++
			var b strings.Builder
			for p.at(i) != q && p.at(i) != 0 {
				if p.at(i) == '&' {
					if r, next := p.decodeEntity(i); r != 0 {
						b.WriteRune(r)
						i = next
						continue
					}
				}
				b.WriteByte(p.at(i))
				i++
			}
			if p.at(i) == q {
				i++
			}
			value = b.String()
		}
		if p.at(i) == 0 {
			return openTag{}, 0, fail("Unclosed start tag at byte offset %d", begin)
		}
		switch {
		case name == "a" && attr == "href", name == "tg-emoji" && attr == "emoji-id":
			tag.argument = value
		case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
			tag.argument = value[len("language-"):]
		case name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
			tag.argument = value[len("tg-"):]
		case name == "blockquote" && attr == "expandable":
			tag.argument = "1"
		}
	}
	if name == "span" && tag.argument != "spoiler" {
		return openTag{}, 0, fail("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
	}
	return tag, i, nil
}

// decodeEntity is TDLib's decode_html_entity: &lt; &gt; &amp; &quot; and
// numeric references, with or without ';'. It returns 0 for anything else,
// which stays literal, and the index after the reference.
func (p *htmlParser) decodeEntity(pos int) (rune, int) {
	end := pos + 1
	var code uint32
	if p.at(pos+1) == '#' {
		end++
		if p.at(pos+2) == 'x' {
			end++
			for {
				c := p.at(end)
				var d uint32
				switch {
				case c >= '0' && c <= '9':
					d = uint32(c - '0')
				case c >= 'a' && c <= 'f':
					d = uint32(c-'a') + 10
				case c >= 'A' && c <= 'F':
					d = uint32(c-'A') + 10
				default:
					d = 16
				}
				if d == 16 {
					break
				}
				code = code*16 + d
				end++
			}
		} else {
			for c := p.at(end); c >= '0' && c <= '9'; c = p.at(end) {
				code = code*10 + uint32(c-'0')
				end++
			}
		}
		if code == 0 || code >= 0x10FFFF || end-pos >= 10 {
			return 0, pos
		}
	} else {
		for c := p.at(end); c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'; c = p.at(end) {
			end++
		}
		switch p.s[pos+1 : end] {
		case "lt":
			code = '<'
		case "gt":
			code = '>'
		case "amp":
			code = '&'
		case "quot":
			code = '"'
		default:
			return 0, pos
		}
	}
	if p.at(end) == ';' {
		end++
	}
	return rune(code), end
}

// utf16Len is the length Telegram's limits are counted in.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		// range yields U+FFFD for invalid UTF-8: one unit.
		n += utf16.RuneLen(r)
	}
	return n
}

// MaxMessageLength is the Bot API's limit on a message's text after entity
// parsing, in UTF-16 code units.
const MaxMessageLength = 4096

// checkText is sendMessage's and editMessageText's check of text under
// parseMode: it returns the text after entity parsing (with the surrounding
// whitespace Telegram trims removed) or the description of the 400 Telegram
// answers. Only HTML is parsed; Markdown and MarkdownV2 texts are taken as
// they are.
func checkText(text, parseMode string) (string, string) {
	if parseMode == "HTML" {
		parsed, err := ParseHTML(text)
		if err != nil {
			return "", err.Error()
		}
		text = parsed
	}
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", "Bad Request: message text is empty"
	case utf16Len(text) > MaxMessageLength:
		return "", "Bad Request: message is too long"
	}
	return text, ""
}
