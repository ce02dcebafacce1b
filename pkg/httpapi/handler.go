// Package httpapi turns API Gateway HTTP API (payload format 2.0) events into
// calls on the gateway service and its results into JSON or RFC 9457
// problem+json responses. The same handlers run in Lambda (functions/<name>)
// and in the local runner (infra/local).
package httpapi

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Handler answers one API Gateway HTTP API (payload 2.0) request. It never
// returns an error: every failure is a problem+json response.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Function names: each is a folder functions/<name>/ with its own main.go and
// one AWS::Serverless::Function in template.yaml whose CodeUri is that folder.
const (
	FnListGateways  = "list-gateways"
	FnCreateGateway = "create-gateway"
	FnGetGateway    = "get-gateway"
	FnUpdateGateway = "update-gateway"
	FnUpdateStatus  = "update-gateway-status"
	FnDeleteGateway = "delete-gateway"
	FnGatewayAudit  = "gateway-audit"
	FnTestGateway   = "test-gateway"
	FnGatewayAction = "gateway-action"
	FnProviders     = "list-providers"
	FnHealthHistory = "health-history"
	FnListUpdates   = "list-updates"
)
