package bootstrap_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Packages a function may link only when it uses them.
const (
	mod         = "github.com/gatehouse/gatehouse/"
	sdk         = "github.com/aws/aws-sdk-go-v2/"
	eventBridge = sdk + "service/eventbridge"
	lambdaAPI   = sdk + "service/lambda"
	kmsAPI      = sdk + "service/kms"
	dynamoAPI   = sdk + "service/dynamodb"
	awsConfig   = sdk + "config"
)

var (
	fanout    = []string{lambdaAPI, mod + "pkg/health/healthlambda"}
	rotation  = []string{mod + "pkg/rekey", mod + "pkg/rekey/rekeydynamo"}
	sealing   = []string{kmsAPI, mod + "pkg/envelope"}
	providers = []string{mod + "pkg/provider/telegram", mod + "pkg/provider/ai", mod + "pkg/provider/webhook"}
	handlers  = []string{mod + "pkg/httpapi", mod + "pkg/telegramhook", mod + "pkg/edge", mod + "infra/local"}
)

// TestEachFunctionLinksOnlyWhatItUses: a Lambda binary links the packages
// its main imports, and their package-level initialisation runs at every
// cold start, so each function's imports are held to what it runs: none
// but the health check's coordinator links Lambda invokes, none but its
// worker and delivery EventBridge, none but key rotation the rotation; the
// messages API no KMS and no provider but Telegram's checks, its sender no
// dashboard route and no provider but Telegram; the files
// function no provider but Telegram's and no dashboard route; the routes that
// only read the table, the webhook and the coordinator link no KMS client
// and no provider, list-providers no AWS client at all. And the DynamoDB
// store links no HTTP code.
func TestEachFunctionLinksOnlyWhatItUses(t *testing.T) {
	readRoutes := []string{"list-gateways", "get-gateway", "gateway-audit", "health-history", "list-updates", "routes"}
	all := []string{"create-gateway", "delete-gateway", "delivery", "files", "gateway-action", "gateway-audit", "get-gateway", "health-check",
		"health-history", "health-worker", "list-gateways", "list-providers", "list-updates", "message-sender", "messages", "rotate-credentials", "routes",
		"telegram-webhook", "test-gateway", "update-gateway", "update-gateway-status"}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if len(dirs) != len(all) {
		t.Fatalf("%d functions in functions/, this test knows %d: add the new one's rules here", len(dirs), len(all))
	}
	forbidden := map[string][]string{}
	for _, fn := range all {
		// The SDK's config package serves laptops (profiles, SSO): no
		// function links it (see pkg/bootstrap/awsclients).
		f := []string{awsConfig}
		switch fn {
		case "health-check":
		case "message-sender":
			// It invokes itself, once per bot, but no health worker.
			f = append(f, mod+"pkg/health/healthlambda")
		default:
			f = append(f, fanout...)
		}
		if fn != "health-worker" {
			f = append(f, mod+"pkg/health/healthbus")
			if fn != "delivery" {
				f = append(f, eventBridge)
			}
		}
		if fn != "rotate-credentials" {
			f = append(f, rotation...)
		}
		if slices.Contains(readRoutes, fn) || fn == "telegram-webhook" || fn == "list-providers" || fn == "health-check" {
			f = append(f, sealing...)
		}
		if slices.Contains(readRoutes, fn) || fn == "telegram-webhook" || fn == "health-check" {
			f = append(f, providers...)
		}
		switch fn {
		case "list-providers":
			f = append(f, dynamoAPI, mod+"pkg/dynamo", mod+"pkg/bootstrap/awsclients")
		case "telegram-webhook":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/lifecycle")
		case "health-check":
			f = append(f, dynamoAPI, mod+"pkg/dynamo", mod+"pkg/httpapi", mod+"pkg/telegramhook")
		case "health-worker", "rotate-credentials":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/telegramhook")
		case "delivery":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/telegramhook", mod+"pkg/provider/telegram", mod+"pkg/provider/ai", mod+"pkg/lifecycle")
		case "messages":
			// It queues jobs: no credentials (no KMS), no provider but
			// Telegram's parameter checks, no engine.
			f = append(f, append(slices.Clone(sealing), mod+"pkg/provider/ai", mod+"pkg/provider/webhook")...)
		case "message-sender":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/telegramhook", mod+"pkg/lifecycle", mod+"pkg/provider/ai", mod+"pkg/provider/webhook")
		case "files":
			// It opens a bot token and downloads from Telegram: no
			// registry, no other provider, no dashboard routes.
			f = append(f, mod+"pkg/httpapi", mod+"pkg/telegramhook", mod+"pkg/lifecycle", mod+"pkg/provider/ai", mod+"pkg/provider/webhook")
		}
		forbidden["./functions/"+fn] = f
	}
	forbidden["./pkg/dynamo"] = append(slices.Clone(handlers), rotation...)
	// And the functions that use them do link them, so the names above
	// are the packages' real paths.
	required := map[string][]string{
		"./functions/health-check":       {lambdaAPI},
		"./functions/health-worker":      {eventBridge, kmsAPI, dynamoAPI},
		"./functions/rotate-credentials": {mod + "pkg/rekey/rekeydynamo", kmsAPI},
		"./functions/create-gateway":     append([]string{kmsAPI, dynamoAPI, mod + "pkg/httpapi"}, providers...),
		"./functions/telegram-webhook":   {dynamoAPI, mod + "pkg/telegramhook", mod + "pkg/edge"},
		"./functions/delivery":           {dynamoAPI, kmsAPI, eventBridge, mod + "pkg/delivery", mod + "pkg/provider/webhook"},
		"./functions/routes":             {dynamoAPI, mod + "pkg/route", mod + "pkg/httpapi"},
		"./functions/messages":           {dynamoAPI, mod + "pkg/send", mod + "pkg/httpapi", mod + "pkg/provider/telegram"},
		"./functions/message-sender":     {dynamoAPI, kmsAPI, lambdaAPI, mod + "pkg/send", mod + "pkg/send/sendtelegram", mod + "pkg/provider/telegram/markdown"},
		"./functions/files":              {dynamoAPI, kmsAPI, mod + "pkg/filelink/download", mod + "pkg/provider/telegram", mod + "pkg/edge"},
	}

	// One go list for every package: .Deps is each one's whole closure.
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
	for pkg := range forbidden {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	depsOf := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		depsOf["./"+strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	for pkg, bad := range forbidden {
		deps, ok := depsOf[pkg]
		if !ok {
			t.Errorf("go list did not report %s", pkg)
			continue
		}
		for _, d := range deps {
			// See go.mod: the SDK's schema packages cost every cold start
			// tens of milliseconds under emulation.
			if strings.HasPrefix(d, sdk+"service/") && strings.HasSuffix(d, "/schemas") {
				t.Errorf("%s links %s: an AWS service client with schema-based serialization (see go.mod)", pkg, d)
			}
		}
		for _, b := range bad {
			if slices.Contains(deps, b) {
				t.Errorf("%s links %s", pkg, b)
			}
		}
		for _, r := range required[pkg] {
			if !slices.Contains(deps, r) {
				t.Errorf("%s does not link %s", pkg, r)
			}
		}
	}
}
