package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
)

// remote is a provider.RemoteFile, as Telegram's getFile answers.
type remote struct{ path string }

func (r remote) RemotePath() (string, int64) { return r.path, 42 }
func (r remote) Linked(url string, exp time.Time) any {
	return map[string]any{"url": url, "expiresAt": exp}
}

// linker records the links it makes.
type linker struct {
	err   error
	calls []string
}

func (l *linker) MintFileLink(_ context.Context, g *gateway.Gateway, path string, size int64) (string, time.Time, error) {
	l.calls = append(l.calls, g.ID+" "+path)
	return "https://gatehouse.example.com/api/files/x", t0.Add(time.Hour), l.err
}

// TestExecuteLinksRemoteFiles: a RemoteFile result is answered as a link
// minted for the gateway; without a linker, or when minting fails, the
// action fails rather than answer the remote address.
func TestExecuteLinksRemoteFiles(t *testing.T) {
	tests := []struct {
		name     string
		linker   *linker
		wantCode string
	}{
		{name: "linked", linker: &linker{}},
		{name: "no linker", wantCode: gateway.CodeInternal},
		{name: "minting fails", linker: &linker{err: gateway.Errorf(gateway.CodeUnavailable, "down")}, wantCode: gateway.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []lifecycle.Option
			if tt.linker != nil {
				opts = append(opts, lifecycle.WithFileLinks(tt.linker))
			}
			w := newWorld(t, gateway.TypeTelegramBot, opts...)
			g := w.put(t, seed{status: gateway.StatusConnected})
			w.fake.executeOut = remote{path: "documents/file_1.pdf"}
			out, err := w.life.Execute(t.Context(), alice, g.ID, "ping", []byte(`{}`))
			wantCode(t, "Execute", err, tt.wantCode)
			if tt.wantCode != "" {
				if out != nil {
					t.Errorf("a failed link answered %v", out)
				}
				return
			}
			m, ok := out.(map[string]any)
			if !ok || m["url"] != "https://gatehouse.example.com/api/files/x" {
				t.Errorf("Execute = %#v, want the link", out)
			}
			if len(tt.linker.calls) != 1 || tt.linker.calls[0] != g.ID+" documents/file_1.pdf" {
				t.Errorf("links minted: %v", tt.linker.calls)
			}
		})
	}

}
