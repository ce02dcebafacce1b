package health

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Event names, as EventBridge rules match them.
const (
	// EventSource is the source of every event the sweep emits.
	EventSource = "gatehouse.health"
	// DetailTypeStatusChanged is the detail-type of a status change.
	DetailTypeStatusChanged = "Gateway Status Changed"
)

// StatusChange is the detail of a "Gateway Status Changed" event. It holds
// no credential and no configuration, only who owns the gateway and what
// happened, so notifications can be built on it without reading the table.
type StatusChange struct {
	GatewayID      string         `json:"gatewayId"`
	Type           gateway.Type   `json:"type"`
	UserID         string         `json:"userId"`
	OrganizationID string         `json:"organizationId,omitempty"`
	OldStatus      gateway.Status `json:"oldStatus"`
	NewStatus      gateway.Status `json:"newStatus"`
	Reason         string         `json:"reason"`
	Outcome        Outcome        `json:"outcome"`
	At             time.Time      `json:"at"`
	Sweep          string         `json:"sweep"`
	// Version is the gateway's version after the change.
	Version int64 `json:"version"`
}

// Publisher emits status changes. The sweep calls it after the change is
// written; a failure is logged and counted, never retried into a second
// write. In AWS it is healthbus.EventBridge; locally LogPublisher.
type Publisher interface {
	StatusChanged(ctx context.Context, c StatusChange) error
}

// LogPublisher logs each status change as one JSON line: what the local
// runner does in place of EventBridge.
type LogPublisher struct{ Log *slog.Logger }

// StatusChanged logs c. It never fails.
func (p LogPublisher) StatusChanged(_ context.Context, c StatusChange) error {
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	log.Info("event", "source", EventSource, "detailType", DetailTypeStatusChanged,
		"gatewayId", c.GatewayID, "type", c.Type, "oldStatus", c.OldStatus, "newStatus", c.NewStatus,
		"reason", c.Reason, "outcome", c.Outcome, "sweep", c.Sweep)
	return nil
}
