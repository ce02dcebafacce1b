package provider

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestDecodeParams(t *testing.T) {
	params := []Param{
		{Name: "chat_id", Type: ParamID, Required: true},
		{Name: "text", Type: ParamString, Required: true},
		{Name: "parse_mode", Type: ParamString, Enum: []string{"HTML", "MarkdownV2"}},
		{Name: "silent", Type: ParamBoolean},
		{Name: "reply_to", Type: ParamInteger},
		{Name: "temperature", Type: ParamNumber},
		{Name: "tags", Type: ParamArray, Items: ParamString},
		{Name: "data", Type: ParamObject},
		{Name: "payload", Type: ParamAny},
	}
	type dst struct {
		ChatID      json.RawMessage `json:"chat_id"`
		Text        string          `json:"text"`
		ReplyTo     int64           `json:"reply_to"`
		Temperature *float64        `json:"temperature"`
	}
	tests := []struct {
		name       string
		raw        string
		wantFields []string
	}{
		{"minimal", `{"chat_id": 42, "text": "hi"}`, nil},
		{"string chat id", `{"chat_id": "@news", "text": "hi"}`, nil},
		{"everything", `{"chat_id": -100, "text": "hi", "parse_mode": "HTML", "silent": true, "reply_to": 7, "temperature": 0.5, "tags": ["a"], "data": {"k": 1}, "payload": [1]}`, nil},
		{"missing required", `{}`, []string{"params.chat_id", "params.text"}},
		{"null is missing", `{"chat_id": null, "text": "hi"}`, []string{"params.chat_id"}},
		{"empty body", ``, []string{"params.chat_id", "params.text"}},
		{"not an object", `[1]`, []string{"params"}},
		{"wrong types", `{"chat_id": 1.5, "text": 3, "silent": "yes", "reply_to": 1.2, "temperature": "hot", "tags": "a", "data": []}`,
			[]string{"params.chat_id", "params.text", "params.silent", "params.reply_to", "params.temperature", "params.tags", "params.data"}},
		{"empty string id", `{"chat_id": "", "text": "hi"}`, []string{"params.chat_id"}},
		{"enum", `{"chat_id": 1, "text": "hi", "parse_mode": "Markdown"}`, []string{"params.parse_mode"}},
		{"array items", `{"chat_id": 1, "text": "hi", "tags": ["a", 2]}`, []string{"params.tags"}},
		{"unknown key", `{"chat_id": 1, "text": "hi", "zzz": 1, "aaa": 2}`, []string{"params.aaa", "params.zzz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dst
			err := DecodeParams("sendMessage", "params", params, json.RawMessage(tt.raw), &d)
			var got []string
			var ipe *InvalidParamsError
			if errors.As(err, &ipe) {
				for _, f := range ipe.Fields {
					got = append(got, f.Field)
				}
			} else if err != nil {
				t.Fatalf("error %T, want *InvalidParamsError", err)
			}
			if !slices.Equal(got, tt.wantFields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.wantFields, err)
			}
			if err == nil && d.Text != "hi" {
				t.Errorf("decoded text = %q, want hi", d.Text)
			}
		})
	}
}
