// Package healthbus publishes a health sweep's status changes to an
// EventBridge bus: package health's Publisher over PutEvents. It lives apart
// from package health so that only the health worker links the EventBridge
// client.
package healthbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/gatehouse/gatehouse/pkg/health"
)

// PutEventsAPI is the part of *eventbridge.Client that EventBridge uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes status changes to an event bus with PutEvents:
// source health.EventSource, detail-type health.DetailTypeStatusChanged,
// the health.StatusChange as detail, so a rule can route on newStatus,
// type or owner.
type EventBridge struct {
	Client PutEventsAPI
	Bus    string // name or ARN; empty means the default bus
}

var _ health.Publisher = EventBridge{}

// StatusChanged puts one event. Errors: the call's, or the entry's own
// failure (PutEvents answers 200 with a failed entry).
func (p EventBridge) StatusChanged(ctx context.Context, c health.StatusChange) error {
	detail, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("healthbus: event detail: %w", err)
	}
	entry := ebtypes.PutEventsRequestEntry{
		Source:     aws.String(health.EventSource),
		DetailType: aws.String(health.DetailTypeStatusChanged),
		Detail:     aws.String(string(detail)),
		Time:       aws.Time(c.At),
	}
	if p.Bus != "" {
		entry.EventBusName = aws.String(p.Bus)
	}
	out, err := p.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("healthbus: PutEvents: %w", err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("healthbus: PutEvents entry failed: %s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}
