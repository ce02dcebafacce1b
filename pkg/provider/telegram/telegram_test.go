package telegram

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// TestMain runs the tests under secretscan: every error they record (see
// scanned) is scanned for the bot tokens, in every common encoding.
func TestMain(m *testing.M) {
	secretscan.Register("token", token)
	secretscan.Register("tokenSecret", tokenSecret)
	secretscan.Register("unknownToken", unknownToken)
	secretscan.Main(m)
}

const (
	token        = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	tokenSecret  = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	unknownToken = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
)

var creds = gateway.Credentials{BotToken: token}

// setup returns a provider talking to a fresh stand-in that knows token.
func setup(t *testing.T) (*Provider, *telegramtest.Server) {
	t.Helper()
	fake := telegramtest.NewServer(telegramtest.Options{Bots: []telegramtest.Bot{{Token: token, Username: "gatehouse_test_bot", FirstName: "Gatehouse"}}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c := provider.NewClient(nil)
	c.Backoff = 5 * time.Millisecond
	return New(Options{BaseURL: srv.URL + "/", Client: c}), fake
}

func TestValidToken(t *testing.T) {
	tests := []struct {
		token string
		want  bool
	}{
		{token, true},
		{"1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_-", true},
		{"", false},
		{"nocolon", false},
		{"abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", false},
		{"123456789:short", false},
		{"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PAL/saw", false},
		{" " + token, false},
	}
	for _, tt := range tests {
		if got := ValidToken(tt.token); got != tt.want {
			t.Errorf("ValidToken(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestValidateCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		token     string
		fail      *telegramtest.Failure
		want      provider.Outcome
		wantCalls int
	}{
		{name: "valid", token: token, want: provider.OutcomeOK, wantCalls: 1},
		{name: "bad shape makes no call", token: "not-a-token", want: provider.OutcomeInvalidCredentials, wantCalls: 0},
		{name: "unknown token 401", token: unknownToken, want: provider.OutcomeInvalidCredentials, wantCalls: 1},
		{name: "404 for a bad token", token: token, fail: &telegramtest.Failure{Method: "getMe", ErrorCode: 404}, want: provider.OutcomeInvalidCredentials, wantCalls: 1},
		{name: "403 is not a bad token", token: token, fail: &telegramtest.Failure{Method: "getMe", ErrorCode: 403}, want: provider.OutcomeProviderError, wantCalls: 1},
		{name: "5xx is unreachable after retries", token: token, fail: &telegramtest.Failure{ErrorCode: 502, Times: -1}, want: provider.OutcomeUnreachable, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			if tt.fail != nil {
				fake.Fail(*tt.fail)
			}
			v, err := p.ValidateCredentials(context.Background(), gateway.Credentials{BotToken: tt.token})
			faulttest.Scanned(t, err)
			if got := provider.Classify(err); got != tt.want {
				t.Fatalf("outcome %q, want %q (%v)", got, tt.want, err)
			}
			if got := len(fake.Calls("")); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if tt.want == provider.OutcomeInvalidCredentials {
				var ice *provider.InvalidCredentialsError
				if !errors.As(err, &ice) || ice.Field != "credentials.botToken" {
					t.Errorf("error %v is not an InvalidCredentialsError on credentials.botToken", err)
				}
			}
			if err == nil {
				want := map[string]any{"botId": "123456789", "botUsername": "gatehouse_test_bot", "botName": "Gatehouse"}
				if fmt.Sprint(v.CredentialInfo) != fmt.Sprint(want) {
					t.Errorf("CredentialInfo = %v, want %v", v.CredentialInfo, want)
				}
			}
		})
	}
}

func TestExecute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		action     string
		params     string
		wantResult string            // substring of the result's JSON
		wantMethod string            // Bot API method the stand-in saw
		wantParams map[string]string // params the stand-in saw, as fmt.Sprint
	}{
		{name: "getMe", action: "getMe", wantResult: `"username":"gatehouse_test_bot"`, wantMethod: "getMe"},
		{name: "sendMessage", action: "sendMessage",
			params:     `{"chat_id": 4242, "text": "hello *world*", "parse_mode": "MarkdownV2", "disable_notification": true, "reply_to_message_id": 7}`,
			wantResult: `"text":"hello *world*"`, wantMethod: "sendMessage",
			wantParams: map[string]string{"chat_id": "4242", "text": "hello *world*", "parse_mode": "MarkdownV2", "disable_notification": "true", "reply_parameters": "map[message_id:7]"}},
		{name: "sendMessage to a channel", action: "sendMessage", params: `{"chat_id": "@gatehouse_news", "text": "hi"}`,
			wantResult: `"type":"channel"`, wantMethod: "sendMessage", wantParams: map[string]string{"chat_id": "@gatehouse_news"}},
		{name: "setWebhook", action: "setWebhook",
			params:     `{"url": "https://example.com/hook", "secret_token": "abc_DEF-123", "allowed_updates": ["message"], "max_connections": 10}`,
			wantResult: `{"ok":true}`, wantMethod: "setWebhook",
			wantParams: map[string]string{"url": "https://example.com/hook", "secret_token": "abc_DEF-123", "allowed_updates": "[message]", "max_connections": "10"}},
		{name: "deleteWebhook", action: "deleteWebhook", params: `{"drop_pending_updates": true}`, wantResult: `{"ok":true}`,
			wantMethod: "deleteWebhook", wantParams: map[string]string{"drop_pending_updates": "true"}},
		{name: "getWebhookInfo", action: "getWebhookInfo", wantResult: `"pending_update_count":0`, wantMethod: "getWebhookInfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			res, err := p.Execute(context.Background(), creds, nil, tt.action, json.RawMessage(tt.params))
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(res)
			if !strings.Contains(string(b), tt.wantResult) {
				t.Errorf("result %s does not contain %s", b, tt.wantResult)
			}
			calls := fake.Calls(tt.wantMethod)
			if len(calls) != 1 {
				t.Fatalf("stand-in saw %d %s calls, want 1", len(calls), tt.wantMethod)
			}
			for k, want := range tt.wantParams {
				if got := fmt.Sprint(calls[0].Params[k]); got != want {
					t.Errorf("param %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestExecuteErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		action    string
		params    string
		fail      *telegramtest.Failure
		wantType  string
		want      provider.Outcome
		wantCalls int
	}{
		{name: "unknown action", action: "banChatMember", wantType: "unsupported", want: provider.OutcomeProviderError},
		{name: "missing text", action: "sendMessage", params: `{"chat_id": 1}`, wantType: "params", want: provider.OutcomeProviderError},
		{name: "empty text", action: "sendMessage", params: `{"chat_id": 1, "text": ""}`, wantType: "params", want: provider.OutcomeProviderError},
		{name: "bad parse_mode", action: "sendMessage", params: `{"chat_id": 1, "text": "x", "parse_mode": "BBCode"}`, wantType: "params", want: provider.OutcomeProviderError},
		{name: "unknown param", action: "getMe", params: `{"verbose": true}`, wantType: "params", want: provider.OutcomeProviderError},
		{name: "chat not found", action: "sendMessage", params: `{"chat_id": "@unknown", "text": "x"}`, wantType: "api", want: provider.OutcomeProviderError, wantCalls: 1},
		{name: "blocked by user", action: "sendMessage", params: `{"chat_id": 1, "text": "x"}`, fail: &telegramtest.Failure{Method: "sendMessage", ErrorCode: 403},
			wantType: "api", want: provider.OutcomeProviderError, wantCalls: 1},
		{name: "token revoked", action: "getMe", fail: &telegramtest.Failure{ErrorCode: 401}, wantType: "api", want: provider.OutcomeInvalidCredentials, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			if tt.fail != nil {
				fake.Fail(*tt.fail)
			}
			_, err := p.Execute(context.Background(), creds, nil, tt.action, json.RawMessage(tt.params))
			faulttest.Scanned(t, err)
			var ua *provider.UnsupportedActionError
			var ip *provider.InvalidParamsError
			var ae *APIError
			got := ""
			switch {
			case errors.As(err, &ua):
				got = "unsupported"
			case errors.As(err, &ip):
				got = "params"
			case errors.As(err, &ae):
				got = "api"
			}
			if got != tt.wantType {
				t.Errorf("error %v (%T), want a %s error", err, err, tt.wantType)
			}
			if o := provider.Classify(err); o != tt.want {
				t.Errorf("outcome %q, want %q", o, tt.want)
			}
			if n := len(fake.Calls("")); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

var secretAlphabet = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func TestConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		config      string
		publicURL   string
		wantURL     string
		wantUpdates []string
		wantMaxConn string
	}{
		{name: "defaults", publicURL: "https://api.example.com", wantURL: "https://api.example.com/api/webhooks/telegram/gw_1",
			wantUpdates: DefaultAllowedUpdates, wantMaxConn: "<nil>"},
		{name: "config", config: `{"allowedUpdates": ["message", "my_chat_member"], "maxConnections": 5}`, publicURL: "https://api.example.com/",
			wantURL: "https://api.example.com/api/webhooks/telegram/gw_1", wantUpdates: []string{"message", "my_chat_member"}, wantMaxConn: "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			res, err := p.Connect(context.Background(), provider.ConnectRequest{
				GatewayID: "gw_1", Credentials: creds, Config: json.RawMessage(tt.config), PublicURL: tt.publicURL,
			})
			if err != nil {
				t.Fatal(err)
			}
			var methods []string
			for _, c := range fake.Calls("") {
				methods = append(methods, c.Method)
			}
			if want := []string{"getMe", "setWebhook", "getWebhookInfo"}; !slices.Equal(methods, want) {
				t.Errorf("calls %v, want %v", methods, want)
			}
			wh, _ := fake.Webhook(token)
			if wh.URL != tt.wantURL {
				t.Errorf("webhook URL %q, want %q", wh.URL, tt.wantURL)
			}
			if !slices.Equal(wh.AllowedUpdates, tt.wantUpdates) {
				t.Errorf("allowed_updates %v, want %v", wh.AllowedUpdates, tt.wantUpdates)
			}
			if got := fmt.Sprint(fake.Calls("setWebhook")[0].Params["max_connections"]); got != tt.wantMaxConn {
				t.Errorf("max_connections %s, want %s", got, tt.wantMaxConn)
			}
			if len(wh.SecretToken) != 43 || !secretAlphabet.MatchString(wh.SecretToken) {
				t.Errorf("secret_token %q is not 43 characters of Telegram's alphabet", wh.SecretToken)
			}
			sum := sha256.Sum256([]byte(wh.SecretToken))
			if string(res.WebhookSecretHash) != string(sum[:]) {
				t.Error("WebhookSecretHash is not the SHA-256 of the secret Telegram received")
			}
			if res.CredentialInfo["botUsername"] != "gatehouse_test_bot" || res.CredentialInfo["botId"] != "123456789" {
				t.Errorf("CredentialInfo = %v", res.CredentialInfo)
			}
			if res.Details["webhookUrl"] != tt.wantURL {
				t.Errorf("Details = %v", res.Details)
			}
			b, _ := json.Marshal(res)
			if strings.Contains(string(b), wh.SecretToken) || strings.Contains(string(b), tokenSecret) {
				t.Error("ConnectResult carries the secret token or the bot token")
			}
		})
	}
}

func TestConnectUsesAFreshSecretEachTime(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	req := provider.ConnectRequest{GatewayID: "gw_1", Credentials: creds, PublicURL: "https://api.example.com"}
	seen := map[string]bool{}
	for range 3 {
		if _, err := p.Connect(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		wh, _ := fake.Webhook(token)
		seen[wh.SecretToken] = true
	}
	if len(seen) != 3 {
		t.Errorf("%d distinct secrets in 3 connects, want 3", len(seen))
	}
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		req       provider.ConnectRequest
		fail      *telegramtest.Failure
		want      provider.Outcome
		wantField string
	}{
		{name: "unknown update type", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example", Config: json.RawMessage(`{"allowedUpdates": ["messages"]}`)},
			want: provider.OutcomeProviderError, wantField: "config.allowedUpdates"},
		{name: "config not an object", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example", Config: json.RawMessage(`[]`)},
			want: provider.OutcomeProviderError, wantField: "config"},
		{name: "max connections", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example", Config: json.RawMessage(`{"maxConnections": 101}`)},
			want: provider.OutcomeProviderError, wantField: "config.maxConnections"},
		{name: "no public URL", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds},
			want: provider.OutcomeProviderError, wantField: "publicUrl"},
		{name: "bad token", req: provider.ConnectRequest{GatewayID: "g", Credentials: gateway.Credentials{BotToken: unknownToken}, PublicURL: "https://x.example"},
			want: provider.OutcomeInvalidCredentials},
		{name: "setWebhook refused", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example"},
			fail: &telegramtest.Failure{Method: "setWebhook", ErrorCode: 400, Description: "Bad Request: bad webhook: HTTPS url must be provided for webhook"},
			want: provider.OutcomeProviderError},
		{name: "webhook not confirmed", req: provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example"},
			fail: &telegramtest.Failure{Method: "getWebhookInfo", ErrorCode: 500, Times: -1},
			want: provider.OutcomeUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			if tt.fail != nil {
				fake.Fail(*tt.fail)
			}
			res, err := p.Connect(context.Background(), tt.req)
			faulttest.Scanned(t, err)
			if got := provider.Classify(err); got != tt.want {
				t.Errorf("outcome %q, want %q (%v)", got, tt.want, err)
			}
			if res.WebhookSecretHash != nil {
				t.Error("a failed Connect returned a secret hash")
			}
			if tt.wantField != "" {
				var ip *provider.InvalidParamsError
				if !errors.As(err, &ip) || ip.Fields[0].Field != tt.wantField {
					t.Errorf("error %v, want an InvalidParamsError on %s", err, tt.wantField)
				}
			}
		})
	}
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config   string
		wantDrop string
	}{
		{``, "false"},
		{`{"dropPendingUpdates": false}`, "false"},
		{`{"dropPendingUpdates": true}`, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			if _, err := p.Connect(context.Background(), provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example"}); err != nil {
				t.Fatal(err)
			}
			fake.SetWebhook(token, telegramtest.Webhook{URL: "https://x.example/api/webhooks/telegram/g", PendingUpdateCount: 3})
			if err := p.Disconnect(context.Background(), provider.DisconnectRequest{GatewayID: "g", Credentials: creds, Config: json.RawMessage(tt.config)}); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls("deleteWebhook")
			if len(calls) != 1 {
				t.Fatalf("%d deleteWebhook calls, want 1", len(calls))
			}
			if got := fmt.Sprint(calls[0].Params["drop_pending_updates"]); got != tt.wantDrop {
				t.Errorf("drop_pending_updates = %s, want %s", got, tt.wantDrop)
			}
			wh, _ := fake.Webhook(token)
			if wh.URL != "" {
				t.Errorf("webhook still set to %q", wh.URL)
			}
		})
	}
}

func TestRetriesAndRateLimits(t *testing.T) {
	t.Parallel()
	send := json.RawMessage(`{"chat_id": 1, "text": "hi"}`)
	tests := []struct {
		name       string
		fail       telegramtest.Failure
		timeout    time.Duration
		want       provider.Outcome
		wantCalls  int
		wantWait   time.Duration
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{name: "429 retried after retry_after", fail: telegramtest.Failure{Method: "sendMessage", ErrorCode: 429, RetryAfter: 1},
			want: provider.OutcomeOK, wantCalls: 2, minElapsed: time.Second},
		{name: "429 beyond the deadline is reported", fail: telegramtest.Failure{Method: "sendMessage", ErrorCode: 429, RetryAfter: 5, Times: -1},
			timeout: time.Second, want: provider.OutcomeRateLimited, wantCalls: 1, wantWait: 5 * time.Second, maxElapsed: 500 * time.Millisecond},
		{name: "5xx retried twice then ok", fail: telegramtest.Failure{Method: "sendMessage", ErrorCode: 502, Times: 2},
			want: provider.OutcomeOK, wantCalls: 3},
		{name: "5xx three times is unreachable", fail: telegramtest.Failure{Method: "sendMessage", ErrorCode: 502, Times: 3},
			want: provider.OutcomeUnreachable, wantCalls: 3},
		{name: "400 not retried", fail: telegramtest.Failure{Method: "sendMessage", ErrorCode: 400},
			want: provider.OutcomeProviderError, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, fake := setup(t)
			if tt.timeout > 0 {
				p.client.Timeout = tt.timeout
			}
			fake.Fail(tt.fail)
			start := time.Now()
			_, err := p.Execute(context.Background(), creds, nil, "sendMessage", send)
			faulttest.Scanned(t, err)
			elapsed := time.Since(start)
			if got := provider.Classify(err); got != tt.want {
				t.Errorf("outcome %q, want %q (%v)", got, tt.want, err)
			}
			if got := len(fake.Calls("sendMessage")); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if got := provider.RetryAfter(err); got != tt.wantWait {
				t.Errorf("RetryAfter = %v, want %v", got, tt.wantWait)
			}
			if elapsed < tt.minElapsed || (tt.maxElapsed > 0 && elapsed > tt.maxElapsed) {
				t.Errorf("took %v, want between %v and %v", elapsed, tt.minElapsed, tt.maxElapsed)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	fake.SetDelay(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	h := faulttest.ScannedHealth(t, p.CheckHealth(ctx, creds, nil))
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v, want about 200ms", elapsed)
	}
	if h.Healthy || h.Outcome != provider.OutcomeUnreachable || !strings.Contains(h.Error, "timed out") {
		t.Errorf("got %+v, want unreachable: timed out", h)
	}
}

func TestCheckHealth(t *testing.T) {
	t.Parallel()
	t.Run("healthy with webhook state", func(t *testing.T) {
		t.Parallel()
		p, fake := setup(t)
		fake.SetWebhook(token, telegramtest.Webhook{URL: "https://x.example/api/webhooks/telegram/g", PendingUpdateCount: 2,
			LastErrorDate: 1700000000, LastErrorMessage: "Wrong response from the webhook: 500 Internal Server Error"})
		h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil))
		if !h.Healthy || h.Outcome != provider.OutcomeOK || h.Error != "" {
			t.Fatalf("got %+v, want healthy", h)
		}
		if h.Details["botUsername"] != "gatehouse_test_bot" || h.Details["pendingUpdateCount"] != 2 ||
			h.Details["lastWebhookError"] != "Wrong response from the webhook: 500 Internal Server Error" {
			t.Errorf("details %v", h.Details)
		}
		// The same state, typed, for the health sweep.
		want := provider.WebhookState{URL: "https://x.example/api/webhooks/telegram/g", PendingUpdateCount: 2,
			LastError: "Wrong response from the webhook: 500 Internal Server Error", LastErrorAt: time.Unix(1700000000, 0).UTC()}
		if h.Webhook == nil || *h.Webhook != want {
			t.Errorf("Webhook = %+v, want %+v", h.Webhook, want)
		}
	})
	t.Run("revoked token", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t)
		h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), gateway.Credentials{BotToken: unknownToken}, nil))
		if h.Healthy || h.Outcome != provider.OutcomeInvalidCredentials {
			t.Errorf("got %+v, want invalid_credentials", h)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		p, fake := setup(t)
		p.client.MaxRetries = 0
		fake.Fail(telegramtest.Failure{Method: "getMe", ErrorCode: 429, RetryAfter: 7})
		h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil))
		if h.Outcome != provider.OutcomeRateLimited || h.RetryAfterSeconds != 7 {
			t.Errorf("got %+v, want rate_limited with 7s", h)
		}
	})
}

// TestSecretsNeverInErrors drives every failure path and checks that no
// error text, message or health report holds the bot token, even when the
// Bot API echoes it.
func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	p.client.MaxRetries = 0
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	fake.Fail(telegramtest.Failure{Method: "getMe", ErrorCode: 400, Description: "Bad Request: token " + token + " is odd"})
	_, err := p.ValidateCredentials(context.Background(), creds)
	faulttest.Scanned(t, err)
	collect(err)
	_, err = p.ValidateCredentials(context.Background(), gateway.Credentials{BotToken: unknownToken})
	faulttest.Scanned(t, err)
	collect(err)
	_, err = p.ValidateCredentials(context.Background(), gateway.Credentials{BotToken: token + "!"})
	faulttest.Scanned(t, err)
	collect(err)
	fake.Fail(telegramtest.Failure{ErrorCode: 429, RetryAfter: 3})
	_, err = p.Execute(context.Background(), creds, nil, "sendMessage", json.RawMessage(`{"chat_id": 1, "text": "x"}`))
	faulttest.Scanned(t, err)
	collect(err)
	fake.Fail(telegramtest.Failure{ErrorCode: 502})
	_, err = p.Connect(context.Background(), provider.ConnectRequest{GatewayID: "g", Credentials: creds, PublicURL: "https://x.example"})
	faulttest.Scanned(t, err)
	collect(err)
	fake.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	h := faulttest.ScannedHealth(t, p.CheckHealth(ctx, creds, nil))
	collect(h.Err)
	fake.SetDelay(0)
	// A Bot API that cannot be reached at all.
	dead := New(Options{BaseURL: "http://127.0.0.1:1", Client: p.client})
	_, err = dead.Execute(context.Background(), creds, nil, "getMe", nil)
	faulttest.Scanned(t, err)
	collect(err)

	if len(errs) != 7 {
		t.Fatalf("collected %d errors, want 7", len(errs))
	}
	for _, err := range errs {
		texts := []string{err.Error(), provider.Message(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			texts = append(texts, e.Error())
		}
		b, _ := json.Marshal(provider.NewHealthResult(0, nil, err))
		texts = append(texts, string(b))
		for _, s := range texts {
			if strings.Contains(s, tokenSecret) {
				t.Errorf("error text leaks the token: %q", s)
			}
		}
	}
}
