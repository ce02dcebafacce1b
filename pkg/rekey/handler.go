package rekey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Event is the rotate-credentials function's payload, e.g.
// {"dryRun":true} or {"resume":true}; {} starts a new run.
type Event struct {
	DryRun bool `json:"dryRun"`
	Resume bool `json:"resume"`
}

// ParseEvent decodes a payload strictly: an unknown field is an error,
// because a misspelt "dryRun" silently read as a real run would rewrite
// every gateway. An empty payload or null is the zero Event.
//
// Errors: CodeInvalid, naming what is wrong.
func ParseEvent(payload []byte) (Event, error) {
	var ev Event
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || string(payload) == "null" {
		return ev, nil
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, invalidEvent(err)
	}
	if dec.More() {
		return ev, invalidEvent(fmt.Errorf("data after the JSON object"))
	}
	return ev, nil
}

func invalidEvent(err error) error {
	return &gateway.Error{Code: gateway.CodeInvalid, Message: `The event must be {"dryRun":bool,"resume":bool}.`, Op: "rekey.ParseEvent", Err: err}
}

// Handle is the rotate-credentials function's entry point (a signature
// lambda.Start accepts): it runs until done or until the invocation's
// deadline nears, and answers the Summary, with complete false when
// invoking it again with {"resume":true} must continue.
//
// Errors: those of ParseEvent and Run.
func (r *Rotator) Handle(ctx context.Context, payload json.RawMessage) (Summary, error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return Summary{}, err
	}
	deadline, _ := ctx.Deadline()
	return r.Run(ctx, Options{DryRun: ev.DryRun, Resume: ev.Resume, Deadline: deadline})
}
