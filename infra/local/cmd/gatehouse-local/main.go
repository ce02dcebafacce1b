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
}

// readRunner reads the runner's configuration from the environment.
// Locally the table is "gatehouse", the key alias "alias/gatehouse", the
// public URL the runner's own, private networks are reachable (Ollama on
// localhost, the stand-ins) unless GATEHOUSE_ALLOW_PRIVATE_NETWORKS says
// false, and a sweep has localSegments segments.
func readRunner() (*runner, error) {
	env := config.FromOS()
	r := &runner{
		env:      env,
		port:     env.Int("PORT", 3000, 1, 65535),
		ddbPort:  env.Int("GATEHOUSE_DYNAMODB_PORT", 8000, 1, 65535),
		kmsPort:  env.Int("GATEHOUSE_KMS_PORT", 8001, 1, 65535),
		keyAlias: env.String("KMS_KEY_ALIAS", "alias/gatehouse"),
		cfg:      bootstrap.ReadConfig(env),
		settings: local.ReadSettings(env),
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
	// In-process fan-out; status changes are logged.
	r.settings.Health.EventBus = ""
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
	r, err := readRunner()
	if err != nil {
		return err
	}
	dir, port, ddbPort, kmsPort := r.dir, r.port, r.ddbPort, r.kmsPort
	root, err := emulator.RootDir()
	if err != nil {
		return err
	}
	for _, p := range []int{port, ddbPort, kmsPort} {
		if err := portFree(p); err != nil {
			return err
		}
	}
	log := bootstrap.Logger()
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ddbLog, err := os.Create(filepath.Join(logDir, "dynamodb-local.log"))
	if err != nil {
		return err
	}
	defer ddbLog.Close()
	ddb, err := emulator.StartDynamoDB(ctx, emulator.DynamoDBOptions{Port: ddbPort, DBPath: filepath.Join(dir, "dynamodb"), Log: ddbLog})
	if err != nil {
		return err
	}
	defer ddb.Stop()
	kmsLog, err := os.Create(filepath.Join(logDir, "local-kms.log"))
	if err != nil {
		return err
	}
	defer kmsLog.Close()
	kmsProc, err := emulator.StartKMS(ctx, emulator.KMSOptions{Port: kmsPort, DataPath: filepath.Join(dir, "kms"), Log: kmsLog})
	if err != nil {
		return err
	}
	defer kmsProc.Stop()

	// The functions reach the emulators through an AWS configuration that
	// names their endpoints, as AWS_ENDPOINT_URL_<SERVICE> would.
	awsCfg := r.awsConfig()
	table := r.cfg.Table
	if err := dynamo.EnsureTable(ctx, dynamodb.NewFromConfig(awsCfg), table); err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	keyID, err := envelope.EnsureKey(ctx, kms.NewFromConfig(awsCfg), r.keyAlias)
	if err != nil {
		return fmt.Errorf("create KMS key: %w", err)
	}
	if r.cfg.KeyID == "" {
		r.cfg.KeyID = keyID
	}
	fn := bootstrap.New("gatehouse-local", r.cfg, awsCfg, log)
	handlers := local.Handlers(fn, r.settings)
	if err := fn.Err(); err != nil {
		return err
	}
	tpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	routes, err := tpl.Routes()
	if err != nil {
		return err
	}
	key, err := local.LoadOrCreateKey(filepath.Join(dir, "dev-signing-key"))
	if err != nil {
		return err
	}
	opts := []local.Option{local.WithLogger(log)}
	if dist := filepath.Join(root, "frontend", "dist"); dirExists(dist) {
		opts = append(opts, local.WithStatic(dashboard(dist)))
	}
	srv := local.NewServer(routes, handlers, key, opts...)
	if missing := srv.Unhandled(); len(missing) > 0 {
		return fmt.Errorf("template.yaml routes without a handler: %v", missing)
	}
	// Bounds like API Gateway's, so a request the cloud would refuse is not
	// served locally: at most 32 KiB of request line and headers (the
	// handlers refuse more than 16 KiB of headers themselves), a whole
	// request read within 30 s, an answer written within 35 s (the longest
	// function timeout is 29 s), idle keep-alive connections closed after 2
	// minutes. The body is capped at API Gateway's 10 MB in local.NewRequestEvent.
	httpSrv := &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Handler:           withOpenAPI(srv),
		MaxHeaderBytes:    32 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      35 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.ListenAndServe() }()
	go runHealthSchedule(ctx, fn, r.settings.Health, root, log)

	fmt.Fprintf(os.Stderr, `
Gatehouse is running.
  API and dashboard   http://127.0.0.1:%d   (%d routes from template.yaml)
  DynamoDB Local      %s   table %q, data in %s
  local-kms           %s   key %s, data in %s
  emulator logs       %s
  a token             make token SUB=alice ORGS=acme,beta
Press Ctrl-C to stop everything.
`, port, len(routes), ddb.Endpoint, table, filepath.Join(dir, "dynamodb"), kmsProc.Endpoint, r.keyAlias, filepath.Join(dir, "kms"), logDir)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	case <-ddb.Exited():
		return errors.New("DynamoDB Local exited; see " + ddbLog.Name())
	case <-kmsProc.Exited():
		return errors.New("local-kms exited; see " + kmsLog.Name())
	}
	fmt.Fprintln(os.Stderr, "\nstopping…")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return httpSrv.Shutdown(shutdownCtx)
}

// dashboard serves the built dashboard, and the /config.json that a
// deployment writes beside it: locally the API is on the same origin and
// sign-in is the development sign-in.
func dashboard(dist string) http.Handler {
	files := http.FileServer(http.Dir(dist))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/config.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, `{"apiBaseUrl":"","auth":{"mode":"dev","tokenUrl":"/dev/token"}}`)
			return
		}
		// Client-side routes fall back to the app shell.
		if _, err := os.Stat(filepath.Join(dist, filepath.Clean("/"+r.URL.Path))); err != nil {
			http.ServeFile(w, r, filepath.Join(dist, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
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
