// Command coldstart measures each Lambda bootstrap's cold start under the AWS
// Lambda Runtime Interface Emulator, next to a hello-world aws-lambda-go
// bootstrap (bench/coldstart/hello) built with the same flags in the same
// run, and prints each function's ratio to it, its binary size and the size
// of its deployment zip.
//
//	go run ./bench/coldstart [-n 7] [-arch arm64|amd64] [-zips DIR]
//
// A cold start is the time from starting the emulator to the first response:
// the emulator's start, the bootstrap's init (package initialisation, then
// main reading its environment and building every AWS client and provider
// it will use: nothing is built lazily, so the first real request pays
// nothing this run leaves out) and one invocation. The event is chosen to
// be answered without any network call (no JWT claims: 401; an impossible
// webhook id: 404; an invalid health task: an error), so the figure is the
// bootstrap's own, not DynamoDB's. Builds are `make build`'s
// (read from the Makefile); -arch amd64 runs the same build natively, and
// arm64 on another host runs through qemu-user, which inflates absolute
// times: compare the ratios. Repetitions are interleaved across functions
// and the median is reported.
//
// Zips are deterministic: one entry, "bootstrap", mode 0755, a fixed
// modification time, Deflate; the same binary always gives the same bytes.
// This is a benchmark, not a test: it asserts nothing.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/lambdazip"
	"github.com/gatehouse/gatehouse/infra/rie"
	"github.com/gatehouse/gatehouse/infra/template"
)

const hello = "hello"

func main() {
	n := flag.Int("n", 7, "repetitions per bootstrap")
	arch := flag.String("arch", "", "GOARCH to build and run (default: the Makefile's, arm64)")
	zips := flag.String("zips", "", "keep the bootstraps and their zips in this folder (default: a temporary one)")
	flag.Parse()
	if err := run(*n, *arch, *zips); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

type target struct {
	name    string
	binary  string
	env     map[string]string
	payload []byte
	timeout time.Duration
	memory  int
	times   []time.Duration
	size    int64
	zipSize int
	zipSum  string
	resets  int // samples taken again after the emulator reset the invoke
}

func run(n int, arch, keep string) error {
	if n < 1 {
		return errors.New("-n must be at least 1")
	}
	root, err := emulator.RootDir()
	if err != nil {
		return err
	}
	spec, err := rie.ReadBuildSpec(filepath.Join(root, "Makefile"))
	if err != nil {
		return err
	}
	if arch == "" {
		arch = spec.Arch()
	}
	runner, err := rie.Runner(arch)
	if err != nil {
		return err
	}
	dir := keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gatehouse-coldstart-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	ctx := context.Background()
	fmt.Fprintf(os.Stderr, "building linux/%s bootstraps with %q…\n", arch, spec.Flags)
	if err := spec.Build(ctx, root, dir, arch, "./functions/...", "./bench/coldstart/hello"); err != nil {
		return err
	}
	targets, err := targets(root, dir)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := t.sizes(dir); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "measuring %d bootstraps × %d under aws-lambda-rie%s…\n", len(targets), n, viaRunner(runner))
	for i := 0; i < n; i++ {
		for _, t := range targets {
			d, err := t.coldStart(ctx, arch)
			// The emulator now and then resets the connection of an invoke
			// that comes right after its start, before the bootstrap ran:
			// that sample measures nothing, so it is taken again.
			for retry := 0; err != nil && errors.Is(err, syscall.ECONNRESET) && retry < 3; retry++ {
				t.resets++
				d, err = t.coldStart(ctx, arch)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.times = append(t.times, d)
		}
	}
	report(os.Stdout, targets, arch, runner, n)
	return nil
}

func viaRunner(runner []string) string {
	if len(runner) == 0 {
		return ""
	}
	return " via " + filepath.Base(runner[0])
}

// targets are the hello baseline and every folder of functions/, with the
// environment template.yaml gives it (the first function deployed from it)
// and an event it answers without a network call.
func targets(root, dir string) ([]*target, error) {
	tpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	fns, err := tpl.Functions(template.Values{
		"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com",
		"Table": "gatehouse", "KeyAlias": "alias/gatehouse", "PublicApiUrl": "https://api.example.com",
		"TelegramApiBaseUrl": "https://api.telegram.org", "HealthWorkerFunction": "gatehouse-health-worker", "EventBusName": "default",
	})
	if err != nil {
		return nil, err
	}
	base := map[string]string{"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}
	out := []*target{{name: hello, binary: filepath.Join(dir, hello), env: base, payload: []byte(`{"version":"2.0"}`), timeout: 10 * time.Second, memory: 128}}
	seen := map[string]bool{}
	for _, f := range fns {
		if seen[f.Dir] {
			continue
		}
		seen[f.Dir] = true
		payload, err := offlineEvent(root, f.Dir)
		if err != nil {
			return nil, err
		}
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range f.Env {
			env[k] = v
		}
		out = append(out, &target{name: f.Dir, binary: filepath.Join(dir, f.Dir), env: env, payload: payload, timeout: f.Timeout, memory: f.MemoryMB})
	}
	sort.Slice(out[1:], func(i, j int) bool { return out[1+i].name < out[1+j].name })
	return out, nil
}

// offlineEvent is the function's fixture made to be answered before any
// network call: without the authorizer's claims (401), with an impossible
// webhook id (404), or, for the health check, an invalid task (an error).
func offlineEvent(root, fn string) ([]byte, error) {
	if fn == "health-check" || fn == "health-worker" {
		return []byte(`{"sweep":"bench","segment":0,"segments":0}`), nil
	}
	if fn == "rotate-credentials" {
		// Refused by the event parser, before any AWS call.
		return []byte(`{"dryRun":"bench"}`), nil
	}
	data, err := os.ReadFile(filepath.Join(root, "functions", fn, "testdata", "event.json"))
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("%s fixture: %w", fn, err)
	}
	if rc, ok := ev["requestContext"].(map[string]any); ok {
		delete(rc, "authorizer")
	}
	if fn == "telegram-webhook" {
		ev["pathParameters"] = map[string]any{"gatewayId": "not-a-gateway"}
	}
	return json.Marshal(ev)
}

func (t *target) coldStart(ctx context.Context, arch string) (time.Duration, error) {
	start := time.Now()
	e, err := rie.Start(ctx, rie.Options{Bootstrap: t.binary, Arch: arch, Name: t.name, Env: t.env, Timeout: t.timeout, MemoryMB: t.memory})
	if err != nil {
		return 0, err
	}
	defer e.Stop()
	status, body, err := e.Invoke(ctx, t.payload)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if status != 200 || len(body) == 0 {
		return 0, fmt.Errorf("the emulator answered %d: %s", status, body)
	}
	return d, nil
}

// sizes records the binary's size and zips it deterministically beside it.
func (t *target) sizes(dir string) error {
	bin, err := os.ReadFile(t.binary)
	if err != nil {
		return err
	}
	t.size = int64(len(bin))
	z, err := lambdazip.Package(bin)
	if err != nil {
		return err
	}
	again, _ := lambdazip.Package(bin)
	if !bytes.Equal(z, again) {
		return fmt.Errorf("%s: two zips of the same binary differ", t.name)
	}
	t.zipSize = len(z)
	sum := sha256.Sum256(z)
	t.zipSum = fmt.Sprintf("%x", sum[:6])
	return os.WriteFile(filepath.Join(dir, t.name+".zip"), z, 0o644)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func report(w io.Writer, targets []*target, arch string, runner []string, n int) {
	base := median(targets[0].times)
	fmt.Fprintf(w, "cold start under aws-lambda-rie, linux/%s%s, median of %d (ms); ratio = function / %s\n\n", arch, viaRunner(runner), n, hello)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bootstrap\tmedian ms\tmin\tmax\tratio\tbinary bytes\tzip bytes\tzip sha256\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%d\t%d\t%s\t\n", t.name, ms(median(t.times)), ms(slices.Min(t.times)), ms(slices.Max(t.times)),
			float64(median(t.times))/float64(base), t.size, t.zipSize, t.zipSum)
	}
	tw.Flush()
	resets := 0
	for _, t := range targets {
		resets += t.resets
	}
	if resets > 0 {
		fmt.Fprintf(w, "\n%d samples were taken again: the emulator reset the connection before the bootstrap ran.\n", resets)
	}
	fmt.Fprintln(w, "\n"+strings.TrimSpace(`
Events are answered without a network call; qemu-user (when shown) inflates
absolute times several-fold, so the ratios are the comparable figures.`))
}
