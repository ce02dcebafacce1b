// Package pacedsend assembles the send engine of pkg/send over the table
// and KMS (bots' tokens) with Telegram's bots: for the message-sender
// function (pkg/bootstrap/sender) and for gateway-action, whose
// messages, photos, documents and edits go through the same queue and
// pacer (send.Direct). It
// links no Lambda client and no dashboard route.
package pacedsend

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
)

// Config is what the sender reads beyond bootstrap.Config.
type Config struct {
	// Function is the sender's own name, which the fan-out invokes
	// (SENDER_FUNCTION); unset, bots run in this process (the local
	// runner).
	Function string
	// PerSecond is the per-bot overall rate (SEND_RATE_PER_SECOND, 30):
	// bots with paid broadcasts may send more.
	PerSecond int
	// Budget is how long one invocation sends before handing over
	// (SEND_BUDGET, 4m; keep it a minute under the function's timeout).
	Budget time.Duration
	// MaxInFlight bounds one bot's messages between claim and result
	// (SEND_MAX_IN_FLIGHT, 64).
	MaxInFlight int
}

// ReadConfig reads SENDER_FUNCTION, SEND_RATE_PER_SECOND, SEND_BUDGET and
// SEND_MAX_IN_FLIGHT.
func ReadConfig(env *config.Env) Config {
	return Config{
		Function:    env.String("SENDER_FUNCTION", ""),
		PerSecond:   env.Int("SEND_RATE_PER_SECOND", 30, 1, 1000),
		Budget:      env.Duration("SEND_BUDGET", 4*time.Minute, time.Second, 14*time.Minute),
		MaxInFlight: env.Int("SEND_MAX_IN_FLIGHT", 64, 1, 512),
	}
}

// Engine returns the send engine of fn. It requires KMS_KEY_ID (bot
// tokens are sealed). It does no I/O.
func Engine(fn *bootstrap.Function, cfg Config) *send.Engine {
	fn.Require("KMS_KEY_ID", fn.Config.KeyID)
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), fn.Config.KeyID)
	store := dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention))
	gws := botGateways{Store: store, Service: gateway.NewService(store, sealer)}
	limits := send.TelegramLimits()
	limits.PerSecond = cfg.PerSecond
	return send.NewEngine(dynamo.NewSendJobs(ddb, table), sendtelegram.NewBots(gws, fn.Config.TelegramBaseURL, nil), sendtelegram.Formatter{},
		send.EngineOptions{Limits: limits, Budget: cfg.Budget, MaxInFlight: cfg.MaxInFlight, Log: fn.Log})
}

// botGateways reads a gateway from the store and opens its credentials
// with the service.
type botGateways struct {
	*dynamo.Store
	*gateway.Service
}

// Direct returns the synchronous sender of fn's action route: one
// paced call at a time, queued as an interactive job and sent under the
// bot's lease (send.Direct). It requires KMS_KEY_ID. It does no I/O.
func Direct(fn *bootstrap.Function, cfg Config) *send.Direct {
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	jobs := dynamo.NewSendJobs(ddb, table)
	svc := send.NewService(jobs, gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), nil), sendtelegram.Check)
	return send.NewDirect(svc, Engine(fn, cfg), jobs, sendtelegram.Calls{AllowPrivate: fn.Config.AllowPrivateNetworks}, 0)
}
