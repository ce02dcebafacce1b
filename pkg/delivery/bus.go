package delivery

import (
	"context"
	"log/slog"
)

// Event names of updates put on EventBridge.
const (
	EventSource            = "gatehouse.telegram"
	DetailTypeUpdateRouted = "Telegram Update Received"
)

// Bus publishes a message as an event (EventBridge in AWS, a log line
// locally).
type Bus interface {
	Publish(ctx context.Context, m Message) error
}

// LogBus logs each event in place of EventBridge: the local runner's bus.
type LogBus struct{ Log *slog.Logger }

// Publish logs m's identity (never the update's content). It never fails.
func (b LogBus) Publish(_ context.Context, m Message) error {
	b.Log.Info("event", "source", EventSource, "detailType", DetailTypeUpdateRouted,
		"gatewayId", m.Route.GatewayID, "routeId", m.Route.ID, "updateId", m.Update.UpdateID, "webhookId", m.WebhookID)
	return nil
}
