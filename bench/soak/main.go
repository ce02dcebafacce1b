// Command soak runs mixed traffic against the real local runner for a
// bounded time and fails unless every answer was expected, no answer was a
// 5xx and no acknowledged Telegram update or gateway rename was lost.
//
//	go run ./bench/soak                      # 60 s, 16 workers (make soak)
//	go run ./bench/soak -d 10s               # the short run of make test
//	go run ./bench/soak -c 32 -mix list=10,get=10,update=40,webhook=40
//
// It builds infra/local/cmd/gatehouse-local into a temporary folder (so
// compile time is not counted), starts it as `make run` does but on free
// ports with a private state folder, and points TELEGRAM_API_BASE_URL at a
// Telegram Bot API stand-in (pkg/provider/telegram/telegramtest) served by
// this process, beside an OpenAI-compatible one (aitest) for AI gateways.
// Through the API it creates -gateways gateways for -users users (the last
// user works in an organisation) and connects most of them; each Telegram
// connect registers a webhook and its secret_token with the stand-in, where
// this process reads them. It moves those gateways' lastConnectedAt an hour
// back in the table, so that the webhook's once-a-minute bookkeeping write
// runs during the soak too, and then runs -c workers for -d over keep-alive
// connections:
//
//   - list: GET /api/gateways, plain, filtered by type and status, or with
//     limit=2 following nextCursor; the pages must hold the user's gateways.
//   - get: GET /api/gateways/{id}.
//   - update: PUT /api/gateways/{id} with a new name and If-Match set to the
//     newest ETag seen. A 412 is a race lost to another worker, a legitimate
//     answer: it is counted apart and followed by a re-read ("reread").
//     Credentials are never sent: their validation is rate-limited by design.
//   - webhook: POST /api/webhooks/telegram/{id} with the registered secret
//     and a new update_id; a share of them (-redeliver) re-deliver an
//     update_id already acknowledged, with the same body, which must also
//     get 200 ("redeliver").
//
// The load generator is written here rather than run with wrk or hey
// because the verdict needs to know which update_ids were acknowledged and
// which ETag each rename was based on. Every request's latency is kept, so
// percentiles are exact (nearest rank over the sorted sample).
//
// After the run it reads every Telegram gateway's stored updates from
// DynamoDB Local through pkg/dynamo's Inbox (the read path of the inbox's
// consumers) and checks that each acknowledged update_id is stored exactly
// once, byte for byte as sent; and it checks each gateway's renames: every acknowledged rename got
// its own version, has its gateway.updated audit event, and the newest is
// the gateway's name. Then it stops the runner with SIGINT, as Ctrl-C does
// (the runner stops its emulators), checks that its ports are free again
// and removes the temporary folder.
//
// The figures are the emulator's and this machine's, not Lambda's: every
// write goes to one DynamoDB Local (SQLite on disk), which serialises
// writes, and the runner, its emulators and the load generator share the
// CPUs, so the report prints the host's load average beside them.
//
// It exits 1 on any 5xx, transport error, unexpected status or content,
// lost update, or an unclean shutdown, after a one-line verdict.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

// config is the command line.
type config struct {
	duration  time.Duration
	workers   int
	mix       mix
	redeliver float64
	users     int
	gateways  int
	seed      uint64
	keep      bool
}

func main() {
	var c config
	mixFlag := "list=35,get=25,update=15,webhook=25"
	flag.DurationVar(&c.duration, "d", 60*time.Second, "how long to send traffic")
	flag.IntVar(&c.workers, "c", 16, "concurrent workers, each with one request in flight")
	flag.StringVar(&mixFlag, "mix", mixFlag, "request mix, as weights")
	flag.Float64Var(&c.redeliver, "redeliver", 0.10, "share of webhook requests that re-deliver an acknowledged update_id")
	flag.IntVar(&c.users, "users", 4, "users owning the gateways (the last one works in an organisation)")
	flag.IntVar(&c.gateways, "gateways", 20, "gateways, spread evenly over the users")
	flag.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "seed of the workers' choices")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary folder (runner binary, state, runner.log)")
	flag.Parse()
	var err error
	if c.mix, err = parseMix(mixFlag); err != nil {
		fail(err)
	}
	if err := c.check(); err != nil {
		fail(err)
	}
	ok, err := run(c)
	if err != nil {
		fail(err)
	}
	if !ok {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "soak:", err)
	fmt.Println("VERDICT: FAIL —", err)
	os.Exit(1)
}

// perUserLimit is the most gateways a user gets: 5 creates and 4 connects
// are 9 credential validations, under the API's default per-user limit of
// 10 a minute (a 429 in the setup is still waited out once).
const perUserLimit = 5

func (c config) check() error {
	switch {
	case c.duration <= 0:
		return errors.New("-d must be positive")
	case c.workers < 1:
		return errors.New("-c must be at least 1")
	case c.redeliver < 0 || c.redeliver > 1:
		return errors.New("-redeliver must be between 0 and 1")
	case c.users < 1:
		return errors.New("-users must be at least 1")
	case c.gateways < c.users:
		return errors.New("-gateways must be at least -users")
	case (c.gateways+c.users-1)/c.users > perUserLimit:
		return fmt.Errorf("at most %d gateways per user: the setup's validations would hit the per-user rate limit", perUserLimit)
	}
	return nil
}

// run does the whole soak. ok is the verdict; err is a failure to run it.
// Whatever happens after the runner started, it is stopped before run
// returns.
func run(c config) (ok bool, err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C the soak winds down and stops the runner; a
	// second one kills the soak (the runner then gets SIGTERM).
	go func() { <-ctx.Done(); stop() }()
	root, err := emulator.RootDir()
	if err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-soak-")
	if err != nil {
		return false, err
	}
	if c.keep {
		defer fmt.Fprintln(os.Stderr, "soak: kept", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	start := time.Now()
	bin, err := buildRunner(ctx, root, dir)
	if err != nil {
		return false, err
	}
	progress("built gatehouse-local in %v", since(start))

	standin := newStandin()
	defer standin.Close()

	start = time.Now()
	r, err := startRunner(ctx, root, dir, bin, standin.URL)
	if err != nil {
		return false, err
	}
	var shutdown shutdownReport
	defer func() {
		// A failed soak still stops the runner; its report then goes to
		// stderr only.
		if shutdown.done {
			return
		}
		shutdown = r.stop()
		progress("runner stopped: %s", shutdown)
	}()
	if err := r.waitReady(ctx, 2*time.Minute); err != nil {
		return false, err
	}
	progress("runner up on %s in %v (DynamoDB Local :%d, local-kms :%d; log %s)", r.base, since(start), r.ddbPort, r.kmsPort, filepath.Base(r.logPath))

	start = time.Now()
	api := newClient(r.base, c.workers)
	f, err := setUp(ctx, api, standin, c.users, c.gateways)
	if err != nil {
		return false, err
	}
	ddb := newDynamo(r.ddbPort)
	if err := ageConnections(ctx, ddb, f); err != nil {
		return false, err
	}
	progress("%d gateways for %d users (%d Telegram with a webhook) in %v", len(f.gateways), len(f.users), len(f.webhooks), since(start))

	progress("%v of mixed traffic: %d workers, %s, re-deliveries %.0f%% of webhooks", c.duration, c.workers, c.mix, c.redeliver*100)
	runnerCPU, cpuOK := r.cpu()
	ownCPU := selfCPU()
	res := runLoad(ctx, api, f, c)
	if after, ok := r.cpu(); ok && cpuOK {
		res.runnerCPU, res.cpuKnown = after-runnerCPU, true
	}
	res.ownCPU = selfCPU() - ownCPU
	if ctx.Err() != nil {
		progress("interrupted after %v", res.elapsed.Round(time.Millisecond))
	}

	// Verification runs even after a Ctrl-C: what was acknowledged so far
	// must be stored all the same.
	progress("verifying…")
	vctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
	defer cancel()
	inboxRep, err := verifyInbox(vctx, ddb, f)
	if err != nil {
		return false, err
	}
	renameRep, err := verifyRenames(vctx, api, f)
	if err != nil {
		return false, err
	}
	logs := r.summary(5)

	shutdown = r.stop()
	shutdown.done = true

	v := verdict{load: res, inbox: inboxRep, renames: renameRep, shutdown: shutdown, logs: logs, interrupted: ctx.Err() != nil}
	v.print(os.Stdout, c)
	if !v.ok() && !c.keep {
		fmt.Println("(run again with -keep to keep the runner's log)")
	}
	return v.ok(), nil
}

// verifyTimeout bounds the reads after the run: a few per gateway, and
// the audit trails' pages.
const verifyTimeout = 2 * time.Minute

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...)
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(10 * time.Millisecond)
}
