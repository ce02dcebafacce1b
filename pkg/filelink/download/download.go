// Package download is the files function: GET /api/files/{linkId}, which
// serves a file a bot received through the capability link getFile
// answered (see package filelink for why a link, and why not S3).
//
// The request carries no JWT: the link is the credential. The function
// hashes the id, reads the link (one GetItem), reads its gateway as the
// link's owner (so another tenant's or a deleted gateway is not found),
// opens the bot token (KMS, bound to the gateway as everywhere), fetches
// the file from Telegram's file server with a timeout and answers its
// bytes, base64 as API Gateway expects binary bodies. An unknown id, an
// expired link, a gateway deleted or no longer CONNECTED and a file
// Telegram no longer has all answer the same 404; a file over
// filelink.MaxBytes answers 413. No answer and no log line holds the token,
// Telegram's URL or the link id.
package download

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

// FnFiles is the function's folder under functions/ and its name in the
// local runner's handler map.
const FnFiles = "files"

// Gateways is what the handler needs of the gateway service
// (*gateway.Service): the gateway, read as its owner, and its credentials.
type Gateways interface {
	Get(ctx context.Context, actor gateway.Actor, id string) (*gateway.Gateway, error)
	Credentials(ctx context.Context, g *gateway.Gateway) (gateway.Credentials, error)
}

// Handler is the files function. Build it with New; it is safe for
// concurrent use.
type Handler struct {
	links          filelink.Store
	gateways       Gateways
	telegramBase   string
	client         *provider.Client
	log            *slog.Logger
	now            func() time.Time
	requestTimeout time.Duration
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets where the per-request lines go (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock replaces time.Now, so tests can pass a link's expiry.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithRequestTimeout bounds each request's work (default
// edge.DefaultRequestTimeout).
func WithRequestTimeout(d time.Duration) Option { return func(h *Handler) { h.requestTimeout = d } }

// WithClient sets the client of Telegram's file server (default
// provider.NewClient(nil): a 10 s timeout).
func WithClient(c *provider.Client) Option { return func(h *Handler) { h.client = c } }

// New returns the handler over links and gateways, fetching from the Bot
// API at telegramBase (TELEGRAM_API_BASE_URL; "" is Telegram's). It does no
// I/O.
func New(links filelink.Store, gateways Gateways, telegramBase string, opts ...Option) *Handler {
	h := &Handler{links: links, gateways: gateways, telegramBase: telegramBase, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	if h.client == nil {
		h.client = provider.NewClient(nil)
	}
	return h
}

// Outcomes of a request, for its log line.
const (
	outcomeServed   = "served"
	outcomeNotFound = "not_found"
	outcomeTooLarge = "too_large"
	outcomeUpstream = "upstream_failed"
	outcomeInternal = "internal"
	outcomeMethod   = "method_not_allowed"
)

// record is what one request reports in its log line: never the link id,
// which is the credential.
type record struct {
	start     time.Time
	requestID string
	gatewayID string
	outcome   string
	bytes     int
	err       error
}

// Handle answers GET (and HEAD) /api/files/{linkId}. It never returns an
// error: every failure is a problem+json response.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	rec := record{start: time.Now(), requestID: ev.RequestContext.RequestID}
	defer func() {
		if p := recover(); p != nil {
			rec.err, rec.outcome = edge.PanicCause(p), outcomeInternal
			resp = edge.ErrorResponse(gateway.Internal("download", rec.err), rec.requestID, nil)
		}
		h.logRequest(ctx, &rec, resp.StatusCode)
	}()
	ctx, cancel := edge.BoundContext(ctx, h.requestTimeout)
	defer cancel()
	if m := ev.RequestContext.HTTP.Method; m != http.MethodGet && m != http.MethodHead {
		rec.outcome = outcomeMethod
		return edge.NewProblem(edge.CodeMethodNotAllowed, "This path accepts GET.", rec.requestID).Response(map[string]string{"Allow": "GET, HEAD"}), nil
	}
	resp, err := h.serve(ctx, ev, &rec)
	if err != nil {
		rec.err = err
		if rec.outcome == "" {
			rec.outcome = outcomeInternal
		}
		return edge.ErrorResponse(err, rec.requestID, nil), nil
	}
	rec.outcome = outcomeServed
	if ev.RequestContext.HTTP.Method == http.MethodHead {
		resp.Body, resp.IsBase64Encoded = "", false
	}
	return resp, nil
}

// notFound is the one answer for every link that does not lead to a file:
// unknown, expired, its gateway gone or disconnected, its file gone.
func notFound(rec *record) error {
	rec.outcome = outcomeNotFound
	return &gateway.Error{Code: gateway.CodeNotFound, Message: "This file link does not exist or has expired."}
}

func (h *Handler) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest, rec *record) (events.APIGatewayV2HTTPResponse, error) {
	id := ev.PathParameters["linkId"]
	if !filelink.ValidID(id) {
		return events.APIGatewayV2HTTPResponse{}, notFound(rec)
	}
	link, err := h.links.GetFileLink(ctx, filelink.Hash(id))
	if gateway.IsCode(err, gateway.CodeNotFound) {
		return events.APIGatewayV2HTTPResponse{}, notFound(rec)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	rec.gatewayID = link.GatewayID
	remaining := link.ExpiresAt.Sub(h.now())
	if remaining <= 0 {
		return events.APIGatewayV2HTTPResponse{}, notFound(rec)
	}
	if link.Size > filelink.MaxBytes {
		return events.APIGatewayV2HTTPResponse{}, tooLarge(rec)
	}
	actor := gateway.Actor{UserID: link.Owner.UserID, OrganizationID: link.Owner.OrganizationID, System: FnFiles, RequestID: rec.requestID}
	g, err := h.gateways.Get(ctx, actor, link.GatewayID)
	if gateway.IsCode(err, gateway.CodeNotFound) {
		return events.APIGatewayV2HTTPResponse{}, notFound(rec)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if g.Type != gateway.TypeTelegramBot || g.Status != gateway.StatusConnected {
		return events.APIGatewayV2HTTPResponse{}, notFound(rec)
	}
	creds, err := h.gateways.Credentials(ctx, g)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	file, err := telegram.NewBot(h.telegramBase, creds.BotToken, h.client).DownloadFile(ctx, link.FilePath)
	if err != nil {
		var apiErr *telegram.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == http.StatusNotFound {
			return events.APIGatewayV2HTTPResponse{}, notFound(rec)
		}
		if errors.Is(err, provider.ErrTooLarge) {
			// Larger than Gatehouse reads at all: a file of unknown
			// size that is too large, not a broken answer.
			return events.APIGatewayV2HTTPResponse{}, tooLarge(rec)
		}
		rec.outcome = outcomeUpstream
		code := gateway.CodeUpstreamError
		if provider.Classify(err) == provider.OutcomeUnreachable {
			code = gateway.CodeUpstreamUnreachable
		}
		return events.APIGatewayV2HTTPResponse{}, &gateway.Error{Code: code, Message: "Telegram did not serve the file: " + provider.Message(err), Err: err}
	}
	if len(file.Body) > filelink.MaxBytes {
		return events.APIGatewayV2HTTPResponse{}, tooLarge(rec)
	}
	rec.bytes = len(file.Body)
	ct := file.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	seconds := int(remaining / time.Second)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers: map[string]string{
			"Content-Type":           ct,
			"Content-Length":         strconv.Itoa(len(file.Body)),
			"Cache-Control":          "private, max-age=" + strconv.Itoa(seconds),
			"X-Content-Type-Options": "nosniff",
			"Content-Disposition":    `attachment; filename="` + filename(link.FilePath) + `"`,
		},
		Body:            base64.StdEncoding.EncodeToString(file.Body),
		IsBase64Encoded: true,
	}, nil
}

func tooLarge(rec *record) error {
	rec.outcome = outcomeTooLarge
	return &gateway.Error{Code: gateway.CodeTooLarge, Message: "The file is larger than the " + strconv.Itoa(filelink.MaxBytes>>20) + " MiB a Gatehouse file link serves."}
}

// filename is the base name of Telegram's file_path, reduced to characters
// that are safe inside a quoted Content-Disposition parameter.
func filename(filePath string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._-", r):
			return r
		}
		return '_'
	}, path.Base(filePath))
	if name == "" || name == "." || name == "_" {
		return "file"
	}
	return name
}

// logRequest writes the request's one line: never the link id, the token
// or Telegram's URL (the provider's errors name the host only).
func (h *Handler) logRequest(ctx context.Context, r *record, status int) {
	attrs := []slog.Attr{
		slog.String("requestId", r.requestID),
		slog.String("function", FnFiles),
		slog.String("gatewayId", r.gatewayID),
		slog.String("outcome", r.outcome),
		slog.Int("status", status),
		slog.Int("bytes", r.bytes),
		slog.Int64("ms", time.Since(r.start).Milliseconds()),
	}
	level := slog.LevelInfo
	if r.err != nil && status >= 500 {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", r.err.Error()))
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}
