package rie_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/api/apitest"
	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/infra/rie"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// Placeholders of the fixtures in functions/*/testdata: the test replaces
// them with the gateway it created and the webhook secret Telegram got.
const (
	fixtureGatewayID = "gw_4ytq6m3hd2k5wq7n2xj6a3bcde"
	fixtureSecret    = "Q3hW8nV2mK6pL0rT4yU1iO9aS5dF7gHj2kZ8xC3vB6nM1qW4eR7t"
	fixtureBotToken  = "7301946285:AAGx3kZq9LmN4pR7sT2vW8yB1cD5eF6hJ0k"
	fixtureLinkID    = "q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C"
	workerFunction   = "gatehouse-HealthWorkerFunction-rie"
)

// need fails the test under make test (GATEHOUSE_INTEGRATION=1) when err
// says the emulator cannot run here, and skips it otherwise.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if emutest.Required() {
		t.Fatalf("%s: %v", what, err)
	}
	t.Skipf("%s: %v (run `make test`)", what, err)
}

// suite is every bootstrap of functions/, built as `make build` builds it,
// each under its own emulator with its template environment.
type suite struct {
	t         *testing.T
	root      string
	bin       string
	arch      string
	functions map[string]template.Function // by logical id
	emulators map[string]*rie.Emulator
	used      map[string]bool // fixtures, by path relative to functions/
	invoked   map[string]bool // logical ids
	contract  *apitest.Contract
	logs      map[string]*bytes.Buffer
}

func TestBootstrapsUnderRIE(t *testing.T) {
	_, err := rie.Binary()
	need(t, "aws-lambda-rie", err)
	root, err := emulator.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := rie.ReadBuildSpec(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rie.Runner(spec.Arch())
	need(t, "running "+spec.Arch()+" bootstraps", err)
	env := emutest.Start(t)
	ctx := context.Background()

	s := &suite{t: t, root: root, bin: t.TempDir(), arch: spec.Arch(), emulators: map[string]*rie.Emulator{},
		used: map[string]bool{}, invoked: map[string]bool{}, logs: map[string]*bytes.Buffer{}, contract: apitest.Must(t)}
	start := time.Now()
	if err := spec.Build(ctx, root, s.bin, "", "./functions/..."); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the %s bootstraps in %s", spec.Arch(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		for id, e := range s.emulators {
			e.Stop()
			if t.Failed() || config.FromOS().Bool("GATEHOUSE_RIE_LOGS", false) {
				t.Logf("--- output of %s:\n%s", id, s.logs[id])
			}
		}
	})

	table, alias := emutest.UniqueName("rie"), "alias/"+emutest.UniqueName("rie")
	if err := dynamo.EnsureTable(ctx, env.DynamoDBClient(), table); err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.EnsureKey(ctx, env.KMSClient(), alias); err != nil {
		t.Fatal(err)
	}
	tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	aws := &awsStandIn{}
	awsSrv := httptest.NewServer(aws)
	defer awsSrv.Close()

	tpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions(template.Values{
		"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com",
		"AWS::StackName": "gatehouse", "Table": table, "KeyAlias": alias,
		"PublicApiUrl":         "https://k7x2m9q4ab.execute-api.us-east-1.amazonaws.com",
		"TelegramApiBaseUrl":   tgSrv.URL,
		"HealthWorkerFunction": workerFunction,
		"EventBusName":         "gatehouse-rie",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.functions = map[string]template.Function{}
	for _, f := range fns {
		// What Lambda adds: region and credentials (here static ones) and,
		// as for the local runner, the emulators' endpoints.
		for k, v := range map[string]string{
			"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
			"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "rie",
			"AWS_ENDPOINT_URL_DYNAMODB":    env.DynamoDB.Endpoint,
			"AWS_ENDPOINT_URL_KMS":         env.KMS.Endpoint,
			"AWS_ENDPOINT_URL_LAMBDA":      awsSrv.URL,
			"AWS_ENDPOINT_URL_EVENTBRIDGE": awsSrv.URL,
		} {
			f.Env[k] = v
		}
		s.functions[f.LogicalID] = f
	}

	// The flow a user and the schedule go through, one function at a time.
	var providers struct {
		Types []struct{ Type string } `json:"types"`
	}
	s.http("ListProvidersFunction", "list-providers/event.json", nil, 200, &providers)
	if len(providers.Types) != 3 {
		t.Errorf("providers: %+v", providers)
	}

	var g struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Status  string `json:"status"`
		Version int    `json:"version"`
	}
	resp := s.http("CreateGatewayFunction", "create-gateway/event.json", nil, 201, &g)
	if g.Version != 1 || resp.Headers["Location"] != "/api/gateways/"+g.ID {
		t.Fatalf("create: %+v %v", g, resp.Headers)
	}
	ids := strings.NewReplacer(fixtureGatewayID, g.ID)

	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	s.http("ListGatewaysFunction", "list-gateways/event.json", ids, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != g.ID {
		t.Errorf("list: %+v", list)
	}
	s.http("GetGatewayFunction", "get-gateway/event.json", ids, 200, &g)
	s.http("UpdateGatewayFunction", "update-gateway/event.json", ids, 200, &g)
	if g.Version != 2 || g.Name != "Support bot (EU)" {
		t.Errorf("update: %+v", g)
	}
	var tr struct {
		Success bool   `json:"success"`
		Result  string `json:"result"`
	}
	s.http("TestGatewayFunction", "test-gateway/event.json", ids, 200, &tr)
	if !tr.Success || tr.Result != "ok" {
		t.Errorf("test: %+v", tr)
	}
	s.http("UpdateGatewayStatusFunction", "update-gateway-status/event.json", ids, 200, &g)
	wh, _ := tg.Webhook(fixtureBotToken)
	if g.Status != "CONNECTED" || wh.URL != "https://k7x2m9q4ab.execute-api.us-east-1.amazonaws.com/api/webhooks/telegram/"+g.ID {
		t.Fatalf("connect: %+v, webhook %q", g, wh.URL)
	}
	s.http("GatewayActionFunction", "gateway-action/event.json", ids, 200, nil)
	if msgs := tg.Messages(fixtureBotToken); len(msgs) != 1 || msgs[0].Text != "Hello from Gatehouse" {
		t.Errorf("sendMessage reached Telegram as %+v", msgs)
	}
	// getFile mints a link; the files function serves it without a JWT.
	tg.AddFile(fixtureBotToken, telegramtest.File{FileID: "BQACAgIAAxkBAAIBZ2Xdocument", Path: "documents/file_1.txt", Content: []byte("hello from Telegram")})
	var file struct {
		Result struct {
			URL string `json:"url"`
		} `json:"result"`
	}
	s.http("GatewayActionFunction", "gateway-action/getfile-event.json", ids, 200, &file)
	link, ok := strings.CutPrefix(file.Result.URL, "https://k7x2m9q4ab.execute-api.us-east-1.amazonaws.com/api/files/")
	if !ok {
		t.Fatalf("getFile url %q", file.Result.URL)
	}
	served := s.http("FilesFunction", "files/event.json", strings.NewReplacer(fixtureLinkID, link), 200, nil)
	if got, _ := base64.StdEncoding.DecodeString(served.Body); string(got) != "hello from Telegram" || !served.IsBase64Encoded {
		t.Errorf("files served %q (base64 %v)", got, served.IsBase64Encoded)
	}

	withSecret := strings.NewReplacer(fixtureGatewayID, g.ID, fixtureSecret, wh.SecretToken)
	s.http("TelegramWebhookFunction", "telegram-webhook/event.json", withSecret, 200, nil)
	s.http("TelegramWebhookFunction", "telegram-webhook/event.json", withSecret, 200, nil) // a repeat is stored once
	s.http("TelegramWebhookFunction", "telegram-webhook/event.json", ids, 401, nil)        // the fixture's own secret is wrong
	// The update the webhook stored, through the bot's updates route.
	var updates struct {
		Items []struct {
			UpdateID int64  `json:"updateId"`
			Type     string `json:"type"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	s.http("ListUpdatesFunction", "list-updates/event.json", ids, 200, &updates)
	if len(updates.Items) != 1 || updates.Items[0].Type != "message" || updates.NextCursor == "" {
		t.Errorf("updates: %+v", updates)
	}
	// A route to the bus; the delivery function, handed the stream record
	// of the stored update, puts it on the bus; its schedule sweeps.
	var rt struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	s.http("RoutesFunction", "routes/event.json", ids, 201, &rt)
	if rt.ID == "" || rt.Status != "ACTIVE" {
		t.Errorf("route: %+v", rt)
	}
	var batch struct {
		Failures []any `json:"batchItemFailures"`
	}
	s.invokeJSON("DeliveryFunction", "delivery/event.json", ids, &batch)
	if len(batch.Failures) != 0 {
		t.Errorf("delivery: batch item failures %v", batch.Failures)
	}
	if evs := aws.events(); len(evs) != 1 || !strings.Contains(evs[0], `"DetailType":"Telegram Update Received"`) || !strings.Contains(evs[0], rt.ID) {
		t.Errorf("delivery put %d events on the bus: %q", len(evs), evs)
	}
	var swept struct{ Lanes int }
	s.invokeJSON("DeliveryFunction", "delivery/schedule-event.json", nil, &swept)
	// A broadcast job; the sender, handed the stream record of the bot's
	// marker, invokes itself for the bot; that invocation sends the job.
	var job struct {
		JobID  string `json:"jobId"`
		Status string `json:"status"`
		Total  int    `json:"total"`
	}
	s.http("MessagesFunction", "messages/event.json", ids, 202, &job)
	if job.Total != 2 || job.Status != "QUEUED" {
		t.Errorf("messages: %+v", job)
	}
	var kicked struct{ Bots int }
	s.invokeJSON("MessageSenderFunction", "message-sender/event.json", ids, &kicked)
	if sent := aws.invocations("gatehouse-message-sender"); kicked.Bots != 1 || len(sent) != 1 || !strings.Contains(string(sent[0]), g.ID) {
		t.Errorf("sender fan-out: %+v, invocations %q", kicked, sent)
	}
	before := len(tg.Messages(fixtureBotToken))
	s.invokeJSON("MessageSenderFunction", "message-sender/task-event.json", ids, nil)
	if n := len(tg.Messages(fixtureBotToken)) - before; n != 2 {
		t.Errorf("the sender sent %d messages, want 2", n)
	}
	var done struct {
		Status string `json:"status"`
		Sent   int    `json:"sent"`
	}
	s.http("MessagesFunction", "messages/get-event.json", strings.NewReplacer(fixtureGatewayID, g.ID, "job_aaaaaaaaaaaaaaaaaaaaaaaaaa", job.JobID), 200, &done)
	if done.Status != "DONE" || done.Sent != 2 {
		t.Errorf("job after the sender: %+v", done)
	}
	s.invokeJSON("MessageSenderFunction", "message-sender/schedule-event.json", nil, &kicked)
	if kicked.Bots != 0 {
		t.Errorf("the schedule found %d bots with work after the job", kicked.Bots)
	}
	var st struct{ ID, Type, Status string }
	// The status needs the secret; without it (the fixture's own is wrong)
	// the gateway is answered as one that does not exist.
	s.http("TelegramWebhookFunction", "telegram-webhook/status-event.json", withSecret, 200, &st)
	s.http("TelegramWebhookFunction", "telegram-webhook/status-event.json", ids, 404, nil)
	if st.ID != g.ID || st.Type != "TELEGRAM_BOT" || st.Status != "CONNECTED" {
		t.Errorf("webhook status: %+v", st)
	}

	// The schedule: the coordinator fans out through Lambda's Invoke API,
	// then the worker runs the first task it sent (and, being first, every
	// segment of the sweep).
	var sweep struct {
		Sweep      string `json:"sweep"`
		Dispatched int    `json:"dispatched"`
	}
	s.invokeJSON("HealthCheckFunction", "health-check/event.json", nil, &sweep)
	tasks := aws.invocations(workerFunction)
	if sweep.Sweep == "" || sweep.Dispatched == 0 || len(tasks) != sweep.Dispatched {
		t.Fatalf("sweep %+v dispatched %d invocations of %s", sweep, len(tasks), workerFunction)
	}
	var run struct {
		Sweep    string `json:"sweep"`
		Segments []int  `json:"segments"`
		Checked  int    `json:"checked"`
		Healthy  int    `json:"healthy"`
		Samples  int    `json:"samples"`
		Errors   int    `json:"errors"`
	}
	// The worker's fixture is one of the tasks the coordinator sent (its
	// segment 0), given this sweep's id and segment count.
	task := s.fixture("health-worker/event.json", strings.NewReplacer(
		"2025-05-01T10:05:00.000Z", sweep.Sweep, `"segments": 32`, fmt.Sprintf(`"segments": %d`, len(tasks))))
	var fromFixture map[string]any
	sentIt := false
	for _, sent := range tasks {
		var m map[string]any
		sentIt = sentIt || json.Unmarshal(task, &fromFixture) == nil && json.Unmarshal(sent, &m) == nil && reflect.DeepEqual(fromFixture, m)
	}
	if !sentIt {
		t.Fatalf("the worker's fixture %s is none of the tasks the coordinator sent", task)
	}
	s.invokePayload("HealthWorkerFunction", task, &run)
	if run.Sweep != sweep.Sweep || len(run.Segments) != len(tasks) || run.Checked != 1 || run.Healthy != 1 || run.Samples != 1 || run.Errors != 0 {
		t.Errorf("worker run: %+v", run)
	}
	var history struct {
		Items []struct {
			Result  string `json:"result"`
			Healthy bool   `json:"healthy"`
		} `json:"items"`
	}
	s.http("HealthHistoryFunction", "health-history/event.json", ids, 200, &history)
	if len(history.Items) != 1 || !history.Items[0].Healthy || history.Items[0].Result != "ok" {
		t.Errorf("health history: %+v", history)
	}

	// A dry run of the key rotation: it reads and decrypts the one gateway
	// and writes nothing.
	var rot struct {
		DryRun, Complete                 bool
		Scanned, Reencrypted, Unreadable int
	}
	s.invokeJSON("RotateCredentialsFunction", "rotate-credentials/event.json", nil, &rot)
	if !rot.DryRun || !rot.Complete || rot.Scanned != 1 || rot.Reencrypted != 1 || rot.Unreadable != 0 {
		t.Errorf("rotate dry run: %+v", rot)
	}

	var audit struct {
		Items []struct{ Action string } `json:"items"`
	}
	s.http("GatewayAuditFunction", "gateway-audit/event.json", ids, 200, &audit)
	if len(audit.Items) < 4 || audit.Items[len(audit.Items)-1].Action != "gateway.created" {
		t.Errorf("audit: %+v", audit)
	}
	s.http("DeleteGatewayFunction", "delete-gateway/event.json", ids, 204, nil)
	s.http("GetGatewayFunction", "get-gateway/event.json", ids, 404, nil)

	s.checkCoverage()
}

// fixture reads functions/<rel> with its placeholders replaced.
func (s *suite) fixture(rel string, r *strings.Replacer) []byte {
	s.t.Helper()
	fn, file, _ := strings.Cut(rel, "/")
	data, err := os.ReadFile(filepath.Join(s.root, "functions", fn, "testdata", file))
	if err != nil {
		s.t.Fatalf("fixture: %v", err)
	}
	s.used[rel] = true
	if r != nil {
		data = []byte(r.Replace(string(data)))
	}
	return data
}

// emulator returns the running emulator of a function (its output is
// printed when the test fails, or always with GATEHOUSE_RIE_LOGS=1), starting it (and so
// its cold start) on first use.
func (s *suite) emulator(id string) *rie.Emulator {
	s.t.Helper()
	if e := s.emulators[id]; e != nil {
		return e
	}
	f, ok := s.functions[id]
	if !ok {
		s.t.Fatalf("template.yaml has no function %s", id)
	}
	bootstrap := filepath.Join(s.bin, f.Dir)
	checkELF(s.t, bootstrap, s.arch)
	log := &bytes.Buffer{}
	e, err := rie.Start(context.Background(), rie.Options{
		Bootstrap: bootstrap, Arch: s.arch, Name: id,
		Env: f.Env, Timeout: f.Timeout, MemoryMB: f.MemoryMB, Log: &lockedWriter{w: log},
	})
	if err != nil {
		s.t.Fatalf("start %s: %v", id, err)
	}
	s.emulators[id], s.logs[id] = e, log
	return e
}

// checkELF fails the test unless file is a static linux executable of
// goarch, as Lambda's provided.al2023 runtime needs.
func checkELF(t *testing.T, file, goarch string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatalf("bootstrap %s: %v", file, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64}[goarch]
	if f.Machine != want || f.OSABI != elf.ELFOSABI_NONE || f.Type != elf.ET_EXEC {
		t.Fatalf("bootstrap %s is %v/%v/%v, want a static %v executable", file, f.Machine, f.OSABI, f.Type, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("bootstrap %s is dynamically linked", file)
		}
	}
}

// invokePayload invokes function id with payload and decodes its result.
func (s *suite) invokePayload(id string, payload []byte, out any) {
	s.t.Helper()
	s.invoked[id] = true
	ctx, cancel := context.WithTimeout(context.Background(), s.functions[id].Timeout+30*time.Second)
	defer cancel()
	status, body, err := s.emulator(id).Invoke(ctx, payload)
	if err != nil {
		s.t.Fatalf("%s: %v", id, err)
	}
	if status != http.StatusOK {
		s.t.Fatalf("%s: the emulator answered %d: %s", id, status, body)
	}
	if err := rie.FunctionError(body); err != nil {
		s.t.Fatalf("%s: %v", id, err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("%s: decode %s: %v", id, body, err)
		}
	}
}

func (s *suite) invokeJSON(id, rel string, r *strings.Replacer, out any) {
	s.t.Helper()
	s.invokePayload(id, s.fixture(rel, r), out)
}

// http invokes function id with an API Gateway event fixture, checks the
// response's status and checks it against api/openapi.json, and decodes its
// body into out.
func (s *suite) http(id, rel string, r *strings.Replacer, status int, out any) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	payload := s.fixture(rel, r)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		s.t.Fatalf("%s: %v", rel, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	s.invokePayload(id, payload, &resp)
	if resp.StatusCode != status {
		s.t.Fatalf("%s with %s: status %d, want %d: %s", id, rel, resp.StatusCode, status, resp.Body)
	}
	method, path, _ := strings.Cut(ev.RouteKey, " ")
	if err := s.contract.CheckEvent(method, path, resp); err != nil {
		s.t.Errorf("%s: %v", id, err)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp.Body), out); err != nil {
			s.t.Fatalf("%s: decode %s: %v", id, resp.Body, err)
		}
	}
	return resp
}

// checkCoverage: every function of the template was invoked, every
// function folder has fixtures, and every fixture was used.
func (s *suite) checkCoverage() {
	s.t.Helper()
	for id := range s.functions {
		if !s.invoked[id] {
			s.t.Errorf("%s (functions/%s) was not invoked under the emulator", id, s.functions[id].Dir)
		}
	}
	dirs, err := os.ReadDir(filepath.Join(s.root, "functions"))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue // e.g. functions/permissions.json
		}
		files, _ := filepath.Glob(filepath.Join(s.root, "functions", d.Name(), "testdata", "*.json"))
		if len(files) == 0 {
			s.t.Errorf("functions/%s has no testdata/*.json event fixture", d.Name())
		}
		for _, f := range files {
			if rel := d.Name() + "/" + filepath.Base(f); !s.used[rel] {
				s.t.Errorf("fixture functions/%s/testdata/%s was not used", d.Name(), filepath.Base(f))
			}
		}
	}
}

// awsStandIn answers the two AWS APIs the health check calls besides
// DynamoDB and KMS: Lambda's Invoke (recording each asynchronous
// invocation) and EventBridge's PutEvents.
type awsStandIn struct {
	mu      sync.Mutex
	invokes map[string][][]byte
	puts    []string // PutEvents bodies
}

func (a *awsStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if fn, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/"); ok && strings.HasSuffix(fn, "/invocations") {
		if r.Header.Get("X-Amz-Invocation-Type") != "Event" {
			http.Error(w, `{"message":"only asynchronous invocations are expected"}`, http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		if a.invokes == nil {
			a.invokes = map[string][][]byte{}
		}
		name := strings.TrimSuffix(fn, "/invocations")
		a.invokes[name] = append(a.invokes[name], body)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents" {
		a.mu.Lock()
		a.puts = append(a.puts, string(body))
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"Entries":[{"EventId":"11111111-2222-3333-4444-555555555555"}],"FailedEntryCount":0}`)
		return
	}
	http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
}

// events returns the bodies of the PutEvents calls.
func (a *awsStandIn) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.puts)
}

func (a *awsStandIn) invocations(fn string) [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.invokes[fn])
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
