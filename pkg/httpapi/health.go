package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// Limits of GET /api/gateways/{id}/health: the default is a little over
// eight hours of samples at the default five-minute schedule, the maximum
// a little under four days, both enough for a sparkline.
const (
	DefaultHealthLimit = 100
	MaxHealthLimit     = 1000
)

// HealthSamples reads a gateway's recent health samples, newest first;
// pkg/dynamo's Health is one.
type HealthSamples interface {
	ListSamples(ctx context.Context, gatewayID string, limit int) ([]health.Sample, error)
}

// WithHealthSamples sets where HealthHistory reads samples. Without it,
// HealthHistory answers 503.
func WithHealthSamples(src HealthSamples) Option {
	return func(a *API) { a.health = src }
}

// HealthSampleJSON is one health check as the dashboard's sparkline reads it.
type HealthSampleJSON struct {
	At        time.Time      `json:"at"`
	Healthy   bool           `json:"healthy"`
	Outcome   health.Outcome `json:"result"`
	LatencyMs int64          `json:"latencyMs"`
	// Status is the gateway's status after the check.
	Status             gateway.Status `json:"status,omitempty"`
	Error              string         `json:"error,omitempty"`
	PendingUpdateCount *int64         `json:"pendingUpdateCount,omitempty"`
}

// HealthHistory answers GET /api/gateways/{id}/health?limit=: the
// gateway's recent health-check samples, newest first ({"items": […]}).
// A gateway of another tenant is 404, as everywhere.
func (a *API) HealthHistory(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		q := ev.QueryStringParameters
		fe := unknownParams(q, "limit")
		limit, lfe := parseLimit(q, DefaultHealthLimit, MaxHealthLimit)
		fe = append(fe, lfe...)
		if len(fe) > 0 {
			return response{}, gateway.Invalid(fe...)
		}
		g, err := a.svc.Get(ctx, r.actor, ev.PathParameters["id"])
		if err != nil {
			return response{}, err
		}
		src := a.health
		if src == nil {
			return response{}, &gateway.Error{Code: gateway.CodeUnavailable, Message: "Health history is not available.", Op: "httpapi.HealthHistory"}
		}
		samples, err := src.ListSamples(ctx, g.ID, limit)
		if err != nil {
			return response{}, err
		}
		items := make([]HealthSampleJSON, len(samples))
		for i, s := range samples {
			items[i] = HealthSampleJSON{At: s.At, Healthy: s.Healthy(), Outcome: s.Outcome, LatencyMs: s.LatencyMs,
				Status: s.Status, Error: s.Error, PendingUpdateCount: s.PendingUpdateCount}
		}
		return response{status: http.StatusOK, body: map[string]any{"items": items}}, nil
	})
}
