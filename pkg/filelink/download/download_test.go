package download_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/filelink/filelinktest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// TestMain scans every response, error and log line of the tests for the
// bot token, in every common encoding.
func TestMain(m *testing.M) {
	secretscan.Register("token", token)
	secretscan.Main(m)
}

const (
	token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDfile"
	gwID  = "gw_aaaaaaaaaaaaaaaaaaaaaaaaaa"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// gateways is the handler's Gateways: one gateway, whose status and type a
// test sets, of alice's.
type gateways struct{ g gateway.Gateway }

func (f *gateways) Get(_ context.Context, actor gateway.Actor, id string) (*gateway.Gateway, error) {
	if id != f.g.ID || actor.Owner() != f.g.Owner() {
		return nil, gateway.NotFound()
	}
	g := f.g
	return &g, nil
}

func (f *gateways) Credentials(context.Context, *gateway.Gateway) (gateway.Credentials, error) {
	return gateway.Credentials{BotToken: token}, nil
}

type world struct {
	links *filelinktest.Store
	gws   *gateways
	clock *fakeclock.Clock
	h     *download.Handler
}

func newWorld(t *testing.T, base string, timeout time.Duration) *world {
	t.Helper()
	c := provider.NewClient(nil)
	c.Timeout, c.MaxRetries = timeout, 0
	w := &world{links: filelinktest.NewStore(), clock: fakeclock.New(t0),
		gws: &gateways{g: gateway.Gateway{ID: gwID, UserID: "alice", Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected}}}
	w.h = download.New(w.links, w.gws, base, download.WithClient(c), download.WithClock(w.clock.Now),
		download.WithLogger(secretscan.Logger("download")))
	return w
}

// link stores a link to path and returns its id.
func (w *world) link(t *testing.T, path string, size int64) string {
	t.Helper()
	id, hash := filelink.NewID()
	err := w.links.PutFileLink(context.Background(), filelink.Link{Hash: hash, GatewayID: gwID, Owner: gateway.Owner{UserID: "alice"},
		FilePath: path, Size: size, ExpiresAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *world) get(t *testing.T, method, id string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{RouteKey: "GET /api/files/{linkId}", PathParameters: map[string]string{"linkId": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}}}
	resp, err := w.h.Handle(context.Background(), ev)
	secretscan.Error("download", err)
	if err != nil {
		t.Fatal(err)
	}
	secretscan.Response("download", resp.Body, resp.Headers)
	return resp
}

func problemType(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if resp.Headers["Content-Type"] != "application/problem+json" || json.Unmarshal([]byte(resp.Body), &p) != nil || p.Status != resp.StatusCode {
		t.Fatalf("not a problem: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	return p.Type[strings.LastIndex(p.Type, "/")+1:]
}

// TestHandle: what each link answers.
func TestHandle(t *testing.T) {
	tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	srv := httptest.NewServer(tg)
	defer srv.Close()
	tg.AddFile(token, telegramtest.File{FileID: "BQACAgIAAxkBAAIBdoc", Path: "documents/Report 2026 (final).pdf", Content: []byte("%PDF-1.4 hi")})

	tests := []struct {
		name       string
		method     string
		path       string // "" for a link that is not stored
		size       int64
		id         string // instead of a stored link
		setup      func(w *world)
		wantStatus int
		wantCode   string
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "served", path: "documents/Report 2026 (final).pdf", size: 11, wantStatus: 200, wantBody: "%PDF-1.4 hi",
			wantHeader: map[string]string{"Content-Type": "application/pdf", "Content-Length": "11", "Cache-Control": "private, max-age=3600",
				"X-Content-Type-Options": "nosniff", "Content-Disposition": `attachment; filename="Report_2026__final_.pdf"`}},
		{name: "HEAD has no body", method: http.MethodHead, path: "documents/Report 2026 (final).pdf", wantStatus: 200},
		{name: "max-age counts down", path: "documents/Report 2026 (final).pdf", setup: func(w *world) { w.clock.Advance(59 * time.Minute) },
			wantStatus: 200, wantHeader: map[string]string{"Cache-Control": "private, max-age=60"}},
		{name: "expired", path: "documents/Report 2026 (final).pdf", setup: func(w *world) { w.clock.Advance(time.Hour) }, wantStatus: 404, wantCode: "not_found"},
		{name: "unknown", id: strings.Repeat("A", 43), wantStatus: 404, wantCode: "not_found"},
		{name: "malformed", id: "../../file/bot", wantStatus: 404, wantCode: "not_found"},
		{name: "too large by its size", path: "documents/big.bin", size: filelink.MaxBytes + 1, wantStatus: 413, wantCode: "too_large"},
		{name: "disconnected", path: "documents/Report 2026 (final).pdf", setup: func(w *world) { w.gws.g.Status = gateway.StatusDisconnected },
			wantStatus: 404, wantCode: "not_found"},
		{name: "gateway of another owner", path: "documents/Report 2026 (final).pdf", setup: func(w *world) { w.gws.g.UserID = "bob" },
			wantStatus: 404, wantCode: "not_found"},
		{name: "gone at Telegram", path: "documents/none.pdf", wantStatus: 404, wantCode: "not_found"},
		{name: "Telegram fails", path: "documents/Report 2026 (final).pdf", setup: func(w *world) {
			tg.Fail(telegramtest.Failure{Method: "file", ErrorCode: 500})
		}, wantStatus: 502, wantCode: "upstream_unreachable"},
		{name: "POST", method: http.MethodPost, path: "documents/Report 2026 (final).pdf", wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, srv.URL, 5*time.Second)
			id := tt.id
			if id == "" {
				id = w.link(t, tt.path, tt.size)
			}
			if tt.setup != nil {
				tt.setup(w)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp := w.get(t, method, id)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantCode != "" {
				if got := problemType(t, resp); got != tt.wantCode {
					t.Errorf("problem %s, want %s", got, tt.wantCode)
				}
			}
			if tt.wantBody != "" {
				b, err := base64.StdEncoding.DecodeString(resp.Body)
				if err != nil || !resp.IsBase64Encoded || string(b) != tt.wantBody {
					t.Errorf("body %q (base64 %v, %v), want %q", b, resp.IsBase64Encoded, err, tt.wantBody)
				}
			}
			if method == http.MethodHead && resp.Body != "" {
				t.Errorf("HEAD answered a body")
			}
			for k, want := range tt.wantHeader {
				if got := resp.Headers[k]; got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestFaults: Telegram's file server hangs, resets, answers garbage, closes
// or trickles: the download answers 502 within the client's timeout, and
// no answer or log line holds the token.
func TestFaults(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, mode := range faulttest.TransportModes {
		t.Run(string(mode), func(t *testing.T) {
			srv := faulttest.NewServer(mode, faulttest.Options{Trickle: time.Second})
			defer srv.Close()
			w := newWorld(t, srv.URL, timeout)
			start := time.Now()
			resp := w.get(t, http.MethodGet, w.link(t, "documents/file_1.pdf", 10))
			if took := time.Since(start); took > timeout+2*time.Second {
				t.Errorf("took %v", took)
			}
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if got := problemType(t, resp); !strings.HasPrefix(got, "upstream_") {
				t.Errorf("problem %s", got)
			}
		})
	}
}

// TestOversizedBody: Telegram serves more than the link said (or nothing
// said): over MaxBytes is 413, not a response Lambda would refuse.
func TestOversizedBody(t *testing.T) {
	tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	srv := httptest.NewServer(tg)
	defer srv.Close()
	tg.AddFile(token, telegramtest.File{FileID: "BQACAgIAAxkBAAIBbig", Path: "videos/big.mp4", Content: make([]byte, filelink.MaxBytes+1)})
	// Past what Gatehouse reads at all (telegram.MaxDownloadBytes): still
	// too large, not a broken answer.
	tg.AddFile(token, telegramtest.File{FileID: "BQACAgIAAxkBAAIBhuge", Path: "videos/huge.mp4", Content: make([]byte, telegram.MaxDownloadBytes+1)})
	w := newWorld(t, srv.URL, 5*time.Second)
	for _, path := range []string{"videos/big.mp4", "videos/huge.mp4"} {
		resp := w.get(t, http.MethodGet, w.link(t, path, 0))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || problemType(t, resp) != "too_large" {
			t.Errorf("%s: status %d: %s", path, resp.StatusCode, resp.Body)
		}
	}
}
