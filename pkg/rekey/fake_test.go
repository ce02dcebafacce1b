package rekey_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

// fakeStore is rekey.Store in memory: one segment's worth of gateways in
// id order, cursors are positions.
type fakeStore struct {
	mu     sync.Mutex
	gws    []*rekey.Entry
	writes []rekey.Write
	cp     *rekey.Checkpoint
	// countErr and saveErr, when set, are what CountGateways and
	// SaveCheckpoint return.
	countErr, saveErr error
}

func newFakeStore(n int) *fakeStore {
	s := &fakeStore{}
	for i := range n {
		g := &gateway.Gateway{ID: fmt.Sprintf("gw_%026d", i), UserID: "alice", Status: gateway.StatusConnected, Version: 1, SealedCredentials: []byte{1}}
		s.gws = append(s.gws, &rekey.Entry{Gateway: g})
	}
	return s
}

func (s *fakeStore) CountGateways(ctx context.Context, seg, segments int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.countErr != nil {
		return 0, s.countErr
	}
	if seg > 0 {
		return 0, nil
	}
	return len(s.gws), nil
}

func (s *fakeStore) ScanGateways(ctx context.Context, seg, segments int, start rekey.Cursor, limit int) (rekey.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p rekey.Page
	if seg > 0 {
		return p, nil
	}
	from := 0
	if start != nil {
		from, _ = strconv.Atoi(start["at"])
		from++
	}
	for i := from; i < len(s.gws) && len(p.Entries) < limit; i++ {
		e := *s.gws[i]
		g := *e.Gateway
		e.Gateway = &g
		p.Entries = append(p.Entries, e)
		p.Keys = append(p.Keys, rekey.Cursor{"at": strconv.Itoa(i)})
	}
	if n := from + len(p.Entries); n < len(s.gws) {
		p.Next = p.Keys[len(p.Keys)-1]
	}
	return p, nil
}

func (s *fakeStore) GetGateway(ctx context.Context, id string) (rekey.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.gws {
		if e.Gateway.ID == id {
			g := *e.Gateway
			return rekey.Entry{Gateway: &g, Run: e.Run, Result: e.Result}, nil
		}
	}
	return rekey.Entry{}, gateway.NotFound()
}

func (s *fakeStore) WriteGateway(ctx context.Context, w rekey.Write) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.gws {
		if e.Gateway.ID == w.GatewayID {
			if e.Gateway.Version != w.Version {
				return false, nil
			}
			e.Gateway.Version++
			e.Run, e.Result = w.Run, w.Result
			if w.Result == rekey.ResultUnreadable {
				e.Gateway.Status, e.Gateway.LastError = gateway.StatusError, w.LastError
			} else {
				e.Gateway.SealedCredentials = w.Sealed
			}
			s.writes = append(s.writes, w)
			return true, nil
		}
	}
	return false, nil
}

func (s *fakeStore) LoadCheckpoint(ctx context.Context) (rekey.Checkpoint, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cp == nil {
		return rekey.Checkpoint{}, false, nil
	}
	return *s.cp, true, nil
}

func (s *fakeStore) SaveCheckpoint(ctx context.Context, cp rekey.Checkpoint, fresh bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return s.saveErr
	}
	if !fresh && (s.cp == nil || s.cp.RunID != cp.RunID) {
		return gateway.Errorf(gateway.CodeConflict, "taken over")
	}
	s.cp = &cp
	return nil
}

// fakeSealer reseals to "new" unless errs names an error for the gateway.
type fakeSealer struct {
	errs map[string]error // by gateway id; "*" for every gateway
}

func (f fakeSealer) err(g *gateway.Gateway) error {
	if err, ok := f.errs[g.ID]; ok {
		return err
	}
	return f.errs["*"]
}

func (f fakeSealer) Reseal(ctx context.Context, g *gateway.Gateway) ([]byte, error) {
	if err := f.err(g); err != nil {
		return nil, err
	}
	return []byte("new"), nil
}

func (f fakeSealer) CheckCredentials(ctx context.Context, g *gateway.Gateway) error { return f.err(g) }

func TestRunStops(t *testing.T) {
	unavailable := &gateway.Error{Code: gateway.CodeUnavailable, Message: "KMS is down."}
	unreadable := &gateway.Error{Code: gateway.CodeCredentialsUnreadable, Message: "Does not open."}
	id := func(i int) string { return fmt.Sprintf("gw_%026d", i) }
	tests := []struct {
		name       string
		errs       map[string]error
		wantCode   string
		wantCounts rekey.Counts
		// wantMarked are the gateways marked unreadable.
		wantMarked []string
	}{
		{"an outage stops the run and marks nothing", map[string]error{id(4): unavailable, id(1): unreadable},
			gateway.CodeUnavailable, rekey.Counts{Scanned: 4, Reencrypted: 3, Unreadable: 1}, []string{id(1)}},
		{"failures beyond the budget stop the run", map[string]error{"*": gateway.Internal("x", fmt.Errorf("boom"))},
			gateway.CodeInternal, rekey.Counts{Scanned: 3, Failed: 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore(10)
			r := rekey.New(st, fakeSealer{errs: tt.errs}, rekey.Config{KeyID: "k", Segments: 1, Concurrency: 1, PageSize: 3, MaxFailures: 3})
			sum, err := r.Run(t.Context(), rekey.Options{})
			if got := gateway.ErrorCode(err); got != tt.wantCode || sum.Complete {
				t.Fatalf("Run: %+v, %v; want code %s, incomplete", sum, err, tt.wantCode)
			}
			if sum.Counts != tt.wantCounts {
				t.Errorf("counts %+v, want %+v", sum.Counts, tt.wantCounts)
			}
			var marked []string
			for _, w := range st.writes {
				if w.Result == rekey.ResultUnreadable {
					marked = append(marked, w.GatewayID)
				}
			}
			if !slices.Equal(marked, tt.wantMarked) {
				t.Errorf("marked unreadable %v, want %v", marked, tt.wantMarked)
			}
			if st.cp == nil || st.cp.RunID != sum.RunID || st.cp.Complete {
				t.Errorf("checkpoint %+v after the stop", st.cp)
			}
		})
	}
}

func TestResumeRefusals(t *testing.T) {
	tests := []struct {
		name string
		cp   *rekey.Checkpoint
	}{
		{"nothing to resume", nil},
		{"a run under another key", &rekey.Checkpoint{RunID: "rot_1", KeyID: "old", Segments: make([]rekey.SegmentState, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore(3)
			st.cp = tt.cp
			sum, err := rekey.New(st, fakeSealer{}, rekey.Config{KeyID: "current"}).Run(t.Context(), rekey.Options{Resume: true})
			if !gateway.IsCode(err, gateway.CodeConflict) {
				t.Fatalf("Run: %+v, %v; want a conflict", sum, err)
			}
			if len(st.writes) != 0 {
				t.Errorf("a refused resume wrote %d gateways", len(st.writes))
			}
		})
	}
}
