package telegram

import (
	"context"
	"encoding/json"
)

// Send calls a sending method (sendMessage, sendPhoto, …) with parameters
// that were checked when they were accepted, passed through as they are,
// and returns the sent message. It makes the requests the Bot's client
// makes: a client with no retries makes exactly one, which a caller that
// must never send twice needs. Errors: as GetMe.
func (b *Bot) Send(ctx context.Context, method string, params json.RawMessage) (Message, error) {
	var m Message
	err := b.call(ctx, method, params, &m)
	return m, err
}
