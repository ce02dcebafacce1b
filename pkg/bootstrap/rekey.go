package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

// Key rotation has an assembly of its own: it is invoked by hand (`aws
// lambda invoke`, or `make rotate-credentials` locally), not by a route or a
// schedule, and it seals and opens through an envelope of its own.

// FnRotateCredentials names the rotate-credentials function
// (functions/rotate-credentials).
const FnRotateCredentials = "rotate-credentials"

// RekeyConfig is what the rotate-credentials function reads from its
// environment, beyond Config (whose KMS_KEY_ID is the key it seals under).
type RekeyConfig struct {
	Config
	// Rekey tunes the run: ROTATE_SEGMENTS (parts of the Scan, default
	// rekey.DefaultSegments) and ROTATE_CONCURRENCY (gateways in flight,
	// default rekey.DefaultConcurrency).
	Rekey rekey.Config
}

// RekeyConfigFromEnv reads RekeyConfig. It returns every problem it finds:
// those of ConfigFromEnv and malformed ROTATE_* values.
func RekeyConfigFromEnv() (RekeyConfig, error) {
	base, err := ConfigFromEnv()
	c := RekeyConfig{Config: base}
	c.Rekey.KeyID = base.KeyID
	errs := []error{err}
	num := func(name string, dst *int, most int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > most {
				errs = append(errs, fmt.Errorf("%s must be a whole number from 1 to %d, not %q", name, most, v))
				return
			}
			*dst = n
		}
	}
	num("ROTATE_SEGMENTS", &c.Rekey.Segments, rekey.MaxSegments)
	num("ROTATE_CONCURRENCY", &c.Rekey.Concurrency, 256)
	return c, errors.Join(errs...)
}

// Rotator assembles a key rotation over d's clients and table: a Rekey
// store and a gateway service whose envelope seals under cfg's key (every
// Seal a fresh data key) and opens through a data-key cache, which only
// saves KMS calls when a dry run is followed by a run in the same process.
// opts come after the configuration's. It does no I/O.
func (d *Deps) Rotator(cfg RekeyConfig, opts ...rekey.Option) *rekey.Rotator {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	sealer := envelope.New(d.KMS, cfg.KeyID, envelope.WithCache(envelope.DefaultCacheTTL, DefaultHealthKeyCacheMax))
	svc := gateway.NewService(d.Store, sealer)
	rc := cfg.Rekey
	rc.KeyID = cfg.KeyID
	return rekey.New(dynamo.NewRekey(d.Dynamo, cfg.Table), svc, rc, append([]rekey.Option{rekey.WithLogger(log)}, opts...)...)
}

// StartRotateCredentials is the rotate-credentials function's whole main.
// Progress lines and the summary go to the function's log. It exits with a
// log line when the environment is incomplete, before Lambda sends any
// event.
func StartRotateCredentials() {
	startWith(FnRotateCredentials, RekeyConfigFromEnv, func(cfg RekeyConfig, awsCfg aws.Config, log *slog.Logger) any {
		return New(cfg.Config, awsCfg, log).Rotator(cfg).Handle
	})
}
