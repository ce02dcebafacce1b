package route_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// hookID is a well-formed gateway id for WEBHOOK targets.
const hookID = "gw_aaaaaaaaaaaaaaaaaaaaaaaaaa"

// checkErr fails t unless err has code wantCode ("" for none) and names
// exactly the fields want (in any order; nil: no field errors).
func checkErr(t *testing.T, err error, wantCode string, want []string) {
	t.Helper()
	if got := gateway.ErrorCode(err); got != wantCode {
		t.Fatalf("code = %q (%v), want %q", got, err, wantCode)
	}
	if err == nil {
		return
	}
	var e *gateway.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not a *gateway.Error", err)
	}
	var got []string
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("field %q has no message", f.Field)
		}
		got = append(got, f.Field)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestDecodeSpec(t *testing.T) {
	hook := `{"type":"WEBHOOK","gatewayId":"` + hookID + `"}`
	withFilters := func(f string) string { return `{"target":` + hook + `,"filters":` + f + `}` }
	types31 := strings.Repeat(`"message",`, 30) + `"poll"`
	chats101 := strings.TrimSuffix(strings.Repeat(`1,`, 101), ",")
	tests := []struct {
		name     string
		body     string
		want     route.Spec // when wantCode is ""
		wantCode string
		fields   []string
	}{
		{name: "webhook, no filters", body: `{"target":` + hook + `}`,
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}}},
		{name: "eventbridge with every filter",
			body: `{"target":{"type":"EVENTBRIDGE"},"filters":{"updateTypes":["message","callback_query"],"chatIds":[-1001,42],"commandPrefix":"/start"}}`,
			want: route.Spec{Target: route.Target{Type: route.TargetEventBridge},
				Filters: route.Filters{UpdateTypes: []string{"message", "callback_query"}, ChatIDs: []int64{-1001, 42}, CommandPrefix: "/start"}}},
		{name: "eventbridge with a null gatewayId", body: `{"target":{"type":"EVENTBRIDGE","gatewayId":null}}`,
			want: route.Spec{Target: route.Target{Type: route.TargetEventBridge}}},
		{name: "null and empty filters", body: withFilters(`{"updateTypes":null,"chatIds":[],"commandPrefix":null}`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}}},
		{name: "filters null", body: withFilters(`null`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}}},
		{name: "duplicates kept once", body: withFilters(`{"updateTypes":["poll","poll"],"chatIds":[7,7,8]}`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}, Filters: route.Filters{UpdateTypes: []string{"poll"}, ChatIDs: []int64{7, 8}}}},
		{name: "an update type newer than the code", body: withFilters(`{"updateTypes":["paid_media_refunded"]}`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}, Filters: route.Filters{UpdateTypes: []string{"paid_media_refunded"}}}},
		{name: "a 64-byte prefix", body: withFilters(`{"commandPrefix":"/` + strings.Repeat("é", 31) + `x"}`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}, Filters: route.Filters{CommandPrefix: "/" + strings.Repeat("é", 31) + "x"}}},
		{name: "the largest chat ids", body: withFilters(`{"chatIds":[-9223372036854775808,9223372036854775807]}`),
			want: route.Spec{Target: route.Target{Type: route.TargetWebhook, GatewayID: hookID}, Filters: route.Filters{ChatIDs: []int64{-9223372036854775808, 9223372036854775807}}}},

		{name: "empty object", body: `{}`, wantCode: gateway.CodeInvalid, fields: []string{"target"}},
		{name: "target null", body: `{"target":null}`, wantCode: gateway.CodeInvalid, fields: []string{"target"}},
		{name: "target a string", body: `{"target":"WEBHOOK"}`, wantCode: gateway.CodeInvalid, fields: []string{"target"}},
		{name: "target an array", body: `{"target":[]}`, wantCode: gateway.CodeInvalid, fields: []string{"target"}},
		{name: "target.type missing", body: `{"target":{"gatewayId":"` + hookID + `"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.type"}},
		{name: "target.type unknown", body: `{"target":{"type":"SQS"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.type"}},
		{name: "target.type lower case", body: `{"target":{"type":"webhook","gatewayId":"` + hookID + `"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.type"}},
		{name: "target.type a number", body: `{"target":{"type":1}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.type"}},
		{name: "webhook without gatewayId", body: `{"target":{"type":"WEBHOOK"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "webhook with a null gatewayId", body: `{"target":{"type":"WEBHOOK","gatewayId":null}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "webhook with a malformed gatewayId", body: `{"target":{"type":"WEBHOOK","gatewayId":"GW#x"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "webhook with a numeric gatewayId", body: `{"target":{"type":"WEBHOOK","gatewayId":7}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "eventbridge with gatewayId", body: `{"target":{"type":"EVENTBRIDGE","gatewayId":"` + hookID + `"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "eventbridge with an empty gatewayId", body: `{"target":{"type":"EVENTBRIDGE","gatewayId":""}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.gatewayId"}},
		{name: "unknown top-level keys", body: `{"target":` + hook + `,"owner":"bob","Target":1}`, wantCode: gateway.CodeInvalid, fields: []string{"Target", "owner"}},
		{name: "an unprintable key", body: `{"target":` + hook + `,"\u0000":1}`, wantCode: gateway.CodeInvalid, fields: []string{"(unknown)"}},
		{name: "unknown key in target", body: `{"target":{"type":"WEBHOOK","gatewayId":"` + hookID + `","url":"https://x"}}`, wantCode: gateway.CodeInvalid, fields: []string{"target.url"}},
		{name: "unknown key in filters", body: withFilters(`{"chatId":5}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.chatId"}},
		{name: "filters a list", body: withFilters(`["message"]`), wantCode: gateway.CodeInvalid, fields: []string{"filters"}},
		{name: "updateTypes a string", body: withFilters(`{"updateTypes":"message"}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.updateTypes"}},
		{name: "updateTypes with a number", body: withFilters(`{"updateTypes":["message",1]}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.updateTypes"}},
		{name: "31 updateTypes", body: withFilters(`{"updateTypes":[` + types31 + `]}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.updateTypes"}},
		{name: "bad updateTypes entries", body: withFilters(`{"updateTypes":["message","Message","","edited-message","` + strings.Repeat("a", 65) + `"]}`),
			wantCode: gateway.CodeInvalid, fields: []string{"filters.updateTypes[1]", "filters.updateTypes[2]", "filters.updateTypes[3]", "filters.updateTypes[4]"}},
		{name: "chatIds an object", body: withFilters(`{"chatIds":{"a":1}}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.chatIds"}},
		{name: "101 chatIds", body: withFilters(`{"chatIds":[` + chats101 + `]}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.chatIds"}},
		{name: "bad chatIds entries", body: withFilters(`{"chatIds":[5,0,1.5,"7",1e3,9223372036854775808,null,true,-0]}`),
			wantCode: gateway.CodeInvalid, fields: []string{"filters.chatIds[1]", "filters.chatIds[2]", "filters.chatIds[3]", "filters.chatIds[4]", "filters.chatIds[5]", "filters.chatIds[6]", "filters.chatIds[7]", "filters.chatIds[8]"}},
		{name: "commandPrefix too long", body: withFilters(`{"commandPrefix":"/` + strings.Repeat("a", route.MaxCommandPrefixLen) + `"}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.commandPrefix"}},
		{name: "commandPrefix too long in bytes", body: withFilters(`{"commandPrefix":"/` + strings.Repeat("é", 32) + `"}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.commandPrefix"}},
		{name: "commandPrefix empty", body: withFilters(`{"commandPrefix":""}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.commandPrefix"}},
		{name: "commandPrefix unprintable", body: withFilters(`{"commandPrefix":"/start\n"}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.commandPrefix"}},
		{name: "commandPrefix a number", body: withFilters(`{"commandPrefix":1}`), wantCode: gateway.CodeInvalid, fields: []string{"filters.commandPrefix"}},
		{name: "every error at once",
			body:     `{"target":{"type":"EVENTBRIDGE","gatewayId":"x","queue":1},"filters":{"updateTypes":["?"],"chatIds":[0],"commandPrefix":"","since":1},"name":"x"}`,
			wantCode: gateway.CodeInvalid,
			fields:   []string{"name", "target.queue", "target.gatewayId", "filters.since", "filters.updateTypes[0]", "filters.chatIds[0]", "filters.commandPrefix"}},

		{name: "a list body", body: `[{"target":{"type":"EVENTBRIDGE"}}]`, wantCode: gateway.CodeInvalid},
		{name: "a string body", body: `"EVENTBRIDGE"`, wantCode: gateway.CodeInvalid},
		{name: "a null body", body: `null`, wantCode: gateway.CodeInvalid},
		{name: "an empty body", body: ``, wantCode: gateway.CodeInvalid},
		{name: "malformed JSON", body: `{"target":`, wantCode: gateway.CodeInvalid},
		{name: "two objects", body: `{"target":{"type":"EVENTBRIDGE"}}{}`, wantCode: gateway.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := route.DecodeSpec([]byte(tt.body))
			checkErr(t, err, tt.wantCode, tt.fields)
			if tt.wantCode == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("spec = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeStatus(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     route.Status
		wantCode string
		fields   []string
	}{
		{name: "pause", body: `{"status":"PAUSED"}`, want: route.StatusPaused},
		{name: "resume", body: `{"status":"ACTIVE"}`, want: route.StatusActive},
		{name: "ERROR is the engine's", body: `{"status":"ERROR"}`, wantCode: gateway.CodeInvalid, fields: []string{"status"}},
		{name: "lower case", body: `{"status":"paused"}`, wantCode: gateway.CodeInvalid, fields: []string{"status"}},
		{name: "null", body: `{"status":null}`, wantCode: gateway.CodeInvalid, fields: []string{"status"}},
		{name: "a number", body: `{"status":1}`, wantCode: gateway.CodeInvalid, fields: []string{"status"}},
		{name: "missing", body: `{}`, wantCode: gateway.CodeInvalid, fields: []string{"status"}},
		{name: "another key", body: `{"state":"PAUSED"}`, wantCode: gateway.CodeInvalid, fields: []string{"state", "status"}},
		{name: "an extra key", body: `{"status":"PAUSED","reason":"x"}`, wantCode: gateway.CodeInvalid, fields: []string{"reason"}},
		{name: "not an object", body: `"PAUSED"`, wantCode: gateway.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := route.DecodeStatus([]byte(tt.body))
			checkErr(t, err, tt.wantCode, tt.fields)
			if tt.wantCode == "" && got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeReplay(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 0, 0, 500, time.UTC)
	tests := []struct {
		name     string
		body     string
		want     route.Replay
		wantCode string
		fields   []string
	}{
		{name: "from the first update", body: `{"fromUpdateId":0}`, want: route.Replay{FromUpdateID: ptr(int64(0))}},
		{name: "from an update id", body: `{"fromUpdateId":123456789}`, want: route.Replay{FromUpdateID: ptr(int64(123456789))}},
		{name: "from a time, in UTC", body: `{"from":"2026-12-05T10:00:00.0000005+01:00"}`, want: route.Replay{From: &at}},
		{name: "dead letters", body: `{"deadLetters":true}`, want: route.Replay{DeadLetters: true}},

		{name: "none of them", body: `{}`, wantCode: gateway.CodeUnprocessable, fields: []string{"fromUpdateId"}},
		{name: "two of them", body: `{"fromUpdateId":1,"from":"2026-12-05T10:00:00Z"}`, wantCode: gateway.CodeUnprocessable, fields: []string{"fromUpdateId", "from"}},
		{name: "all three", body: `{"fromUpdateId":1,"from":"2026-12-05T10:00:00Z","deadLetters":true}`, wantCode: gateway.CodeUnprocessable, fields: []string{"fromUpdateId", "from", "deadLetters"}},

		{name: "a negative update id", body: `{"fromUpdateId":-1}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "an update id as a string", body: `{"fromUpdateId":"5"}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "a fractional update id", body: `{"fromUpdateId":1.5}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "an exponent", body: `{"fromUpdateId":1e3}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "a huge update id", body: `{"fromUpdateId":9223372036854775807}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "a null update id", body: `{"fromUpdateId":null}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "a date, not a time", body: `{"from":"2026-12-05"}`, wantCode: gateway.CodeInvalid, fields: []string{"from"}},
		{name: "a Unix time", body: `{"from":1764928800}`, wantCode: gateway.CodeInvalid, fields: []string{"from"}},
		{name: "deadLetters false", body: `{"deadLetters":false}`, wantCode: gateway.CodeInvalid, fields: []string{"deadLetters"}},
		{name: "deadLetters a string", body: `{"deadLetters":"true"}`, wantCode: gateway.CodeInvalid, fields: []string{"deadLetters"}},
		{name: "an unknown key", body: `{"fromUpdateId":1,"until":2}`, wantCode: gateway.CodeInvalid, fields: []string{"until"}},
		{name: "an unknown key alone", body: `{"since":1}`, wantCode: gateway.CodeInvalid, fields: []string{"since"}},
		{name: "an invalid key beside a valid one", body: `{"fromUpdateId":-1,"deadLetters":true}`, wantCode: gateway.CodeInvalid, fields: []string{"fromUpdateId"}},
		{name: "not an object", body: `[]`, wantCode: gateway.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := route.DecodeReplay([]byte(tt.body))
			checkErr(t, err, tt.wantCode, tt.fields)
			if tt.wantCode == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("replay = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidUpdateType(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		want bool
	}{
		{typ: "message", want: true},
		{typ: "chat_boost", want: true},
		{typ: "a_type_from_the_future", want: true},
		{typ: strings.Repeat("a", 64), want: true},
		{typ: strings.Repeat("a", 65), want: false},
		{typ: "", want: false},
		{typ: "Message", want: false},
		{typ: "edited-message", want: false},
		{typ: "message2", want: false},
	} {
		if got := route.ValidUpdateType(tt.typ); got != tt.want {
			t.Errorf("ValidUpdateType(%q) = %v, want %v", tt.typ, got, tt.want)
		}
	}
}
