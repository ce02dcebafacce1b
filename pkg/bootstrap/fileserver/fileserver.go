// Package fileserver assembles the files function, GET /api/files/{linkId}
// (package filelink/download): the file links and gateways in the table,
// KMS to open the bot token, and Telegram's file server. It links no
// provider registry and no HTTP API of the dashboard's routes.
package fileserver

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Handler returns the files handler of fn. opts come after the
// configuration's, so tests can replace the clock or the client. It
// requires TABLE_NAME and KMS_KEY_ID. It does no I/O.
func Handler(fn *bootstrap.Function, opts ...download.Option) *download.Handler {
	cfg := fn.Config
	fn.Require("KMS_KEY_ID", cfg.KeyID)
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), cfg.KeyID)
	svc := gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), sealer)
	return download.New(dynamo.NewFileLinks(ddb, table), svc, cfg.TelegramBaseURL, append([]download.Option{
		download.WithLogger(fn.Log),
		download.WithRequestTimeout(fn.Config.Timeouts.Request),
	}, opts...)...)
}
