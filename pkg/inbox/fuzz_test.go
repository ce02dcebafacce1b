package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
)

// FuzzParseUpdate feeds ParseUpdate arbitrary bodies. It never panics; it
// reads every body exactly as parseDecoded (encoding/json) does; it
// refuses with a CodeInvalid *Error, or returns the body itself as Raw, the
// update_id the body holds, a type that is "unknown" or one of the body's
// fields, and ids and a date only where the body has them.
func FuzzParseUpdate(f *testing.F) {
	for _, s := range inboxtest.ParseSeeds {
		f.Add([]byte(s))
	}
	for _, b := range inboxtest.Fixtures(f) {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := ParseUpdate(body)
		// The skim and encoding/json must read every body alike.
		ref, refErr := parseDecoded(body)
		if err != refErr || (u == nil) != (ref == nil) || u != nil && !sameUpdate(u, ref) {
			t.Fatalf("ParseUpdate = %s, %v; encoding/json reads %s, %v", show(u), err, show(ref), refErr)
		}
		if err != nil {
			var e *gateway.Error
			if !errors.As(err, &e) || e.Code != gateway.CodeInvalid || e.Message == "" || len(e.Fields) > 0 {
				t.Fatalf("error %#v is not a plain CodeInvalid *gateway.Error", err)
			}
			return
		}
		if !bytes.Equal(u.Raw, body) {
			t.Fatal("Raw is not the body")
		}
		if len(body) > MaxBodyBytes {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("accepted a body that is not a JSON object: %v", err)
		}
		if id, err := strconv.ParseInt(string(top["update_id"]), 10, 64); err != nil || id != u.UpdateID || id < 0 {
			t.Fatalf("update_id %d, the body's is %s", u.UpdateID, top["update_id"])
		}
		if _, ok := top[u.Type]; (!ok || u.Type == "update_id") && u.Type != "unknown" {
			t.Fatalf("type %q is not a field of the update", u.Type)
		}
		if u.ChatID != nil && *u.ChatID == 0 || u.SenderID != nil && *u.SenderID == 0 {
			t.Fatal("a zero id was extracted")
		}
		if u.MessageDate != nil && u.MessageDate.Unix() <= 0 {
			t.Fatalf("date %v is not after the epoch", u.MessageDate)
		}
		if u.GatewayID != "" || !u.ReceivedAt.IsZero() || !u.ExpiresAt.IsZero() {
			t.Fatal("ParseUpdate set the caller's fields")
		}
	})
}

// sameUpdate reports whether a and b hold the same values.
func sameUpdate(a, b *Update) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.UpdateID == b.UpdateID && a.Type == b.Type && eq(a.ChatID, b.ChatID) && eq(a.SenderID, b.SenderID) &&
		(a.MessageDate == nil) == (b.MessageDate == nil) && (a.MessageDate == nil || a.MessageDate.Equal(*b.MessageDate)) &&
		bytes.Equal(a.Raw, b.Raw) && a.GatewayID == b.GatewayID && a.ReceivedAt.Equal(b.ReceivedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// show renders u for a failure message.
func show(u *Update) string {
	if u == nil {
		return "nil"
	}
	v := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	d := "-"
	if u.MessageDate != nil {
		d = u.MessageDate.String()
	}
	return fmt.Sprintf("{id %d type %q chat %s sender %s date %s}", u.UpdateID, u.Type, v(u.ChatID), v(u.SenderID), d)
}
