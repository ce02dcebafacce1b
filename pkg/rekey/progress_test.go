package rekey_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name string
		p    rekey.Progress
		want string
	}{
		{"run with a total",
			rekey.Progress{Total: 5000, Counts: rekey.Counts{Scanned: 1200, Reencrypted: 1180, Unreadable: 3, Skipped: 17}, PerSecond: 240.4},
			"rotate: 1200/5000 scanned, 1180 re-encrypted, 3 unreadable, 17 skipped, 0 failed (240/s)"},
		{"dry run says what would happen",
			rekey.Progress{DryRun: true, Total: 10, Counts: rekey.Counts{Scanned: 10, Reencrypted: 8, Unreadable: 1, Skipped: 0, Failed: 1}, PerSecond: 99.6},
			"rotate (dry run): 10/10 scanned, 8 to re-encrypt, 1 unreadable, 0 skipped, 1 failed (100/s)"},
		{"no total leaves the denominator out",
			rekey.Progress{Counts: rekey.Counts{Scanned: 7, Reencrypted: 7}},
			"rotate: 7 scanned, 7 re-encrypted, 0 unreadable, 0 skipped, 0 failed (0/s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		payload string
		want    rekey.Event
		invalid bool
	}{
		{``, rekey.Event{}, false},
		{`null`, rekey.Event{}, false},
		{`{}`, rekey.Event{}, false},
		{`{"dryRun":true}`, rekey.Event{DryRun: true}, false},
		{` {"resume":true} `, rekey.Event{Resume: true}, false},
		// A misspelt dryRun must not run for real.
		{`{"dry_run":true}`, rekey.Event{}, true},
		{`{"dryRun":"yes"}`, rekey.Event{}, true},
		{`{"dryRun":true} {"resume":true}`, rekey.Event{}, true},
		{`[]`, rekey.Event{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			got, err := rekey.ParseEvent([]byte(tt.payload))
			if tt.invalid {
				if code := gateway.ErrorCode(err); code != gateway.CodeInvalid {
					t.Fatalf("ParseEvent(%s) = %+v, %v; want an invalid error", tt.payload, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseEvent(%s) = %+v, %v; want %+v", tt.payload, got, err, tt.want)
			}
		})
	}
}
