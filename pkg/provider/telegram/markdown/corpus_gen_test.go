package markdown_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus.jsonl from testdata/answers.txt")

// entry is one model answer of the corpus.
type entry struct {
	Name     string `json:"name"`
	Markdown string `json:"markdown"`
}

// readAnswers reads testdata/answers.txt: answers written out by hand,
// each after a "=== name" line.
func readAnswers(t testing.TB) []entry {
	t.Helper()
	raw, err := os.ReadFile("testdata/answers.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	var body []string
	flush := func() {
		if len(out) > 0 {
			out[len(out)-1].Markdown = strings.TrimRight(strings.Join(body, "\n"), "\n")
		}
		body = nil
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if name, ok := strings.CutPrefix(line, "=== "); ok {
			flush()
			out = append(out, entry{Name: name})
			continue
		}
		body = append(body, line)
	}
	flush()
	return out
}

// buildCorpus adds to the hand-written answers the long ones models
// write (guides of many sections, whole files in one code block, long
// tables) and answers cut off mid-way.
func buildCorpus(answers []entry) []entry {
	byName := map[string]string{}
	for _, a := range answers {
		byName[a.Name] = a.Markdown
	}
	out := append([]entry(nil), answers...)

	// Guides: a title, an introduction, then sections taken from related
	// answers, as a model writes when asked for "a complete guide".
	topics := []struct{ title, prefix string }{
		{"Go in production: a practical guide", "go/"},
		{"Python tips every developer should know", "python/"},
		{"Modern JavaScript and TypeScript cheat sheet", "js/"},
		{"TypeScript and JavaScript patterns", "ts/"},
		{"Rust for Go developers", "rust/"},
		{"Shell scripting survival guide", "bash/"},
		{"SQL performance and correctness", "sql/"},
		{"Regular expressions explained", "regex/"},
		{"Git workflows from zero to rebase", "git/"},
		{"Containers and Kubernetes troubleshooting", "docker/"},
		{"Kubernetes and nginx handbook", "k8s/"},
		{"Frontend fundamentals", "html/"},
		{"React pitfalls", "react/"},
		{"Maths refresher", "math/"},
		{"Руководство для начинающих разработчиков", "ru/"},
		{"开发者速查手册", "zh/"},
		{"Everything that breaks Markdown parsers", "hostile/"},
		{"Tables, lists and quotes", "tables/"},
		{"Code in many languages", "code/"},
		{"Writing and everyday questions", "prose/"},
		{"Links and inline formatting", "inline/"},
		{"A multilingual grab bag", "ar/"},
	}
	for i, tp := range topics {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n\nHere's a comprehensive overview. I've grouped it into sections so you can jump to what you need — each one stands on its own.\n", tp.title)
		n := 0
		for round := 0; utf8.RuneCountInString(b.String()) < 4600+i*400; round++ {
			for _, a := range answers {
				own := round == 0 && strings.HasPrefix(a.Name, tp.prefix)
				other := round > 0 && strings.HasPrefix(a.Name, topics[(i+round)%len(topics)].prefix)
				if !own && !other {
					continue
				}
				n++
				fmt.Fprintf(&b, "\n## %d. %s\n\n%s\n", n, title(a.Name), a.Markdown)
			}
		}
		b.WriteString("\n---\n\n**Summary:** start with the sections that match your problem, try the snippets in a scratch project first, and don't hesitate to ask follow-up questions! 🚀")
		out = append(out, entry{Name: fmt.Sprintf("long/guide-%02d-%s", i, strings.TrimSuffix(tp.prefix, "/")), Markdown: b.String()})
	}

	out = append(out,
		entry{Name: "long/giant-go-file", Markdown: giantGo()},
		entry{Name: "long/sql-migration", Markdown: sqlMigration()},
		entry{Name: "long/big-table", Markdown: bigTable()},
		entry{Name: "long/one-paragraph", Markdown: onePara()},
		entry{Name: "long/base64-blob", Markdown: blob()},
		entry{Name: "long/log-output", Markdown: logOutput()},
		entry{Name: "long/nested-list", Markdown: nestedList()},
		entry{Name: "long/long-quote", Markdown: longQuote()},
		entry{Name: "long/bold-essay", Markdown: boldEssay()},
		entry{Name: "long/emoji-flood", Markdown: emojiFlood()},
	)

	// Answers cut off mid-way, as a model stopped by max_tokens leaves them.
	cut := func(name, src, after string, extra int) {
		s := byName[src]
		if s == "" {
			for _, e := range out {
				if e.Name == src {
					s = e.Markdown
				}
			}
		}
		i := strings.Index(s, after)
		if i < 0 {
			panic("corpus: no " + after + " in " + src)
		}
		end := i + len(after) + extra
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		out = append(out, entry{Name: "truncated/" + name, Markdown: s[:min(end, len(s))]})
	}
	cut("mid-code-block", "go/http-timeout", "Transport: &http.Transport{", 40)
	cut("mid-python-block", "python/asyncio-gather", "async with session.get(url)", 3)
	cut("mid-bold", "prose/book-summary", "**System 2** is slow, deliberate, ", 0)
	cut("mid-bold-opening", "git/undo-commit", "**Already", 0)
	cut("mid-link-text", "links/resources", "[Effective", 0)
	cut("mid-link-url", "links/wikipedia", "(https://en.wikipedia.org/wiki/Rust_(programm", 0)
	cut("mid-inline-code", "bash/oneliners", "`du -h --max", 0)
	cut("mid-table", "sql/join-types", "| `LEFT JOIN` | all rows", 0)
	cut("mid-latex", "math/quadratic", "$$x_{1,2} = \\frac{-b", 0)
	cut("mid-nested-list", "lists/nested-steps", "   - Frontend:\n     - `cd", 0)
	cut("mid-quote", "quotes/citation", "> Programmers waste enormous amounts", 0)
	cut("mid-fence-opening", "docker/multi-stage", "```docker", 0)
	cut("mid-giant-code", "long/giant-go-file", "func (h *InvoiceHandler) Update", 120)
	cut("mid-html-entity", "hostile/ampersands", "`AT&am", 0)
	return out
}

// title turns "go/http-timeout" into "Http timeout".
func title(name string) string {
	_, s, _ := strings.Cut(name, "/")
	s = strings.ReplaceAll(s, "-", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func giantGo() string {
	var b strings.Builder
	b.WriteString("Here's the complete `handlers.go` with CRUD handlers for every resource. It uses only the standard library (Go 1.22 routing patterns like `GET /users/{id}`):\n\n```go\npackage api\n\nimport (\n\t\"encoding/json\"\n\t\"errors\"\n\t\"net/http\"\n\t\"strconv\"\n)\n\n// writeJSON writes v with status code.\nfunc writeJSON(w http.ResponseWriter, code int, v any) {\n\tw.Header().Set(\"Content-Type\", \"application/json\")\n\tw.WriteHeader(code)\n\t_ = json.NewEncoder(w).Encode(v)\n}\n")
	for _, res := range []string{"User", "Order", "Product", "Invoice", "Payment", "Shipment", "Coupon", "Review", "Category", "Warehouse", "Supplier", "Refund", "Ticket", "Webhook", "Session", "AuditEvent"} {
		lower := strings.ToLower(res[:1]) + res[1:]
		fmt.Fprintf(&b, `
// %[1]sHandler serves /%[2]ss.
type %[1]sHandler struct {
	store %[1]sStore
}

func (h *%[1]sHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /%[2]ss", h.List)
	mux.HandleFunc("GET /%[2]ss/{id}", h.Get)
	mux.HandleFunc("POST /%[2]ss", h.Create)
	mux.HandleFunc("PUT /%[2]ss/{id}", h.Update)
	mux.HandleFunc("DELETE /%[2]ss/{id}", h.Delete)
}

func (h *%[1]sHandler) List(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 20
	}
	items, next, err := h.store.List(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
}

func (h *%[1]sHandler) Get(w http.ResponseWriter, r *http.Request) {
	item, err := h.store.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "%[2]s not found", http.StatusNotFound)
	case err != nil:
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		writeJSON(w, http.StatusOK, item)
	}
}

func (h *%[1]sHandler) Update(w http.ResponseWriter, r *http.Request) {
	var in %[1]s
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.ID != "" && in.ID != r.PathValue("id") {
		http.Error(w, "id mismatch", http.StatusBadRequest)
		return
	}
	if err := h.store.Put(r.Context(), r.PathValue("id"), &in); err != nil && !errors.Is(err, ErrConflict) {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, in)
}
`, res, lower)
	}
	b.WriteString("```\n\nEach `Create` and `Delete` follows the same pattern as `Update` (omitted above for brevity). Wire them up with:\n\n```go\nmux := http.NewServeMux()\n(&UserHandler{store: users}).Register(mux)\nlog.Fatal(http.ListenAndServe(\":8080\", mux))\n```\n")
	return b.String()
}

func sqlMigration() string {
	var b strings.Builder
	b.WriteString("Here's the full migration. Run it inside a transaction (`psql -1 -f 001_init.sql`) so a failure leaves nothing half-created:\n\n```sql\n-- 001_init.sql\nCREATE EXTENSION IF NOT EXISTS \"pgcrypto\";\n")
	for i, t := range []string{"tenants", "users", "teams", "projects", "tasks", "comments", "labels", "attachments", "invoices", "invoice_lines", "payments", "audit_log", "webhooks", "api_keys", "sessions", "notifications"} {
		fmt.Fprintf(&b, `
CREATE TABLE %[1]s (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX %[1]s_tenant_created_idx ON %[1]s (tenant_id, created_at DESC);
CREATE INDEX %[1]s_data_gin_idx ON %[1]s USING gin (data jsonb_path_ops);
COMMENT ON TABLE %[1]s IS 'step %[2]d: %[1]s (soft-deleted rows keep status = ''deleted'')';
`, t, i+1)
	}
	b.WriteString("```\n\n**Notes**\n- `tenants` references itself in the generated block above — drop that `REFERENCES` for the first table.\n- `jsonb_path_ops` indexes are smaller but only support `@>` queries.\n")
	return b.String()
}

func bigTable() string {
	var b strings.Builder
	b.WriteString("Here are HTTP status codes you might meet, with what they mean for a client:\n\n| Code | Name | Retry? | Notes |\n|---:|---|:---:|---|\n")
	names := []string{"OK", "Created", "Accepted", "No Content", "Moved Permanently", "Found", "Not Modified", "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Conflict", "Gone", "Payload Too Large", "Too Many Requests", "Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout"}
	for i := range 160 {
		n := names[i%len(names)]
		fmt.Fprintf(&b, "| %d | %s | %s | case #%d: check `Retry-After` & the body's `error_code` (<= %d ms) |\n", 200+i, n, map[bool]string{true: "yes", false: "no"}[i%3 == 0], i, 100*(i%7))
	}
	b.WriteString("\nCodes not listed are rare in practice.")
	return b.String()
}

func onePara() string {
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "In iteration %d the algorithm compares the pivot with the elements on both sides, swaps the ones that are out of order and moves the boundaries closer together; when they cross, the pivot is in its final place and the two halves are sorted recursively. ", i+1)
	}
	return strings.TrimSpace(b.String())
}

func blob() string {
	data := make([]byte, 7000)
	for i := range data {
		data[i] = byte(i*31 + i/7)
	}
	return "Here's the certificate as a single base64 line — paste it into `CERT_B64` exactly as is:\n\n```\n" + base64.StdEncoding.EncodeToString(data) + "\n```\n\nThen decode it with `echo \"$CERT_B64\" | base64 -d > cert.der`."
}

func logOutput() string {
	var b strings.Builder
	b.WriteString("Looking at your logs, the problem starts at 14:02:11 when the connection pool is exhausted:\n\n```text\n")
	for i := range 120 {
		lvl := []string{"INFO", "WARN", "ERROR", "DEBUG"}[i%4]
		fmt.Fprintf(&b, "2024-05-01T14:02:%02d.%03dZ %-5s [worker-%d] pool=%d/%d req_id=%08x msg=\"query took %dms\" sql=\"SELECT * FROM orders WHERE id = $1 AND status <> 'cancelled'\"\n", i%60, i*7%1000, lvl, i%8, min(i, 50), 50, i*2654435761, 10+i*3)
	}
	b.WriteString("```\n\n**Fix:** raise `max_open_conns`, and make sure every `rows` is closed (`defer rows.Close()`) — the pool leak is in `ListOrders`.")
	return b.String()
}

func nestedList() string {
	var b strings.Builder
	b.WriteString("Here's the full outline of the course:\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "%d. **Module %d: %s**\n", i+1, i+1, []string{"Basics", "Types", "Control flow", "Functions", "Collections", "Errors", "Concurrency", "Testing", "Packages", "I/O", "Networking", "Deployment"}[i])
		for j := range 6 {
			fmt.Fprintf(&b, "   - Lesson %d.%d — *%s* (`ex_%d_%d.go`)\n", i+1, j+1, []string{"overview", "hands-on", "deep dive", "pitfalls", "exercise", "quiz"}[j], i+1, j+1)
			if j%2 == 0 {
				fmt.Fprintf(&b, "     - reading: https://example.com/course/m%d/l%d?lang=en&format=html\n     - time: ~%d min\n", i+1, j+1, 15+5*j)
			}
		}
	}
	return b.String()
}

func longQuote() string {
	var b strings.Builder
	b.WriteString("Here is the full text of the license section you asked about:\n\n")
	for i := range 40 {
		fmt.Fprintf(&b, "> %d. THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT <see §%d>.\n>\n", i+1, i+1)
	}
	b.WriteString("\nIn short: no warranty, and the authors aren't liable.")
	return b.String()
}

func boldEssay() string {
	var b strings.Builder
	b.WriteString("**")
	for i := range 45 {
		fmt.Fprintf(&b, "Point %d: consistency beats intensity — small daily progress compounds, *especially* when you track it. ", i+1)
	}
	b.WriteString("**\n\n_")
	for i := range 30 {
		fmt.Fprintf(&b, "Reflection %d: what did I learn today, and what will I do differently tomorrow? ", i+1)
	}
	b.WriteString("_")
	return b.String()
}

func emojiFlood() string {
	var b strings.Builder
	b.WriteString("Here are 400 emoji ideas for your reactions bar 🎉\n\n")
	emoji := []string{"😀", "😂", "🥲", "😍", "🤔", "🙈", "🔥", "🚀", "🎯", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇦", "🧑‍💻", "❤️", "✨"}
	for i := range 400 {
		fmt.Fprintf(&b, "%s%s", emoji[i%len(emoji)], map[bool]string{true: "\n", false: " "}[i%20 == 19])
	}
	return b.String()
}

// TestCorpusFile keeps testdata/corpus.jsonl what buildCorpus makes of
// testdata/answers.txt; -update rewrites it.
func TestCorpusFile(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range buildCorpus(readAnswers(t)) {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		if err := os.WriteFile("testdata/corpus.jsonl", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile("testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("testdata/corpus.jsonl is stale: go test -run TestCorpusFile -update ./pkg/provider/telegram/markdown")
	}
}
