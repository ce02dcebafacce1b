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
	healthFanout = []string{eventBridge, lambdaAPI, mod + "pkg/health/healthaws"}
	rotation     = []string{mod + "pkg/rekey", mod + "pkg/rekey/rekeydynamo"}
	sealing      = []string{kmsAPI, mod + "pkg/envelope"}
	providers    = []string{mod + "pkg/provider/telegram", mod + "pkg/provider/ai", mod + "pkg/provider/webhook"}
	handlers     = []string{mod + "pkg/httpapi", mod + "pkg/telegramhook", mod + "pkg/edge", mod + "infra/local"}
)

// TestEachFunctionLinksOnlyWhatItUses: a Lambda binary links the packages
// its main imports, and their package-level initialisation runs at every
// cold start, so each function's imports are held to what it runs: no
// function but the health check links EventBridge or Lambda invokes, none
// but key rotation links the rotation, the routes that only read the
// table and the webhook link no KMS client and no provider, list-providers
// no AWS client at all. And the DynamoDB store links no HTTP code.
func TestEachFunctionLinksOnlyWhatItUses(t *testing.T) {
	readRoutes := []string{"list-gateways", "get-gateway", "gateway-audit", "health-history"}
	all := []string{"create-gateway", "delete-gateway", "gateway-action", "gateway-audit", "get-gateway", "health-check",
		"health-history", "list-gateways", "list-providers", "rotate-credentials", "telegram-webhook", "test-gateway",
		"update-gateway", "update-gateway-status"}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if len(dirs) != len(all) {
		t.Fatalf("%d functions in functions/, this test knows %d: add the new one's rules here", len(dirs), len(all))
	}
	forbidden := map[string][]string{}
	for _, fn := range all {
		var f []string
		if fn != "health-check" {
			f = append(f, healthFanout...)
		}
		if fn != "rotate-credentials" {
			f = append(f, rotation...)
		}
		if slices.Contains(readRoutes, fn) || fn == "telegram-webhook" || fn == "list-providers" {
			f = append(f, sealing...)
		}
		if slices.Contains(readRoutes, fn) || fn == "telegram-webhook" {
			f = append(f, providers...)
		}
		switch fn {
		case "list-providers":
			f = append(f, dynamoAPI, awsConfig, mod+"pkg/dynamo")
		case "telegram-webhook":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/lifecycle")
		case "health-check", "rotate-credentials":
			f = append(f, mod+"pkg/httpapi", mod+"pkg/telegramhook")
		}
		forbidden["./functions/"+fn] = f
	}
	forbidden["./pkg/dynamo"] = append(slices.Clone(handlers), rotation...)
	// And the functions that use them do link them, so the names above
	// are the packages' real paths.
	required := map[string][]string{
		"./functions/health-check":       {eventBridge, lambdaAPI, kmsAPI},
		"./functions/rotate-credentials": {mod + "pkg/rekey/rekeydynamo", kmsAPI},
		"./functions/create-gateway":     append([]string{kmsAPI, dynamoAPI, awsConfig, mod + "pkg/httpapi"}, providers...),
		"./functions/telegram-webhook":   {dynamoAPI, mod + "pkg/telegramhook", mod + "pkg/edge"},
	}

	for pkg, bad := range forbidden {
		t.Run(strings.TrimPrefix(pkg, "./"), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "list", "-deps", pkg)
			cmd.Dir = filepath.Join("..", "..")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			deps := strings.Fields(string(out))
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
		})
	}
}
