// Command gatehouse-local runs Gatehouse on a laptop (`make run`) and mints
// development tokens for it (`make token`).
//
//	gatehouse-local serve              start DynamoDB Local, local-kms and the API
//	gatehouse-local token -sub alice -orgs acme,beta
//	gatehouse-local rotate-credentials [-dry-run] [-resume]
//
// serve starts both emulators as child processes on loopback, creates the
// table and the KMS key when missing, and serves every route of template.yaml
// by invoking the same handlers the Lambdas run, with API Gateway HTTP API
// (payload 2.0) events, playing the JWT authorizer with development tokens.
// State lives in .gatehouse/ and survives restarts; Ctrl-C stops everything.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/sender"
	"github.com/gatehouse/gatehouse/pkg/config"

	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "health":
		err = healthCmd(os.Args[2:])
	case "rotate-credentials":
		err = rotateCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-local:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gatehouse-local serve | token -sub SUB [-orgs a,b] | health | rotate-credentials [-dry-run] [-resume]")
	os.Exit(2)
}

// stateDir is $GATEHOUSE_STATE_DIR, or .gatehouse/ at the repository root.
func stateDir(env *config.Env) (string, error) {
	if d := env.String("GATEHOUSE_STATE_DIR", ""); d != "" {
		return filepath.Abs(d)
	}
	root, err := emulator.RootDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".gatehouse"), nil
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "the user (JWT sub)")
	orgs := fs.String("orgs", "", "comma-separated organisation ids")
	ttl := fs.Duration("ttl", local.DefaultTokenTTL, "token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: -sub is required (make token SUB=alice ORGS=acme,beta)")
	}
	dir, err := stateDir(config.FromOS())
	if err != nil {
		return err
	}
	key, err := local.LoadOrCreateKey(filepath.Join(dir, "dev-signing-key"))
	if err != nil {
		return err
	}
	var list []string
	for _, o := range strings.Split(*orgs, ",") {
		if o = strings.TrimSpace(o); o != "" {
			list = append(list, o)
		}
	}
	tok, err := local.Mint(key, *sub, list, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// runner is the configuration of the runner and of the functions it
// serves: what a deployment's template sets for them, set here directly
// from the runner's own defaults and whatever the environment overrides.
type runner struct {
	env              *config.Env
	dir              string // GATEHOUSE_STATE_DIR
	port             int    // PORT
	ddbPort, kmsPort int    // GATEHOUSE_DYNAMODB_PORT, GATEHOUSE_KMS_PORT
	keyAlias         string // KMS_KEY_ALIAS
	cfg              bootstrap.Config
	settings         local.Settings
	// sweepInterval (DELIVERY_SWEEP_INTERVAL) replaces the template's
	// retry schedule; streamPoll (DELIVERY_STREAM_POLL) is how often an
	// idle stream is read.
	sweepInterval, streamPoll time.Duration
	// sendSweep (SEND_SWEEP_INTERVAL) replaces the message sender's
	// schedule.
	sendSweep time.Duration
}

// readRunner reads the runner's configuration from the environment, over
// base (a running runner's recorded settings, record.go; nil for none).
// Locally the table is "gatehouse", the key alias "alias/gatehouse", the
// public URL the runner's own, private networks are reachable (Ollama on
// localhost, the stand-ins) unless GATEHOUSE_ALLOW_PRIVATE_NETWORKS says
// false, and a sweep has localSegments segments.
func readRunner(base map[string]string) (*runner, error) {
	env := config.FromOSOver(base)
	r := &runner{
		env:      env,
		port:     env.Int("PORT", 3000, 1, 65535),
		ddbPort:  env.Int("GATEHOUSE_DYNAMODB_PORT", 8000, 1, 65535),
		kmsPort:  env.Int("GATEHOUSE_KMS_PORT", 8001, 1, 65535),
		keyAlias: env.String("KMS_KEY_ALIAS", "alias/gatehouse"),
		cfg:      bootstrap.ReadConfig(env),
		settings: local.ReadSettings(env),
		// Every second locally: retries of a laptop's routes need not wait
		// for a minute's schedule.
		sweepInterval: env.Duration("DELIVERY_SWEEP_INTERVAL", time.Second, 10*time.Millisecond, 0),
		streamPoll:    env.Duration("DELIVERY_STREAM_POLL", 100*time.Millisecond, time.Millisecond, 0),
		sendSweep:     env.Duration("SEND_SWEEP_INTERVAL", 0, 10*time.Millisecond, 0),
	}
	if r.cfg.Table == "" {
		r.cfg.Table = "gatehouse"
	}
	if r.cfg.PublicURL == "" {
		r.cfg.PublicURL = fmt.Sprintf("http://127.0.0.1:%d", r.port)
	}
	r.cfg.AllowPrivateNetworks = env.Bool("GATEHOUSE_ALLOW_PRIVATE_NETWORKS", true)
	if r.settings.Health.Health.Segments == 0 {
		r.settings.Health.Health.Segments = localSegments
	}
	// In-process fan-out; status changes and EVENTBRIDGE routes' events
	// are logged.
	r.settings.Health.EventBus = ""
	r.settings.Delivery.EventBus = ""
	var err error
	r.dir, err = stateDir(env)
	return r, errors.Join(err, env.Err())
}

// awsConfig is an AWS configuration for the runner's emulators.
func (r *runner) awsConfig() aws.Config {
	return emulator.AWSConfig(emulator.Endpoints{
		"DynamoDB": fmt.Sprintf("http://127.0.0.1:%d", r.ddbPort),
		"KMS":      fmt.Sprintf("http://127.0.0.1:%d", r.kmsPort),
	})
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := readRunner(nil)
	if err != nil {
		return err
	}
	root, err := emulator.RootDir()
	if err != nil {
		return err
	}
	for _, p := range []int{r.port, r.ddbPort, r.kmsPort} {
		if err := portFree(p); err != nil {
			return err
		}
	}
	log := bootstrap.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	emu, err := r.startEmulators(ctx)
	if err != nil {
		return err
	}
	defer emu.stop()
	if err := r.prepareAWS(ctx); err != nil {
		return err
	}
	fn := bootstrap.New("gatehouse-local", r.cfg, r.awsConfig(), log)
	srv, routes, err := r.server(fn, root, log)
	if err != nil {
		return err
	}
	httpSrv := apiGatewayBounds(r.port, withOpenAPI(srv))
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.ListenAndServe() }()
	r.runHealthSchedule(ctx, fn, r.settings.Health, root, log)
	go r.runDelivery(ctx, bootstrap.New("delivery", r.cfg, r.awsConfig(), log), root, log)
	go r.runSender(ctx, bootstrap.New(sender.FnSender, r.cfg, r.awsConfig(), log), root, log)
	r.printBanner(emu, routes)
	if remove, err := r.writeRecord(); err != nil {
		log.Warn("could not record the runner for `make health`", "error", err)
	} else {
		defer remove()
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	case <-emu.ddb.Exited():
		return errors.New("DynamoDB Local exited; see " + emu.ddbLog.Name())
	case <-emu.kms.Exited():
		return errors.New("local-kms exited; see " + emu.kmsLog.Name())
	}
	fmt.Fprintln(os.Stderr, "\nstopping…")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return httpSrv.Shutdown(shutdownCtx)
}

// emulators are the runner's DynamoDB Local and local-kms, and their logs.
type emulators struct {
	ddb, kms       *emulator.Process
	ddbLog, kmsLog *os.File
	logDir         string
}

// startEmulators starts DynamoDB Local and local-kms on the runner's ports,
// their data and logs in the state folder. On an error, what started is
// stopped.
func (r *runner) startEmulators(ctx context.Context) (e *emulators, err error) {
	e = &emulators{logDir: filepath.Join(r.dir, "logs")}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		return nil, err
	}
	if e.ddbLog, err = os.Create(filepath.Join(e.logDir, "dynamodb-local.log")); err != nil {
		return e, err
	}
	if e.ddb, err = emulator.StartDynamoDB(ctx, emulator.DynamoDBOptions{Port: r.ddbPort, DBPath: filepath.Join(r.dir, "dynamodb"), Log: e.ddbLog}); err != nil {
		return e, err
	}
	if e.kmsLog, err = os.Create(filepath.Join(e.logDir, "local-kms.log")); err != nil {
		return e, err
	}
	e.kms, err = emulator.StartKMS(ctx, emulator.KMSOptions{Port: r.kmsPort, DataPath: filepath.Join(r.dir, "kms"), Log: e.kmsLog})
	return e, err
}

// stop stops what started and closes the logs.
func (e *emulators) stop() {
	for _, p := range []*emulator.Process{e.kms, e.ddb} {
		if p != nil {
			_ = p.Stop()
		}
	}
	for _, f := range []*os.File{e.kmsLog, e.ddbLog} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// prepareAWS creates the table and the KMS key when missing, as the
// template does in AWS, and makes the key the configuration's unless
// KMS_KEY_ID names another.
func (r *runner) prepareAWS(ctx context.Context) error {
	awsCfg := r.awsConfig()
	if err := dynamo.EnsureTable(ctx, dynamodb.NewFromConfig(awsCfg), r.cfg.Table); err != nil {
		return fmt.Errorf("create table %s: %w", r.cfg.Table, err)
	}
	keyID, err := envelope.EnsureKey(ctx, kms.NewFromConfig(awsCfg), r.keyAlias)
	if err != nil {
		return fmt.Errorf("create KMS key: %w", err)
	}
	if r.cfg.KeyID == "" {
		r.cfg.KeyID = keyID
	}
	return nil
}

// server assembles every function of the template over fn, as its main
// would, and the router that plays API Gateway in front of them (and
// serves the built dashboard). It refuses to start when a route has no
// handler.
func (r *runner) server(fn *bootstrap.Function, root string, log *slog.Logger) (*local.Server, []template.Route, error) {
	handlers := local.Handlers(fn, r.settings)
	if err := fn.Err(); err != nil {
		return nil, nil, err
	}
	tpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, nil, err
	}
	routes, err := tpl.Routes()
	if err != nil {
		return nil, nil, err
	}
	key, err := local.LoadOrCreateKey(filepath.Join(r.dir, "dev-signing-key"))
	if err != nil {
		return nil, nil, err
	}
	opts := []local.Option{local.WithLogger(log)}
	if dist := filepath.Join(root, "frontend", "dist"); dirExists(dist) {
		headers, err := local.DashboardHeaders(tpl)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, local.WithStatic(local.Dashboard(dist, headers)))
	}
	srv := local.NewServer(routes, handlers, key, opts...)
	if missing := srv.Unhandled(); len(missing) > 0 {
		return nil, nil, fmt.Errorf("template.yaml routes without a handler: %v", missing)
	}
	return srv, routes, nil
}

// apiGatewayBounds is the runner's HTTP server on port, with bounds like
// API Gateway's, so a request the cloud would refuse is not served
// locally: at most 32 KiB of request line and headers (the handlers refuse
// more than 16 KiB of headers themselves), a whole request read within
// 30 s, an answer written within 35 s (the longest function timeout is
// 29 s), idle keep-alive connections closed after 2 minutes. The body is
// capped at API Gateway's 10 MB in local.NewRequestEvent.
func apiGatewayBounds(port int, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Handler:           h,
		MaxHeaderBytes:    32 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      35 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// printBanner tells the developer what runs where.
func (r *runner) printBanner(e *emulators, routes []template.Route) {
	fmt.Fprintf(os.Stderr, `
Gatehouse is running.
  API and dashboard   http://127.0.0.1:%d   (%d routes from template.yaml)
  DynamoDB Local      %s   table %q, data in %s
  local-kms           %s   key %s, data in %s
  emulator logs       %s
  a token             make token SUB=alice ORGS=acme,beta
Press Ctrl-C to stop everything.
`, r.port, len(routes), e.ddb.Endpoint, r.cfg.Table, filepath.Join(r.dir, "dynamodb"), e.kms.Endpoint, r.keyAlias, filepath.Join(r.dir, "kms"), e.logDir)
}

// withOpenAPI serves the API's OpenAPI document at api.DocumentPath,
// without a token, ahead of the template's routes.
func withOpenAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.DocumentPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(api.Document))
	})
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func portFree(p int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return fmt.Errorf("port %d is in use (is another `make run` running?): %w", p, err)
	}
	return l.Close()
}
