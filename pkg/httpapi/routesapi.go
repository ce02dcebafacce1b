package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// FnRoutes is the function that serves every …/routes path.
const FnRoutes = "routes"

// WithRoutes sets the routes service. Without it, Routes answers 503.
func WithRoutes(s *route.Service) Option { return func(a *API) { a.routes = s } }

// RouteJSON is a route as the API returns it.
type RouteJSON struct {
	ID                    string       `json:"id"`
	GatewayID             string       `json:"gatewayId"`
	Target                route.Target `json:"target"`
	Filters               filtersJSON  `json:"filters"`
	Status                route.Status `json:"status"`
	StatusReason          *string      `json:"statusReason"`
	LastDeliveredUpdateID *int64       `json:"lastDeliveredUpdateId"`
	LastDeliveredAt       *time.Time   `json:"lastDeliveredAt"`
	LastDeliveryLagMs     *int64       `json:"lastDeliveryLagMs"`
	Lag                   float64      `json:"lag"`
	Pending               int          `json:"pending"`
	PendingCapped         bool         `json:"pendingCapped,omitempty"`
	DeadLetters           int64        `json:"deadLetters"`
	ConsecutiveFailures   int64        `json:"consecutiveFailures"`
	LastError             *string      `json:"lastError"`
	LastErrorAt           *time.Time   `json:"lastErrorAt"`
	CreatedAt             time.Time    `json:"createdAt"`
	UpdatedAt             time.Time    `json:"updatedAt"`
	Version               int64        `json:"version"`
}

// filtersJSON always shows every filter: empty lists, a null prefix.
type filtersJSON struct {
	UpdateTypes   []string `json:"updateTypes"`
	ChatIDs       []int64  `json:"chatIds"`
	CommandPrefix *string  `json:"commandPrefix"`
}

// routeToJSON renders v; lag is the age of its oldest undelivered update
// in seconds (0 when it has none).
func routeToJSON(v route.View, now time.Time) RouteJSON {
	r := v.Route
	j := RouteJSON{
		ID: r.ID, GatewayID: r.GatewayID, Target: r.Target, Status: r.Status, StatusReason: nullable(r.StatusReason),
		Filters:               filtersJSON{UpdateTypes: r.Filters.UpdateTypes, ChatIDs: r.Filters.ChatIDs, CommandPrefix: nullable(r.Filters.CommandPrefix)},
		LastDeliveredUpdateID: r.LastDeliveredUpdateID, LastDeliveredAt: r.LastDeliveredAt, LastDeliveryLagMs: r.LastLagMs,
		Pending: v.Backlog.Pending, PendingCapped: v.Backlog.Capped, DeadLetters: max(r.DeadLetters, 0),
		ConsecutiveFailures: r.ConsecutiveFailures, LastError: nullable(r.LastError), LastErrorAt: r.LastErrorAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
	if j.Filters.UpdateTypes == nil {
		j.Filters.UpdateTypes = []string{}
	}
	if j.Filters.ChatIDs == nil {
		j.Filters.ChatIDs = []int64{}
	}
	if o := v.Backlog.Oldest; o != nil && v.Backlog.Pending > 0 {
		j.Lag = max(0, float64(now.Sub(*o).Milliseconds())/1000)
	}
	return j
}

// DeadLetterJSON is one dead letter as the API returns it.
type DeadLetterJSON struct {
	UpdateID   int64           `json:"updateId"`
	Type       string          `json:"type"`
	ChatID     *int64          `json:"chatId"`
	ReceivedAt time.Time       `json:"receivedAt"`
	FailedAt   time.Time       `json:"failedAt"`
	Attempts   int64           `json:"attempts"`
	LastError  string          `json:"lastError"`
	Update     json.RawMessage `json:"update"`
}

// Route keys of FnRoutes, as the template declares them.
const (
	rkCreateRoute  = "POST /api/gateways/{id}/routes"
	rkListRoutes   = "GET /api/gateways/{id}/routes"
	rkGetRoute     = "GET /api/gateways/{id}/routes/{routeId}"
	rkPutRoute     = "PUT /api/gateways/{id}/routes/{routeId}"
	rkPatchRoute   = "PATCH /api/gateways/{id}/routes/{routeId}"
	rkDeleteRoute  = "DELETE /api/gateways/{id}/routes/{routeId}"
	rkDeadLetters  = "GET /api/gateways/{id}/routes/{routeId}/dead-letters"
	rkReplayRoute  = "POST /api/gateways/{id}/routes/{routeId}/replay"
	maxDeadLetters = 50
)

// Routes answers every …/routes path of a TELEGRAM_BOT gateway: create,
// list, get, replace (If-Match), pause/resume, delete, dead letters and
// replay. Another tenant's bot is 404; a gateway of another type is 409.
func (a *API) Routes(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		if a.routes == nil {
			return response{}, &gateway.Error{Code: gateway.CodeUnavailable, Message: "Routes are not available.", Op: "httpapi.Routes"}
		}
		id, rid := ev.PathParameters["id"], ev.PathParameters["routeId"]
		now := time.Now()
		one := func(v route.View, err error, status int) (response, error) {
			if err != nil {
				return response{}, err
			}
			return response{status: status, body: routeToJSON(v, now), headers: map[string]string{"ETag": `"` + strconv.FormatInt(v.Version, 10) + `"`}}, nil
		}
		switch routeKey(ev, "routes", "routeId") {
		case rkCreateRoute:
			body, err := r.jsonBody()
			if err != nil {
				return response{}, err
			}
			spec, err := route.DecodeSpec(body)
			if err != nil {
				return response{}, err
			}
			v, err := a.routes.Create(ctx, r.actor, id, spec)
			return one(v, err, http.StatusCreated)
		case rkListRoutes:
			if fe := unknownParams(ev.QueryStringParameters); len(fe) > 0 {
				return response{}, gateway.Invalid(fe...)
			}
			vs, err := a.routes.List(ctx, r.actor, id)
			if err != nil {
				return response{}, err
			}
			items := make([]RouteJSON, len(vs))
			for i, v := range vs {
				items[i] = routeToJSON(v, now)
			}
			return response{status: http.StatusOK, body: listJSON[RouteJSON]{Items: items}}, nil
		case rkGetRoute:
			v, err := a.routes.Get(ctx, r.actor, id, rid)
			return one(v, err, http.StatusOK)
		case rkPutRoute:
			ifMatch, spec, err := decodeChange(r, route.DecodeSpec)
			if err != nil {
				return response{}, err
			}
			v, err := a.routes.Replace(ctx, r.actor, id, rid, spec, ifMatch)
			return one(v, err, http.StatusOK)
		case rkPatchRoute:
			ifMatch, st, err := decodeChange(r, route.DecodeStatus)
			if err != nil {
				return response{}, err
			}
			v, err := a.routes.SetStatus(ctx, r.actor, id, rid, st, ifMatch)
			return one(v, err, http.StatusOK)
		case rkDeleteRoute:
			if err := a.routes.Delete(ctx, r.actor, id, rid); err != nil {
				return response{}, err
			}
			return response{status: http.StatusNoContent}, nil
		case rkDeadLetters:
			q := ev.QueryStringParameters
			fe := unknownParams(q, "limit", "cursor")
			limit, lfe := parseLimit(q, DefaultLimit, maxDeadLetters)
			if fe = append(fe, lfe...); len(fe) > 0 {
				return response{}, gateway.Invalid(fe...)
			}
			page, err := a.routes.DeadLetters(ctx, r.actor, id, rid, limit, q["cursor"])
			if err != nil {
				return response{}, err
			}
			items := make([]DeadLetterJSON, len(page.Items))
			for i, d := range page.Items {
				items[i] = DeadLetterJSON{UpdateID: d.Update.UpdateID, Type: d.Update.Type, ChatID: d.Update.ChatID, ReceivedAt: d.Update.ReceivedAt,
					FailedAt: d.FailedAt, Attempts: d.Attempts, LastError: d.LastError, Update: json.RawMessage(d.Update.Raw)}
			}
			return response{status: http.StatusOK, body: listJSON[DeadLetterJSON]{Items: items, NextCursor: nullable(page.Next)}}, nil
		case rkReplayRoute:
			body, err := r.jsonBody()
			if err != nil {
				return response{}, err
			}
			req, err := route.DecodeReplay(body)
			if err != nil {
				return response{}, err
			}
			res, err := a.routes.Replay(ctx, r.actor, id, rid, req)
			if err != nil {
				return response{}, err
			}
			out := map[string]any{"queued": res.Queued}
			if res.NextFromUpdateID != nil {
				out["nextFromUpdateId"] = *res.NextFromUpdateID
			}
			if res.More {
				out["more"] = true
			}
			return response{status: http.StatusAccepted, body: out}, nil
		}
		return response{}, gateway.Errorf(gateway.CodeNotFound, "No such route.")
	})
}

// decodeChange reads a change's If-Match header and decodes its JSON body
// with decode.
func decodeChange[T any](r *request, decode func([]byte) (T, error)) (*int64, T, error) {
	var zero T
	ifMatch, err := r.ifMatch()
	if err != nil {
		return nil, zero, err
	}
	body, err := r.jsonBody()
	if err != nil {
		return nil, zero, err
	}
	v, err := decode(body)
	return ifMatch, v, err
}

// routeKey is the event's route key, or, when the event has none, one
// rebuilt from its method and path for a function that serves every path
// under /api/gateways/{id}/<resource>: the collection, {<item>}, and
// {<item>}'s sub-paths.
func routeKey(ev events.APIGatewayV2HTTPRequest, resource, item string) string {
	if ev.RouteKey != "" && ev.RouteKey != "$default" {
		return ev.RouteKey
	}
	method := ev.RequestContext.HTTP.Method
	parts := strings.Split(strings.Trim(ev.RawPath, "/"), "/")
	// api gateways {id} <resource> [{item} [sub]]
	if len(parts) < 4 || parts[0] != "api" || parts[1] != "gateways" || parts[3] != resource {
		return ""
	}
	base := method + " /api/gateways/{id}/" + resource
	switch len(parts) {
	case 4:
		return base
	case 5:
		return base + "/{" + item + "}"
	case 6:
		return base + "/{" + item + "}/" + parts[5]
	}
	return ""
}
