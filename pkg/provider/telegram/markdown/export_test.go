package markdown

// HTMLText is the text of ToHTML's rendering before it is split, as
// Telegram shows it: what the parts of ToHTML must add up to.
func HTMLText(md string) string {
	r := &renderer{html: true}
	r.document(md)
	return plainText(r.tokens())
}

// PlainText is ToPlain's rendering before it is split.
func PlainText(md string) string {
	r := &renderer{}
	r.document(md)
	return plainText(r.tokens())
}
