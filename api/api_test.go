package api

import (
	"encoding/json"
	"testing"
)

// TestDocumentDescribesEveryOperation: every operation has a summary and a
// description (where, among other things, refused query parameters are
// documented), and info names a contact and a licence, as OpenAPI linters
// ask (issue 15, item 23).
func TestDocumentDescribesEveryOperation(t *testing.T) {
	var doc struct {
		Info struct {
			Contact *struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"contact"`
			License *struct {
				Name string `json:"name"`
			} `json:"license"`
		} `json:"info"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(Document, &doc); err != nil {
		t.Fatal(err)
	}
	if c := doc.Info.Contact; c == nil || c.Name == "" || c.URL == "" {
		t.Error("info.contact needs a name and a url")
	}
	if l := doc.Info.License; l == nil || l.Name == "" {
		t.Error("info.license needs a name")
	}
	n := 0
	for path, item := range doc.Paths {
		for method, raw := range item {
			switch method {
			case "get", "put", "post", "patch", "delete", "head", "options", "trace":
			default:
				continue // parameters, summary, servers of the path item
			}
			var op struct {
				OperationID string `json:"operationId"`
				Summary     string `json:"summary"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			n++
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s %s (%s): summary %q, description %q; both are needed", method, path, op.OperationID, op.Summary, op.Description)
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations found")
	}
}
