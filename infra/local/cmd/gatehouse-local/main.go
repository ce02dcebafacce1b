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

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

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
func stateDir() (string, error) {
	if d := os.Getenv("GATEHOUSE_STATE_DIR"); d != "" {
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
	dir, err := stateDir()
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

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func setDefault(name, value string) {
	if os.Getenv(name) == "" {
		os.Setenv(name, value)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := stateDir()
	if err != nil {
		return err
	}
	root, err := emulator.RootDir()
	if err != nil {
		return err
	}
	port := envInt("PORT", 3000)
	ddbPort := envInt("GATEHOUSE_DYNAMODB_PORT", 8000)
	kmsPort := envInt("GATEHOUSE_KMS_PORT", 8001)
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

	// The functions reach the emulators exactly as they would reach LocalStack
	// or AWS: through the SDK's standard endpoint variables.
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.Endpoint)
	os.Setenv("AWS_ENDPOINT_URL_KMS", kmsProc.Endpoint)
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "local")
	setDefault("AWS_SECRET_ACCESS_KEY", "local")
	setDefault("TABLE_NAME", "gatehouse")
	setDefault("KMS_KEY_ALIAS", "alias/gatehouse")
	setDefault("PUBLIC_API_URL", fmt.Sprintf("http://127.0.0.1:%d", port))
	setDefault("GATEHOUSE_ALLOW_PRIVATE_NETWORKS", "true")

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	table := os.Getenv("TABLE_NAME")
	if err := dynamo.EnsureTable(ctx, dynamodb.NewFromConfig(awsCfg), table); err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	keyID, err := envelope.EnsureKey(ctx, kms.NewFromConfig(awsCfg), os.Getenv("KMS_KEY_ALIAS"))
	if err != nil {
		return fmt.Errorf("create KMS key: %w", err)
	}
	setDefault("KMS_KEY_ID", keyID)

	deps, err := bootstrap.FromEnv(ctx)
	if err != nil {
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
	srv := local.NewServer(routes, deps.Handlers(), key, opts...)
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
	go runHealthSchedule(ctx, deps, root, log)

	fmt.Fprintf(os.Stderr, `
Gatehouse is running.
  API and dashboard   http://127.0.0.1:%d   (%d routes from template.yaml)
  DynamoDB Local      %s   table %q, data in %s
  local-kms           %s   key %s, data in %s
  emulator logs       %s
  a token             make token SUB=alice ORGS=acme,beta
Press Ctrl-C to stop everything.
`, port, len(routes), ddb.Endpoint, table, filepath.Join(dir, "dynamodb"), kmsProc.Endpoint, os.Getenv("KMS_KEY_ALIAS"), filepath.Join(dir, "kms"), logDir)

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
