package telegramhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
)

// BenchmarkWebhook compares, in one run, the webhook handler over an
// in-memory store with a bare handler that only decodes the same JSON and
// answers 200: the difference is what verification, parsing, the store
// contract, bookkeeping and the log line cost per update.
//
//	go test -run '^$' -bench Webhook -benchmem ./pkg/telegramhook/
//
// Both get the same request: the message.json fixture with a new update_id
// each time, the secret header, path parameters as API Gateway sends them.
func BenchmarkWebhook(b *testing.B) {
	fixture, err := os.ReadFile(filepath.Join(inboxtest.Dir(), "message.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(fixture, &m); err != nil {
		b.Fatal(err)
	}
	delete(m, "update_id")
	rest, _ := json.Marshal(m) // {"message":{...}}
	prefix := []byte(`{"update_id":`)
	suffix := append([]byte{','}, rest[1:]...)

	bench := func(b *testing.B, handle func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)) {
		ev := request(http.MethodPost, gw1, secret, "")
		ctx := context.Background()
		buf := make([]byte, 0, len(prefix)+len(suffix)+20)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			buf = append(strconv.AppendInt(append(buf[:0], prefix...), int64(i), 10), suffix...)
			ev.Body = string(buf)
			resp, _ := handle(ctx, ev)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
		}
	}

	b.Run("bare", func(b *testing.B) {
		bench(b, func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(ev.Body), &top); err != nil {
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest}, nil
			}
			if _, err := strconv.ParseInt(string(top["update_id"]), 10, 64); err != nil {
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest}, nil
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK}, nil
		})
	})
	b.Run("handler", func(b *testing.B) {
		st := newFakeStore()
		st.keepRaw = false
		st.add(gw1, secret)
		// The production logger: one JSON line per update, here to nowhere.
		h := New(st, WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
		bench(b, h.Handle)
	})
}
