package main

// Key rotation locally: `rotate-credentials` re-encrypts every gateway's
// credentials under the key alias/gatehouse names now, against the state
// of a running `make run` (or the emulators' data left by one), through the
// same ports. Progress lines go to stderr, the summary as JSON to stdout.
// Ctrl-C stops it with its checkpoint saved; -resume continues it.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/rotation"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

// rotateCmd is `gatehouse-local rotate-credentials [-dry-run] [-resume]`
// (make rotate-credentials DRY_RUN=1 RESUME=1).
func rotateCmd(args []string) error {
	fs := flag.NewFlagSet("rotate-credentials", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "open every gateway's credentials and report what a rotation would do; write nothing")
	resume := fs.Bool("resume", false, "continue the latest rotation from its checkpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rotate-credentials: unexpected arguments %v", fs.Args())
	}
	base, err := adoptRecord()
	if err != nil {
		return err
	}
	r, err := readRunner(base)
	if err != nil {
		return err
	}
	ddbPort, kmsPort := r.ddbPort, r.kmsPort
	awsCfg := r.awsConfig()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if r.cfg.KeyID == "" {
		// The key the alias names now, as `make run` resolves it: the
		// checkpoint records it, and a resume under another key is refused.
		keyID, err := envelope.EnsureKey(ctx, kms.NewFromConfig(awsCfg), r.keyAlias)
		if err != nil {
			return fmt.Errorf("rotate-credentials: KMS key %s: %w (is `make run` running, with local-kms on 127.0.0.1:%d?)", r.keyAlias, err, kmsPort)
		}
		r.cfg.KeyID = keyID
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fn := bootstrap.New(rotation.FnRotateCredentials, r.cfg, awsCfg, log)
	rot := rotation.Rotator(fn, r.settings.Rotation, rekey.WithProgress(func(line string) { fmt.Fprintln(os.Stderr, line) }))
	if err := fn.Err(); err != nil {
		return err
	}
	sum, err := rot.Run(ctx, rekey.Options{DryRun: *dryRun, Resume: *resume})
	out, _ := json.MarshalIndent(sum, "", "  ")
	fmt.Println(string(out))
	if !sum.Complete && !sum.DryRun && sum.RunID != "" {
		fmt.Fprintf(os.Stderr, "rotate-credentials: run %s is not finished; continue it with `make rotate-credentials RESUME=1`\n", sum.RunID)
	}
	if gateway.IsCode(err, gateway.CodeUnavailable) {
		return fmt.Errorf("rotate-credentials: %w (is `make run` running, with DynamoDB Local on 127.0.0.1:%d and local-kms on 127.0.0.1:%d?)", err, ddbPort, kmsPort)
	}
	return err
}
