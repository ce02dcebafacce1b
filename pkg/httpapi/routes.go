package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
)

// GatewayJSON is a gateway as the API returns it: never its credentials.
type GatewayJSON struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Type            gateway.Type    `json:"type"`
	Status          gateway.Status  `json:"status"`
	Config          json.RawMessage `json:"config"`
	CredentialInfo  map[string]any  `json:"credentialInfo"`
	UserID          string          `json:"userId"`
	OrganizationID  *string         `json:"organizationId"`
	LastConnectedAt *time.Time      `json:"lastConnectedAt"`
	LastErrorAt     *time.Time      `json:"lastErrorAt"`
	LastError       *string         `json:"lastError"`
	LastCheckedAt   *time.Time      `json:"lastCheckedAt"`
	LastLatencyMs   *int64          `json:"lastLatencyMs"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	Version         int64           `json:"version"`
}

// ToJSON renders g for a response.
func ToJSON(g *gateway.Gateway) GatewayJSON {
	j := GatewayJSON{
		ID: g.ID, Name: g.Name, Type: g.Type, Status: g.Status, Config: g.Config,
		CredentialInfo: g.CredentialInfo, UserID: g.UserID,
		LastConnectedAt: g.LastConnectedAt, LastErrorAt: g.LastErrorAt, LastCheckedAt: g.LastCheckedAt,
		LastLatencyMs: g.LastLatencyMs, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, Version: g.Version,
	}
	if len(j.Config) == 0 {
		j.Config = json.RawMessage("{}")
	}
	if j.CredentialInfo == nil {
		j.CredentialInfo = map[string]any{}
	}
	if g.OrganizationID != "" {
		j.OrganizationID = &g.OrganizationID
	}
	if g.LastError != "" {
		j.LastError = &g.LastError
	}
	return j
}

func gatewayResponse(status int, g *gateway.Gateway) response {
	return response{status: status, body: ToJSON(g), headers: map[string]string{"ETag": etag(g.Version)}}
}

// ListGateways answers GET /api/gateways?type=&status=&limit=&cursor=.
func (a *API) ListGateways(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		q := ev.QueryStringParameters
		var f gateway.ListFilter
		fe := unknownParams(q, "type", "status", "limit", "cursor")
		if t, ok := q["type"]; ok {
			if f.Type = gateway.Type(t); !f.Type.Valid() {
				fe = append(fe, gateway.FieldError{Field: "type", Message: "must be one of TELEGRAM_BOT, AI, WEBHOOK"})
			}
		}
		if s, ok := q["status"]; ok {
			if f.Status = gateway.Status(s); !f.Status.Valid() {
				fe = append(fe, gateway.FieldError{Field: "status", Message: "must be one of CONNECTED, DISCONNECTED, ERROR, CONNECTING"})
			}
		}
		limit, lfe := parseLimit(q, DefaultLimit, MaxLimit)
		fe = append(fe, lfe...)
		if len(fe) > 0 {
			return response{}, gateway.Invalid(fe...)
		}
		page, err := a.svc.List(ctx, r.actor, f, limit, q["cursor"])
		if err != nil {
			return response{}, err
		}
		items := make([]GatewayJSON, len(page.Gateways))
		for i, g := range page.Gateways {
			items[i] = ToJSON(g)
		}
		return response{status: http.StatusOK, body: listJSON[GatewayJSON]{Items: items, NextCursor: nullable(page.Next)}}, nil
	})
}

type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parseLimit reads the limit query parameter: def when absent, else an
// integer from 1 to max.
func parseLimit(q map[string]string, def, max int) (int, []gateway.FieldError) {
	v, ok := q["limit"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, []gateway.FieldError{{Field: "limit", Message: "must be an integer from 1 to " + strconv.Itoa(max)}}
	}
	return n, nil
}

// unknownParams names every query parameter not in known, in a stable order.
func unknownParams(q map[string]string, known ...string) []gateway.FieldError {
	var fe []gateway.FieldError
	for k := range q {
		if !slices.Contains(known, k) {
			fe = append(fe, gateway.FieldError{Field: paramField(k), Message: "is not a known query parameter"})
		}
	}
	slices.SortFunc(fe, func(a, b gateway.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return fe
}

// CreateGateway answers POST /api/gateways, honouring Idempotency-Key.
func (a *API) CreateGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		key, err := r.idempotencyKey()
		if err != nil {
			return response{}, err
		}
		body, err := r.jsonBody()
		if err != nil {
			return response{}, err
		}
		req, err := gateway.DecodeCreate(body, a.life.Registry())
		if err != nil {
			return response{}, err
		}
		// Create always checks the credentials with the provider (a replay
		// of an Idempotency-Key too), so every well-formed create counts.
		if err := a.check(ctx, limitValidation, r.actor, ""); err != nil {
			return response{}, err
		}
		g, replayed, err := a.life.Create(ctx, r.actor, req, key)
		if err != nil {
			return response{}, err
		}
		out := gatewayResponse(http.StatusCreated, g)
		out.headers["Location"] = "/api/gateways/" + g.ID
		if replayed {
			out.headers["Idempotent-Replayed"] = "true"
		}
		return out, nil
	})
}

// GetGateway answers GET /api/gateways/{id}.
func (a *API) GetGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		g, err := a.svc.Get(ctx, r.actor, ev.PathParameters["id"])
		if err != nil {
			return response{}, err
		}
		return gatewayResponse(http.StatusOK, g), nil
	})
}

// UpdateGateway answers PUT /api/gateways/{id}: name, config, credentials.
func (a *API) UpdateGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		ifMatch, err := r.ifMatch()
		if err != nil {
			return response{}, err
		}
		body, err := r.jsonBody()
		if err != nil {
			return response{}, err
		}
		// Credentials are validated by type, so the type must be known first;
		// a gateway the caller cannot see is 404 before any body error.
		cur, err := a.svc.Get(ctx, r.actor, ev.PathParameters["id"])
		if err != nil {
			return response{}, err
		}
		req, err := gateway.DecodeUpdate(body, cur.Type, a.life.Registry())
		if err != nil {
			return response{}, err
		}
		if req.Credentials != nil {
			if err := a.check(ctx, limitValidation, r.actor, ""); err != nil {
				return response{}, err
			}
		}
		g, err := a.life.Update(ctx, r.actor, cur, req, ifMatch)
		if err != nil {
			return response{}, err
		}
		return gatewayResponse(http.StatusOK, g), nil
	})
}

// UpdateStatus answers PATCH /api/gateways/{id}/status.
func (a *API) UpdateStatus(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		ifMatch, err := r.ifMatch()
		if err != nil {
			return response{}, err
		}
		body, err := r.jsonBody()
		if err != nil {
			return response{}, err
		}
		st, err := gateway.DecodeStatus(body, gateway.StatusConnected, gateway.StatusDisconnected)
		if err != nil {
			return response{}, err
		}
		id := ev.PathParameters["id"]
		// Every well-formed request counts, a no-op too: the count must
		// come before any provider call, and whether it is a no-op is
		// only known once the gateway is read.
		if err := a.checkGateway(ctx, limitStatus, r.actor, id); err != nil {
			return response{}, err
		}
		var g *gateway.Gateway
		if st == gateway.StatusConnected {
			g, err = a.life.Connect(ctx, r.actor, id, ifMatch)
		} else {
			g, err = a.life.Disconnect(ctx, r.actor, id, ifMatch)
		}
		if err != nil {
			return response{}, err
		}
		return gatewayResponse(http.StatusOK, g), nil
	})
}

// DeleteGateway answers DELETE /api/gateways/{id} with 204.
func (a *API) DeleteGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		ifMatch, err := r.ifMatch()
		if err != nil {
			return response{}, err
		}
		if err := a.life.Delete(ctx, r.actor, ev.PathParameters["id"], ifMatch); err != nil {
			return response{}, err
		}
		return response{status: http.StatusNoContent}, nil
	})
}

// AuditEventJSON is an audit event as the API returns it.
type AuditEventJSON struct {
	ID      string            `json:"id"`
	Action  string            `json:"action"`
	At      time.Time         `json:"at"`
	Actor   ActorJSON         `json:"actor"`
	Changes []string          `json:"changes,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// ActorJSON is who made an audited change, and from where.
type ActorJSON struct {
	UserID         string  `json:"userId,omitempty"`
	OrganizationID *string `json:"organizationId"`
	System         string  `json:"system,omitempty"`
	SourceIP       string  `json:"sourceIp,omitempty"`
	UserAgent      string  `json:"userAgent,omitempty"`
	RequestID      string  `json:"requestId,omitempty"`
}

// GatewayAudit answers GET /api/gateways/{id}/audit?limit=&cursor=.
func (a *API) GatewayAudit(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		q := ev.QueryStringParameters
		fe := unknownParams(q, "limit", "cursor")
		limit, lfe := parseLimit(q, DefaultLimit, MaxLimit)
		if fe = append(fe, lfe...); len(fe) > 0 {
			return response{}, gateway.Invalid(fe...)
		}
		page, err := a.svc.Audit(ctx, r.actor, ev.PathParameters["id"], limit, q["cursor"])
		if err != nil {
			return response{}, err
		}
		items := make([]AuditEventJSON, len(page.Events))
		for i, e := range page.Events {
			items[i] = AuditEventJSON{ID: e.ID, Action: e.Action, At: e.At, Changes: e.Changes, Details: e.Details,
				Actor: ActorJSON{UserID: e.Actor.UserID, OrganizationID: nullable(e.Actor.OrganizationID), System: e.Actor.System,
					SourceIP: e.Actor.SourceIP, UserAgent: e.Actor.UserAgent, RequestID: e.Actor.RequestID}}
		}
		return response{status: http.StatusOK, body: listJSON[AuditEventJSON]{Items: items, NextCursor: nullable(page.Next)}}, nil
	})
}

// TestResultJSON is the answer of POST /api/gateways/{id}/test:
// {success, latencyMs, error, details}, the outcome class as result, and the
// gateway as it now is.
type TestResultJSON struct {
	lifecycle.TestResult
	Gateway GatewayJSON `json:"gateway"`
}

// TestGateway answers POST /api/gateways/{id}/test: a health check now.
func (a *API) TestGateway(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		if err := a.checkGateway(ctx, limitTest, r.actor, ev.PathParameters["id"]); err != nil {
			return response{}, err
		}
		res, err := a.life.Test(ctx, r.actor, ev.PathParameters["id"])
		if err != nil {
			return response{}, err
		}
		return response{status: http.StatusOK, body: TestResultJSON{TestResult: res, Gateway: ToJSON(res.Gateway)},
			headers: map[string]string{"ETag": etag(res.Gateway.Version)}}, nil
	})
}

// GatewayAction answers POST /api/gateways/{id}/actions/{action}: the body
// is the action's parameters (a JSON object; empty means {}), the answer its
// result.
func (a *API) GatewayAction(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		params := []byte("{}")
		if strings.TrimSpace(ev.Body) != "" {
			body, err := r.jsonBody()
			if err != nil {
				return response{}, err
			}
			params = body
		}
		if err := a.checkGateway(ctx, limitAction, r.actor, ev.PathParameters["id"]); err != nil {
			return response{}, err
		}
		var out any
		var err error
		if action := ev.PathParameters["action"]; a.paced != nil && a.paced.Paced(action, params) {
			// Paced with the bot's jobs, and claimed before it goes.
			out, err = a.paced.SendNow(ctx, r.actor, ev.PathParameters["id"], action, params)
			if gateway.IsCode(err, gateway.CodeUpstreamRejected) {
				a.life.CredentialsRefused(ctx, r.actor, ev.PathParameters["id"], action, gateway.ErrorMessage(err))
			}
		} else {
			out, err = a.life.Execute(ctx, r.actor, ev.PathParameters["id"], ev.PathParameters["action"], params)
		}
		if err != nil {
			return response{}, err
		}
		return response{status: http.StatusOK, body: map[string]any{"action": ev.PathParameters["action"], "result": out}}, nil
	})
}

// Providers answers GET /api/providers: what the dashboard needs to build
// its forms — types, credential fields, AI providers with their defaults,
// actions and their parameters.
func (a *API) Providers(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		return response{status: http.StatusOK, body: map[string]any{"types": a.life.Registry().Info()},
			headers: map[string]string{"Cache-Control": "private, max-age=300"}}, nil
	})
}
