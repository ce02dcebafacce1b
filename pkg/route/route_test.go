package route_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// candidate parses raw as the webhook does and returns what Match sees.
func candidate(t *testing.T, raw string) route.Candidate {
	t.Helper()
	u, err := inbox.ParseUpdate([]byte(raw))
	if err != nil {
		t.Fatalf("ParseUpdate(%s): %v", raw, err)
	}
	return route.Candidate{Type: u.Type, ChatID: u.ChatID, Raw: u.Raw}
}

func TestFiltersMatch(t *testing.T) {
	var (
		text       = `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":"/start now"}}`
		other      = `{"update_id":2,"message":{"message_id":2,"date":1,"chat":{"id":-100,"type":"group"},"text":"hello /start"}}`
		caption    = `{"update_id":3,"message":{"message_id":3,"date":1,"chat":{"id":42,"type":"private"},"photo":[],"caption":"/start photo"}}`
		noText     = `{"update_id":4,"message":{"message_id":4,"date":1,"chat":{"id":42,"type":"private"},"sticker":{}}}`
		edited     = `{"update_id":5,"edited_message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":"/start edited"}}`
		channel    = `{"update_id":6,"channel_post":{"message_id":1,"date":1,"chat":{"id":-1001,"type":"channel"},"text":"/start"}}`
		business   = `{"update_id":7,"business_message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"caption":"/admin_ban"}}`
		callback   = `{"update_id":8,"callback_query":{"id":"q","from":{"id":7},"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":"/start"},"data":"/start"}}`
		inline     = `{"update_id":9,"inline_query":{"id":"q","from":{"id":7},"query":"/start","offset":""}}`
		poll       = `{"update_id":10,"poll":{"id":"p","question":"/start?","options":[]}}`
		emptyText  = `{"update_id":11,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":""}}`
		textNumber = `{"update_id":12,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"text":5}}`
	)
	tests := []struct {
		name    string
		filters route.Filters
		update  string
		want    bool
	}{
		{name: "no filters pass a message", update: text, want: true},
		{name: "no filters pass a poll without a chat", update: poll, want: true},
		{name: "type listed", filters: route.Filters{UpdateTypes: []string{"poll", "message"}}, update: text, want: true},
		{name: "type not listed", filters: route.Filters{UpdateTypes: []string{"edited_message"}}, update: text, want: false},
		{name: "callback_query by type", filters: route.Filters{UpdateTypes: []string{"callback_query"}}, update: callback, want: true},
		{name: "chat listed", filters: route.Filters{ChatIDs: []int64{7, 42}}, update: text, want: true},
		{name: "chat not listed", filters: route.Filters{ChatIDs: []int64{42}}, update: other, want: false},
		{name: "a negative chat", filters: route.Filters{ChatIDs: []int64{-100}}, update: other, want: true},
		{name: "a chat filter drops an update without a chat", filters: route.Filters{ChatIDs: []int64{42}}, update: poll, want: false},
		{name: "a callback's chat is its message's", filters: route.Filters{ChatIDs: []int64{42}}, update: callback, want: true},
		{name: "prefix on text", filters: route.Filters{CommandPrefix: "/start"}, update: text, want: true},
		{name: "prefix is a prefix, not a substring", filters: route.Filters{CommandPrefix: "/start"}, update: other, want: false},
		{name: "prefix on a caption", filters: route.Filters{CommandPrefix: "/start"}, update: caption, want: true},
		{name: "prefix on a message without text or caption", filters: route.Filters{CommandPrefix: "/start"}, update: noText, want: false},
		{name: "prefix on an empty text", filters: route.Filters{CommandPrefix: "/"}, update: emptyText, want: false},
		{name: "prefix on a text that is not a string", filters: route.Filters{CommandPrefix: "/"}, update: textNumber, want: false},
		{name: "prefix on an edited message", filters: route.Filters{CommandPrefix: "/start"}, update: edited, want: true},
		{name: "prefix on a channel post", filters: route.Filters{CommandPrefix: "/start"}, update: channel, want: true},
		{name: "prefix on a business message's caption", filters: route.Filters{CommandPrefix: "/admin_"}, update: business, want: true},
		{name: "prefix is case-sensitive", filters: route.Filters{CommandPrefix: "/Start"}, update: text, want: false},
		{name: "prefix drops a callback query, though its message matches", filters: route.Filters{CommandPrefix: "/start"}, update: callback, want: false},
		{name: "prefix drops an inline query, though its query matches", filters: route.Filters{CommandPrefix: "/start"}, update: inline, want: false},
		{name: "prefix drops a poll", filters: route.Filters{CommandPrefix: "/start"}, update: poll, want: false},
		{name: "every filter matches", filters: route.Filters{UpdateTypes: []string{"message"}, ChatIDs: []int64{42}, CommandPrefix: "/start"}, update: caption, want: true},
		{name: "all must match: the chat does not", filters: route.Filters{UpdateTypes: []string{"message"}, ChatIDs: []int64{1}, CommandPrefix: "/start"}, update: text, want: false},
		{name: "all must match: the type does not", filters: route.Filters{UpdateTypes: []string{"edited_message"}, ChatIDs: []int64{42}, CommandPrefix: "/start"}, update: text, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filters.Match(candidate(t, tt.update)); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	// Raw bytes that are not an update never match a prefix (and do not
	// panic).
	for _, raw := range []string{``, `null`, `[]`, `{"message":"x"}`, `{"message":{"text":["x"]}}`} {
		c := route.Candidate{Type: "message", Raw: []byte(raw)}
		if (route.Filters{CommandPrefix: "x"}).Match(c) {
			t.Errorf("a prefix matched %q", raw)
		}
	}
}

func TestChatKey(t *testing.T) {
	chat, negative, sender := int64(42), int64(-1001), int64(7)
	tests := []struct {
		name         string
		chat, sender *int64
		want         string
	}{
		{name: "a chat", chat: &chat, want: "c42"},
		{name: "a negative chat", chat: &negative, want: "c-1001"},
		{name: "the chat wins over the sender", chat: &chat, sender: &sender, want: "c42"},
		{name: "a sender without a chat", sender: &sender, want: "u7"},
		{name: "neither", want: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := route.ChatKey(tt.chat, tt.sender); got != tt.want {
				t.Errorf("ChatKey = %q, want %q", got, tt.want)
			}
		})
	}
	// A chat and a user with one number are different lanes.
	if route.ChatKey(&chat, nil) == route.ChatKey(nil, &chat) {
		t.Error("chat 42 and user 42 share a lane")
	}
}

func TestWebhookID(t *testing.T) {
	a, b := route.NewID(), route.NewID()
	id := route.WebhookID(a, 1)
	if again := route.WebhookID(a, 1); again != id {
		t.Errorf("WebhookID(%s, 1) is %q, then %q", a, id, again)
	}
	if !strings.HasPrefix(id, "msg_") || len(id) != 4+24 || strings.ContainsAny(id[4:], "+/=") {
		t.Errorf("WebhookID = %q, want msg_ and 24 URL-safe base64 characters", id)
	}
	// Every (route, update) pair of a small grid has its own id, including
	// pairs whose concatenations look alike.
	seen := map[string]string{}
	for _, r := range []string{a, b, "rt_1", "rt_11"} {
		for _, u := range []int64{0, 1, 11, 111, 1 << 40} {
			pair := fmt.Sprintf("%s/%d", r, u)
			got := route.WebhookID(r, u)
			if prev, ok := seen[got]; ok {
				t.Errorf("%s and %s share the webhook id %s", prev, pair, got)
			}
			seen[got] = pair
		}
	}
}

func TestValidID(t *testing.T) {
	for i := 0; i < 100; i++ {
		if id := route.NewID(); !route.ValidID(id) {
			t.Fatalf("NewID() = %q is not ValidID", id)
		}
	}
	good := "rt_" + strings.Repeat("a", 22) + "2345"
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{id: good, want: true},
		{id: "rt_" + strings.Repeat("7", 26), want: true},
		{id: "", want: false},
		{id: "rt_", want: false},
		{id: good[:len(good)-1], want: false},
		{id: good + "a", want: false},
		{id: "gw_" + good[3:], want: false},
		{id: "RT_" + good[3:], want: false},
		{id: "rt_" + strings.Repeat("A", 26), want: false},
		{id: "rt_" + strings.Repeat("a", 25) + "1", want: false},
		{id: "rt_" + strings.Repeat("a", 25) + "8", want: false},
		{id: "rt_" + strings.Repeat("a", 25) + "#", want: false},
		{id: "../" + good[3:], want: false},
	} {
		if got := route.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
