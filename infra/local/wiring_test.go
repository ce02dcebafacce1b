package local_test

import (
	"log/slog"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthcheck"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthsweep"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/rotation"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/sender"
)

// TestTemplateAndHandlersAgree proves that every route template.yaml deploys
// has a handler in the runner, and every handler is deployed.
func TestTemplateAndHandlersAgree(t *testing.T) {
	tpl, err := template.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	// The same map the runner and the Lambdas use; New does no I/O.
	fn := bootstrap.New("local", bootstrap.Config{Table: "t", KeyID: "k"}, aws.Config{Region: "us-east-1"}, slog.Default())
	handlers := local.Handlers(fn, local.Settings{})
	if err := fn.Err(); err != nil {
		t.Fatal(err)
	}
	srv := local.NewServer(routes, handlers, make([]byte, local.KeySize))
	if missing := srv.Unhandled(); len(missing) > 0 {
		t.Errorf("template functions without a handler: %v", missing)
	}
	deployed := map[string]bool{}
	for _, r := range routes {
		deployed[r.Function] = true
	}
	var extra []string
	for name := range handlers {
		if !deployed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("handlers not deployed by template.yaml: %v", extra)
	}
	// Every function folder is a deployed route, or one of the functions
	// that no route invokes.
	unrouted := map[string]bool{healthsweep.FnHealthCheck: true, healthcheck.FnHealthWorker: true, rotation.FnRotateCredentials: true, deliverer.FnDelivery: true, sender.FnSender: true}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		if !deployed[name] && !unrouted[name] {
			t.Errorf("functions/%s is neither a route in template.yaml nor a known unrouted function", name)
		}
	}
}
