// Package storeroutes assembles the routes that only read the table —
// list-gateways, get-gateway, gateway-audit, health-history and
// list-updates — and routes, which writes routes and their queues: a
// DynamoDB client, the gateway store, the health samples, the received
// updates and the routes behind pkg/httpapi.
// They seal and open no credentials and call no provider, so they link no
// KMS client and no provider.
package storeroutes

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// API returns the API whose read routes fn serves. It does no I/O.
func API(fn *bootstrap.Function) *httpapi.API {
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	svc := gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), nil)
	return httpapi.New(lifecycle.New(svc, nil), append(Options(fn),
		httpapi.WithHealthSamples(dynamo.NewHealth(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention))),
		httpapi.WithUpdates(dynamo.NewInbox(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention))),
		httpapi.WithRoutes(route.NewService(svc, dynamo.NewRoutes(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), dynamo.NewInbox(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)))))...)
}

// Options are the settings of every route: the logger, the claim naming
// the caller's organisations, the request timeout.
func Options(fn *bootstrap.Function) []httpapi.Option {
	return []httpapi.Option{httpapi.WithSettings(fn.Log, fn.Config.OrgsClaim, fn.Config.Timeouts.Request)}
}
