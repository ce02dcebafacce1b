package rekey_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

// TestRunSteps checks each step of Run over the in-memory fakes: how it
// starts (fresh, dry, resumed, refused), how far it goes, and what it
// leaves in the checkpoint.
func TestRunSteps(t *testing.T) {
	const total = 7
	unavailable := &gateway.Error{Code: gateway.CodeUnavailable, Message: "The data store is unavailable; retry."}
	done := rekey.Counts{Scanned: total, Reencrypted: total}
	tests := []struct {
		name     string
		opts     rekey.Options
		cp       *rekey.Checkpoint // stored before the run
		countErr error
		saveErr  error
		cancel   bool // ctx has ended before the run starts

		wantCode     string
		wantCanceled bool
		want         brief
		wantWrites   int
		// wantCP is the stored checkpoint's state: "none", "complete" or
		// "incomplete".
		wantCP string
	}{
		{name: "a fresh run does every gateway",
			want: brief{Complete: true, RunID: true, Total: total, Counts: done}, wantWrites: total, wantCP: "complete"},
		{name: "a dry run writes nothing", opts: rekey.Options{DryRun: true},
			want: brief{DryRun: true, Complete: true, Total: total, Counts: done}, wantCP: "none"},
		{name: "a dry run cannot resume", opts: rekey.Options{DryRun: true, Resume: true},
			wantCode: gateway.CodeInvalid, want: brief{DryRun: true}, wantCP: "none"},
		{name: "resuming a complete run answers its summary", opts: rekey.Options{Resume: true},
			cp:   &rekey.Checkpoint{RunID: "rot_1", KeyID: "k", Total: total, Complete: true, Segments: []rekey.SegmentState{{Done: true, Counts: done}}},
			want: brief{Complete: true, Resumed: true, RunID: true, Total: total, Counts: done}, wantCP: "complete"},
		{name: "resuming continues after the checkpoint's cursor", opts: rekey.Options{Resume: true},
			cp: &rekey.Checkpoint{RunID: "rot_1", KeyID: "k", Total: total,
				Segments: []rekey.SegmentState{{Cursor: rekey.Cursor{"at": "3"}, Counts: rekey.Counts{Scanned: 4, Reencrypted: 4}}}},
			want: brief{Complete: true, Resumed: true, RunID: true, Total: total, Counts: done}, wantWrites: total - 4, wantCP: "complete"},
		{name: "a checkpoint without segments", opts: rekey.Options{Resume: true},
			cp:       &rekey.Checkpoint{RunID: "rot_1", KeyID: "k", Total: total},
			wantCode: gateway.CodeInternal, wantCP: "incomplete"},
		{name: "counting fails", countErr: unavailable,
			wantCode: gateway.CodeUnavailable, wantCP: "none"},
		{name: "the first checkpoint cannot be saved", saveErr: unavailable,
			wantCode: gateway.CodeUnavailable, want: brief{RunID: true, Next: true, Total: total}, wantCP: "none"},
		{name: "an ended context interrupts the run", cancel: true,
			wantCanceled: true, want: brief{RunID: true, Next: true, Total: total}, wantCP: "incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore(total)
			st.cp, st.countErr, st.saveErr = tt.cp, tt.countErr, tt.saveErr
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			r := rekey.New(st, fakeSealer{}, rekey.Config{KeyID: "k", Segments: 1, Concurrency: 2, PageSize: 3},
				rekey.WithLogger(slog.New(slog.DiscardHandler)))

			sum, err := r.Run(ctx, tt.opts)
			if tt.wantCanceled {
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
					t.Fatalf("Run: %v, want an interruption", err)
				}
			} else if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Run: %v, want code %q", err, tt.wantCode)
			}
			if got := briefOf(sum); got != tt.want {
				t.Errorf("summary %+v, want %+v", got, tt.want)
			}
			if got := len(st.writes); got != tt.wantWrites {
				t.Errorf("%d gateways written, want %d", got, tt.wantWrites)
			}
			cpState := "none"
			if st.cp != nil {
				cpState = map[bool]string{true: "complete", false: "incomplete"}[st.cp.Complete]
			}
			if cpState != tt.wantCP {
				t.Errorf("checkpoint %s, want %s", cpState, tt.wantCP)
			}
		})
	}
}

// brief is what TestRunSteps compares of a Summary: not the run's id
// (random), only whether it has one, nor its times.
type brief struct {
	DryRun, Complete, Resumed bool
	RunID, Next               bool
	Total                     int
	Counts                    rekey.Counts
}

func briefOf(s rekey.Summary) brief {
	return brief{DryRun: s.DryRun, Complete: s.Complete, Resumed: s.Resumed, RunID: s.RunID != "", Next: s.Next != "", Total: s.Total, Counts: s.Counts}
}
