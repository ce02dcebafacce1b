// Package bootstrap assembles Gatehouse from its environment, the same way in
// every Lambda bootstrap and in the local runner: AWS clients (which reach
// emulators, LocalStack or AWS through the standard AWS_ENDPOINT_URL_<SERVICE>
// variables), the DynamoDB store, KMS envelope encryption, the gateway service
// and the HTTP handlers.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// Config is what a function reads from its environment.
type Config struct {
	Table     string // TABLE_NAME
	KeyID     string // KMS_KEY_ID: key id, ARN or alias
	OrgsClaim string // ORGS_CLAIM, default "orgs"
}

// ConfigFromEnv reads Config; TABLE_NAME and KMS_KEY_ID are required.
func ConfigFromEnv() (Config, error) {
	c := Config{Table: os.Getenv("TABLE_NAME"), KeyID: os.Getenv("KMS_KEY_ID"), OrgsClaim: os.Getenv("ORGS_CLAIM")}
	if c.OrgsClaim == "" {
		c.OrgsClaim = "orgs"
	}
	var missing []error
	if c.Table == "" {
		missing = append(missing, errors.New("TABLE_NAME is not set"))
	}
	if c.KeyID == "" {
		missing = append(missing, errors.New("KMS_KEY_ID is not set"))
	}
	return c, errors.Join(missing...)
}

// Deps are the assembled parts.
type Deps struct {
	Config  Config
	AWS     aws.Config
	Dynamo  *dynamodb.Client
	KMS     *kms.Client
	Store   *dynamo.Store
	Service *gateway.Service
	API     *httpapi.API
	Log     *slog.Logger
}

// New builds every part from cfg and awsCfg. It does no network I/O.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger) *Deps {
	d := &Deps{Config: cfg, AWS: awsCfg, Log: log}
	d.Dynamo = dynamodb.NewFromConfig(awsCfg)
	d.KMS = kms.NewFromConfig(awsCfg)
	d.Store = dynamo.New(d.Dynamo, cfg.Table)
	d.Service = gateway.NewService(d.Store, envelope.New(d.KMS, cfg.KeyID))
	d.API = httpapi.New(d.Service, httpapi.WithLogger(log), httpapi.WithOrgsClaim(cfg.OrgsClaim))
	return d
}

// Handlers returns every function's handler by function name: the routes of
// pkg/httpapi and the other functions template.yaml declares.
func (d *Deps) Handlers() map[string]httpapi.Handler {
	return d.API.Handlers()
}

// FromEnv builds Deps from the process environment.
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: AWS configuration: %w", err)
	}
	return New(cfg, awsCfg, Logger()), nil
}

// Logger is the structured JSON logger every function writes to stdout.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Start is a Lambda function's whole main: assemble from the environment and
// serve the named route's handler. It exits with a log line when the
// environment is incomplete, before Lambda sends any event.
func Start(function string) {
	d, err := FromEnv(context.Background())
	if err != nil {
		slog.Error("bootstrap failed", "function", function, "error", err)
		os.Exit(1)
	}
	h, ok := d.Handlers()[function]
	if !ok {
		slog.Error("bootstrap: unknown function", "function", function)
		os.Exit(1)
	}
	lambda.Start(h)
}
