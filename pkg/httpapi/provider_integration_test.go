package httpapi_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

type eventT = events.APIGatewayV2HTTPRequest

func (h *harness) action(c caller, id, action, body string) resp {
	h.t.Helper()
	ev := req{fn: httpapi.FnGatewayAction, method: "POST", id: id, body: body}
	return h.doWith(c, ev, func(e *eventT) { e.PathParameters["action"] = action })
}

func (h *harness) setStatus(c caller, id, status string) resp {
	h.t.Helper()
	return h.do(c, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: id, body: `{"status":"` + status + `"}`})
}

func (h *harness) test(c caller, id string) httpapi.TestResultJSON {
	h.t.Helper()
	r := h.do(c, req{fn: httpapi.FnTestGateway, method: "POST", id: id})
	if r.status != 200 {
		h.t.Fatalf("test: %d %s", r.status, r.body)
	}
	var out httpapi.TestResultJSON
	r.decode(h.t, &out)
	return out
}

func TestTelegramLifecycle(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, telegramBody("bot"))
	if g.CredentialInfo["botUsername"] == nil {
		t.Errorf("credentialInfo lacks the username learnt from getMe: %v", g.CredentialInfo)
	}
	if len(h.tg.Calls("getMe")) != 1 {
		t.Errorf("create made %d getMe calls, want 1", len(h.tg.Calls("getMe")))
	}

	res := h.test(alice, g.ID)
	if !res.Success || res.Result != "ok" || res.Gateway.LastCheckedAt == nil {
		t.Errorf("test: %+v", res)
	}

	// Actions that need a connection are refused before connecting.
	problem(t, h.action(alice, g.ID, "sendMessage", `{"chat_id":42,"text":"hi"}`), 409)

	r := h.setStatus(alice, g.ID, "CONNECTED")
	if r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	var connected httpapi.GatewayJSON
	r.decode(t, &connected)
	if connected.Status != gateway.StatusConnected || connected.LastConnectedAt == nil {
		t.Errorf("after connect: %+v", connected)
	}
	wh, _ := h.tg.Webhook(botToken)
	if want := "https://gatehouse.example.com/api/webhooks/telegram/" + g.ID; wh.URL != want {
		t.Errorf("webhook url = %q, want %q", wh.URL, want)
	}
	if len(wh.SecretToken) < 32 {
		t.Fatalf("setWebhook secret_token %q is too short", wh.SecretToken)
	}
	stored, err := h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(wh.SecretToken))
	if string(stored.WebhookSecretHash) != string(sum[:]) {
		t.Errorf("stored webhook secret hash does not match the secret Telegram got")
	}
	if strings.Contains(string(r.body), wh.SecretToken) {
		t.Errorf("the webhook secret appears in a response")
	}

	r = h.action(alice, g.ID, "sendMessage", `{"chat_id":42,"text":"hello from gatehouse","disable_notification":true}`)
	if r.status != 200 {
		t.Fatalf("sendMessage: %d %s", r.status, r.body)
	}
	if msgs := h.tg.Messages(botToken); len(msgs) != 1 || msgs[0].Text != "hello from gatehouse" || msgs[0].ChatID != "42" {
		t.Errorf("stand-in got messages %+v", msgs)
	}
	r = h.action(alice, g.ID, "getWebhookInfo", "")
	if r.status != 200 || !strings.Contains(string(r.body), g.ID) {
		t.Errorf("getWebhookInfo: %d %s", r.status, r.body)
	}
	problem(t, h.action(alice, g.ID, "launchRockets", `{}`), 404)
	p := problem(t, h.action(alice, g.ID, "sendMessage", `{"text":5,"colour":"red"}`), 400)
	if len(p.Errors) < 2 {
		t.Errorf("bad params: %+v", p)
	}
	problem(t, h.action(user("mallory"), g.ID, "sendMessage", `{"chat_id":1,"text":"x"}`), 404)

	// Telegram refusing what the caller asked for is the caller's 4xx, and
	// the gateway stays CONNECTED.
	h.tg.Fail(telegramtest.Failure{Method: "sendMessage", ErrorCode: 400, Description: "Bad Request: chat not found"})
	p = problem(t, h.action(alice, g.ID, "sendMessage", `{"chat_id":7,"text":"x"}`), 422)
	if p.Type != edge.ProblemTypeBase+gateway.CodeUpstreamRefused || !strings.Contains(p.Detail, "chat not found") {
		t.Errorf("refused sendMessage: %+v", p)
	}
	var after httpapi.GatewayJSON
	h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID}).decode(t, &after)
	if after.Status != gateway.StatusConnected {
		t.Errorf("after a refused sendMessage the gateway is %s", after.Status)
	}

	// Telegram rate-limits sendMessage: 429 with Retry-After, after retries.
	h.tg.Fail(telegramtest.Failure{Method: "sendMessage", ErrorCode: 429, RetryAfter: 1, Times: -1})
	r = h.action(alice, g.ID, "sendMessage", `{"chat_id":42,"text":"again"}`)
	problem(t, r, 429)
	if r.headers["Retry-After"] != "1" {
		t.Errorf("Retry-After = %q", r.headers["Retry-After"])
	}
	h.tg.Reset()
	h.tg.SetWebhook(botToken, wh)

	r = h.setStatus(alice, g.ID, "DISCONNECTED")
	var disconnected httpapi.GatewayJSON
	r.decode(t, &disconnected)
	if r.status != 200 || disconnected.Status != gateway.StatusDisconnected {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	if len(h.tg.Calls("deleteWebhook")) != 1 {
		t.Errorf("disconnect made %d deleteWebhook calls", len(h.tg.Calls("deleteWebhook")))
	}
	stored, _ = h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, g.ID)
	if stored.WebhookSecretHash != nil {
		t.Errorf("the webhook secret hash survived disconnect")
	}

	// Every transition is in the audit trail.
	r = h.do(alice, req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID, query: map[string]string{"limit": "100"}})
	var audit struct{ Items []httpapi.AuditEventJSON }
	r.decode(t, &audit)
	var transitions []string
	for i := len(audit.Items) - 1; i >= 0; i-- {
		if e := audit.Items[i]; e.Details["to"] != "" {
			transitions = append(transitions, e.Details["to"])
		}
	}
	if got := strings.Join(transitions, ">"); got != "CONNECTING>CONNECTED>DISCONNECTED" {
		t.Errorf("transitions = %s", got)
	}
	problem(t, h.setStatus(alice, g.ID, "ERROR"), 400)
}

func TestTelegramRefusals(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	before := len(h.scan())

	// Telegram refuses the token: the create is refused and nothing stored.
	h.tg.Fail(telegramtest.Failure{Method: "getMe", ErrorCode: 401})
	p := problem(t, h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("bad")}), 400)
	if len(p.Errors) != 1 || p.Errors[0].Field != "credentials.botToken" || !strings.Contains(p.Errors[0].Message, "rejected") {
		t.Errorf("refusal: %+v", p)
	}
	if after := len(h.scan()); after != before {
		t.Errorf("a refused create stored %d items", after-before)
	}

	// Telegram is down: the create goes through, with the doubt recorded.
	h.tg.Fail(telegramtest.Failure{Method: "getMe", ErrorCode: 502, Times: -1})
	g := h.create(alice, telegramBody("doubt"))
	if g.LastError == nil || !strings.Contains(*g.LastError, "could not be verified") {
		t.Errorf("inconclusive validation not recorded: %v", g.LastError)
	}
	res := h.test(alice, g.ID)
	if res.Success || res.Result != "unreachable" || res.Gateway.Status != gateway.StatusError {
		t.Errorf("test while Telegram is down: %+v", res)
	}
	h.tg.Reset()

	// Connect fails on an invalid token: 422, and the gateway is in ERROR.
	h.tg.Fail(telegramtest.Failure{Method: "setWebhook", ErrorCode: 401})
	r := h.setStatus(alice, g.ID, "CONNECTED")
	problem(t, r, 422)
	got, _ := h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, g.ID)
	if got.Status != gateway.StatusError || got.LastError == "" || got.LastErrorAt == nil {
		t.Errorf("after a failed connect: %s %q", got.Status, got.LastError)
	}
	// A passing test recovers a gateway that never connected to DISCONNECTED.
	if res := h.test(alice, g.ID); !res.Success || res.Gateway.Status != gateway.StatusDisconnected {
		t.Errorf("recovery: %+v", res)
	}

	// Deleting a connected bot removes its webhook.
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	if r := h.do(alice, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: g.ID}); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if wh, _ := h.tg.Webhook(botToken); wh.URL != "" {
		t.Errorf("webhook %q still registered after delete", wh.URL)
	}
}

func TestAILifecycle(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	body := `{"name":"gpt","type":"AI","credentials":{"provider":"openai","apiKey":"` + apiKey + `","baseUrl":"` + h.aiURL + `","model":"gpt-4o-mini"}}`
	g := h.create(alice, body)
	if g.LastError != nil {
		t.Errorf("validation against the stand-in failed: %s", *g.LastError)
	}
	for _, rq := range h.openai.Requests() {
		if rq.Method == "POST" {
			t.Errorf("validation made a paid call: %s %s", rq.Method, rq.Path)
		}
	}
	if res := h.test(alice, g.ID); !res.Success || res.Result != "ok" {
		t.Errorf("test: %+v", res)
	}
	problem(t, h.action(alice, g.ID, "chat", `{"messages":[{"role":"user","content":"hi"}]}`), 409)
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	r := h.action(alice, g.ID, "chat", `{"messages":[{"role":"user","content":"Say hello"}],"maxTokens":50}`)
	if r.status != 200 {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	var chat struct {
		Result struct {
			Text  string `json:"text"`
			Model string `json:"model"`
			Usage struct {
				InputTokens  int `json:"inputTokens"`
				OutputTokens int `json:"outputTokens"`
			} `json:"usage"`
		} `json:"result"`
	}
	r.decode(t, &chat)
	if chat.Result.Text == "" || chat.Result.Model == "" || chat.Result.Usage.OutputTokens == 0 {
		t.Errorf("chat result %s", r.body)
	}
	if r := h.action(alice, g.ID, "listModels", ""); r.status != 200 || !strings.Contains(string(r.body), "gpt") {
		t.Errorf("listModels: %d %s", r.status, r.body)
	}
	// The key is revoked: the chat is refused as 422 and the gateway is in ERROR.
	h.openai.Fail(aitest.Failure{Status: 401, Times: -1})
	problem(t, h.action(alice, g.ID, "chat", `{"messages":[{"role":"user","content":"hi"}]}`), 422)
	got, _ := h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, g.ID)
	if got.Status != gateway.StatusError {
		t.Errorf("status after a refused key: %s", got.Status)
	}
}

func TestProvidersRoute(t *testing.T) {
	h := newHarness(t)
	r := h.do(user("alice"), req{fn: httpapi.FnProviders, method: "GET"})
	if r.status != 200 {
		t.Fatalf("providers: %d %s", r.status, r.body)
	}
	var out struct {
		Types []struct {
			Type        string `json:"type"`
			Credentials []struct {
				Name   string `json:"name"`
				Secret bool   `json:"secret"`
			} `json:"credentialFields"`
			Actions []struct {
				Name string `json:"name"`
			} `json:"actions"`
			AIProviders []struct {
				Name           string   `json:"name"`
				DefaultBaseURL string   `json:"defaultBaseUrl"`
				ExampleModels  []string `json:"exampleModels"`
			} `json:"aiProviders"`
		} `json:"types"`
	}
	r.decode(t, &out)
	if len(out.Types) != 3 {
		t.Fatalf("%d types", len(out.Types))
	}
	for _, ty := range out.Types {
		if len(ty.Credentials) == 0 || len(ty.Actions) == 0 {
			t.Errorf("%s: fields %v actions %v", ty.Type, ty.Credentials, ty.Actions)
		}
		if ty.Type == "AI" {
			if len(ty.AIProviders) != 8 {
				t.Errorf("%d AI providers", len(ty.AIProviders))
			}
			for _, p := range ty.AIProviders {
				if p.DefaultBaseURL == "" || len(p.ExampleModels) == 0 {
					t.Errorf("AI provider %+v lacks defaults", p)
				}
			}
		}
	}
}

// TestSSRFAtCreate runs with private networks forbidden, as in AWS.
func TestSSRFAtCreate(t *testing.T) {
	h := newHarness(t)
	permissive := h.handlers
	alice := user("alice")
	// Stored while private networks were allowed (as under make run).
	stored := h.create(alice, `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"`+apiKey+`","baseUrl":"`+h.aiURL+`"}}`)

	strict := lifecycle.New(h.svc, providers.Registry(bootstrap.Config{}), lifecycle.WithAllowPrivateNetworks(false))
	h.handlers = httpapi.New(strict, httpapi.WithLogger(h.log)).Handlers()
	defer func() { h.handlers = permissive }()
	before := len(h.scan())
	for _, tc := range []struct{ body, field string }{
		{`{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-123456789012","baseUrl":"http://127.0.0.1:11434/v1"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://169.254.169.254/latest"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://[::1]:11434"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://localhost:11434"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://10.1.2.3/hook"}}`, "credentials.url"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://192.168.0.10/hook"}}`, "credentials.url"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://100.64.0.1/hook"}}`, "credentials.url"},
		// Other IPv4 spellings of private addresses, and ports outside
		// OUTBOUND_PORTS (80, 443, 11434 by default).
		{`{"name":"a","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://2130706433:11434"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://0x7f.1:11434"}}`, "credentials.baseUrl"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://0251.0376.0251.0376/hook"}}`, "credentials.url"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://[::ffff:0:7f00:1]/hook"}}`, "credentials.url"},
		{`{"name":"a","type":"WEBHOOK","credentials":{"url":"https://hooks.example.com:6379/hook"}}`, "credentials.url"},
		{`{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-123456789012","baseUrl":"https://api.example.com:8080/v1"}}`, "credentials.baseUrl"},
	} {
		p := problem(t, h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", body: tc.body}), 400)
		if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: %+v", tc.body, p.Errors)
		}
	}
	if after := len(h.scan()); after != before {
		t.Errorf("refused creates stored %d items", after-before)
	}
	// A stored URL is checked again at dial time: the test reports the
	// refusal as unreachable, with a clear message.
	var res httpapi.TestResultJSON
	r := h.do(alice, req{fn: httpapi.FnTestGateway, method: "POST", id: stored.ID})
	r.decode(t, &res)
	if res.Result != "unreachable" || !strings.Contains(res.Error, "not allowed") {
		t.Errorf("test of a private host: %+v", res.TestResult)
	}
	if n := len(h.openai.Requests()); n != 1 {
		t.Errorf("the stand-in got %d requests; only the permissive create's validation should reach it", n)
	}
}
