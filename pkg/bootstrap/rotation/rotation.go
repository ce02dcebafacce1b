// Package rotation assembles the rotate-credentials function, invoked by
// hand (`aws lambda invoke`, or `make rotate-credentials` locally) to
// re-encrypt every gateway's credentials under the current key
// (pkg/rekey).
package rotation

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
	"github.com/gatehouse/gatehouse/pkg/rekey/rekeydynamo"
)

// FnRotateCredentials names the rotate-credentials function
// (functions/rotate-credentials).
const FnRotateCredentials = "rotate-credentials"

// keyCacheMax bounds the data-key cache, as the health worker's does.
const keyCacheMax = 20000

// MaxConcurrency bounds ROTATE_CONCURRENCY.
const MaxConcurrency = 256

// ReadConfig reads the run's tuning: ROTATE_SEGMENTS (parts of the Scan,
// 1 to rekey.MaxSegments, default rekey.DefaultSegments) and
// ROTATE_CONCURRENCY (gateways in flight, 1 to MaxConcurrency, default
// rekey.DefaultConcurrency). The key it seals under is KMS_KEY_ID.
func ReadConfig(env *config.Env) rekey.Config {
	return rekey.Config{
		Segments:    env.Int("ROTATE_SEGMENTS", 0, 1, rekey.MaxSegments),
		Concurrency: env.Int("ROTATE_CONCURRENCY", 0, 1, MaxConcurrency),
	}
}

// Rotator returns the key rotation of fn: a store of the rotation's items
// and a gateway service whose envelope seals under KMS_KEY_ID (every Seal
// a fresh data key) and opens through a data-key cache, which only saves
// KMS calls when a dry run is followed by a run in the same process. It
// requires KMS_KEY_ID. opts come after the configuration's. It does no I/O.
func Rotator(fn *bootstrap.Function, rc rekey.Config, opts ...rekey.Option) *rekey.Rotator {
	cfg := fn.Config
	fn.Require("KMS_KEY_ID", cfg.KeyID)
	ddb := dynamodb.NewFromConfig(awsclients.Config(fn))
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), cfg.KeyID, envelope.WithCache(envelope.DefaultCacheTTL, keyCacheMax))
	table := fn.Table()
	svc := gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), sealer)
	rc.KeyID = cfg.KeyID
	return rekey.New(rekeydynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), svc, rc, append([]rekey.Option{rekey.WithLogger(fn.Log)}, opts...)...)
}
