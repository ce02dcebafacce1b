package sendtelegram_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
)

// TestEditMarkdown: an edit may say "format": "markdown" as a message
// may; the request keeps the Markdown for the Formatter, which sends it
// as HTML (plain when Telegram refuses the HTML). An edit replaces one
// message, so Markdown longer than one is refused, not cut.
func TestEditMarkdown(t *testing.T) {
	t.Parallel()
	var c sendtelegram.Calls
	body, bad := c.Request("editMessageText", json.RawMessage(`{"chat_id":42,"message_id":7,"text":"**done**, see `+"`x_y`"+`","format":"markdown"}`))
	if len(bad) > 0 {
		t.Fatalf("refused: %+v", bad)
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil || req["format"] != "markdown" || req["parse_mode"] != nil || req["text"] != "**done**, see `x_y`" {
		t.Fatalf("request %s", body)
	}
	parts, err := sendtelegram.Formatter{}.Parts(body)
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v %v", parts, err)
	}
	var sent map[string]any
	_ = json.Unmarshal(parts[0], &sent)
	if sent["parse_mode"] != "HTML" || sent["text"] != "<b>done</b>, see <code>x_y</code>" || sent["message_id"] != float64(7) || sent["format"] != nil {
		t.Errorf("sent %s", parts[0])
	}

	long := strings.Repeat("A paragraph of an answer that goes on. ", 200)
	tests := []struct {
		name, params string
		fields       []string
	}{
		{name: "longer than one message", params: `{"chat_id":42,"message_id":7,"text":"` + long + `","format":"markdown"}`, fields: []string{"params.text"}},
		{name: "longer than any Markdown", params: `{"chat_id":42,"message_id":7,"text":"` + strings.Repeat("a", sendtelegram.MaxMarkdownLength+1) + `","format":"markdown"}`, fields: []string{"params.text"}},
		{name: "nothing to show", params: `{"chat_id":42,"message_id":7,"text":"  ","format":"markdown"}`, fields: []string{"params.text"}},
		{name: "another format", params: `{"chat_id":42,"message_id":7,"text":"x","format":"rst"}`, fields: []string{"params.format"}},
		{name: "with a parse mode", params: `{"chat_id":42,"message_id":7,"text":"x","format":"markdown","parse_mode":"HTML"}`, fields: []string{"params.parse_mode"}},
		{name: "the rest checked too", params: `{"chat_id":true,"message_id":7,"text":"x","format":"markdown","colour":1}`, fields: []string{"params.chat_id", "params.colour"}},
	}
	for _, tt := range tests {
		_, bad := c.Request("editMessageText", json.RawMessage(tt.params))
		var got []string
		for _, f := range bad {
			got = append(got, f.Field)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s: fields %v (%+v), want %v", tt.name, got, bad, tt.fields)
		}
	}
}
