// Package messagesapi assembles the messages function
// (functions/messages): the API that accepts message jobs and reports on
// them. It writes the table and checks parameters with Telegram's
// provider, but opens no credentials and sends nothing — the sender
// (pkg/bootstrap/sender) does — so it links no KMS client.
package messagesapi

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
)

// API returns the messages function's API. It does no I/O.
func API(fn *bootstrap.Function) *httpapi.API {
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	svc := gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), nil)
	sends := send.NewService(dynamo.NewSendJobs(ddb, table), svc, sendtelegram.Check)
	return httpapi.New(lifecycle.New(svc, nil),
		httpapi.WithSettings(fn.Log, fn.Config.OrgsClaim, fn.Config.Timeouts.Request),
		httpapi.WithMessages(sends))
}
