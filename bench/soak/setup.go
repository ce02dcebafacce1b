package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// standin plays the outside world for the runner: the Telegram Bot API
// (telegramtest, accepting any well-formed token) and, under /v1/, an
// OpenAI-compatible API (aitest) for the AI gateways. (A WEBHOOK gateway
// would need an https endpoint the runner trusts, hence AI.)
type standin struct {
	*httptest.Server
	tg *telegramtest.Server
}

// aiKey is the one API key the AI stand-in accepts.
const aiKey = "sk-soak-standin-key-0000"

func newStandin() *standin {
	tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	mux := http.NewServeMux()
	mux.Handle("/v1/", aitest.NewServer(aitest.OpenAI, aitest.Options{APIKey: aiKey}))
	mux.Handle("/", tg)
	return &standin{Server: httptest.NewServer(mux), tg: tg}
}

// client sends the soak's requests over keep-alive connections.
type client struct {
	base string
	http *http.Client
}

// requestTimeout is above every route's own timeout (29 s at most), so a
// slow answer is the API's 504, not a transport error of ours.
const requestTimeout = 35 * time.Second

func newClient(base string, workers int) *client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The default keeps 2 idle connections per host: with more workers
	// than that, connections would be opened and closed all the time.
	t.MaxIdleConns = workers + 8
	t.MaxIdleConnsPerHost = workers + 8
	t.DisableCompression = true
	return &client{base: base, http: &http.Client{Transport: t, Timeout: requestTimeout}}
}

// call is one request.
type call struct {
	method, path string
	user         *user  // Authorization, and X-Organization-Id when the user has an org
	ifMatch      string // If-Match
	secret       string // X-Telegram-Bot-Api-Secret-Token
	body         []byte
}

// reply is a complete answer; took runs from sending the request to
// reading the last byte of the body.
type reply struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (c *client) do(ctx context.Context, k call) (reply, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, c.base+k.path, body)
	if err != nil {
		return reply{}, err
	}
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if k.user != nil {
		req.Header.Set("Authorization", "Bearer "+k.user.token)
		if k.user.org != "" {
			req.Header.Set("X-Organization-Id", k.user.org)
		}
	}
	if k.ifMatch != "" {
		req.Header.Set("If-Match", k.ifMatch)
	}
	if k.secret != "" {
		req.Header.Set(telegram.SecretHeader, k.secret)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{took: time.Since(start)}, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header, body: data, took: time.Since(start)}
	return r, err
}

// user is one identity of the soak. The last user works in organisation
// soakOrg: its gateways belong to the organisation, not to it.
type user struct {
	sub, org, token string
	gateways        []*gw
}

const soakOrg = "soak-org"

// gw is one gateway and what the workers learned about it.
type gw struct {
	id       string
	typ      string
	user     *user
	botToken string // Telegram only; never printed
	secret   string // the webhook's secret_token, when connected; never printed
	webhook  bool   // a connected Telegram gateway: it accepts updates

	mu      sync.Mutex
	version int64            // the newest version any answer showed
	nameSeq int              // renames sent
	renames map[int64]string // acknowledged renames: version → name
	reused  []int64          // versions acknowledged twice (a lost rename)

	in inboxLog
}

// seen records a version an answer showed, keeping the newest.
func (g *gw) seen(v int64) {
	g.mu.Lock()
	g.version = max(g.version, v)
	g.mu.Unlock()
}

// fleet is what the setup made.
type fleet struct {
	users    []*user
	gateways []*gw
	webhooks []*gw // the gateways that accept updates
}

// gwRole is what a gateway is for in the soak.
type gwRole int

const (
	roleTelegram gwRole = iota // a Telegram gateway with a webhook: it takes updates
	roleAI                     // an AI gateway, connected
	roleIdle                   // a Telegram gateway never connected: no webhook, not CONNECTED
)

// role gives a user's j-th gateway its role: most are Telegram gateways
// with a webhook; one in perUserLimit is an AI gateway and one a
// Telegram gateway a list filtered on CONNECTED must not show.
func role(j int) gwRole {
	switch j % perUserLimit {
	case 3:
		return roleAI
	case 4:
		return roleIdle
	default:
		return roleTelegram
	}
}

// setUp mints a token per user, then creates and connects their gateways,
// users in parallel.
func setUp(ctx context.Context, c *client, s *standin, users, gateways int) (*fleet, error) {
	f := &fleet{}
	for i := range users {
		u := &user{sub: fmt.Sprintf("soak-user-%d", i+1)}
		if i == users-1 && users > 1 {
			u.org = soakOrg
		}
		tok, err := devToken(ctx, c, u)
		if err != nil {
			return nil, err
		}
		u.token = tok
		f.users = append(f.users, u)
	}
	errs := make([]error, users)
	var wg sync.WaitGroup
	for i, u := range f.users {
		n := gateways / users
		if i < gateways%users {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				g, err := createGateway(ctx, c, s, u, i, j)
				if err != nil {
					errs[i] = err
					return
				}
				u.gateways = append(u.gateways, g)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, u := range f.users {
		for _, g := range u.gateways {
			f.gateways = append(f.gateways, g)
			if g.webhook {
				f.webhooks = append(f.webhooks, g)
			}
		}
	}
	if len(f.webhooks) == 0 {
		return nil, fmt.Errorf("no Telegram gateway with a webhook: use at least 1 gateway per user")
	}
	return f, nil
}

func devToken(ctx context.Context, c *client, u *user) (string, error) {
	orgs := []string{}
	if u.org != "" {
		orgs = append(orgs, u.org)
	}
	body, _ := json.Marshal(map[string]any{"sub": u.sub, "orgs": orgs})
	r, err := c.do(ctx, call{method: http.MethodPost, path: "/dev/token", body: body})
	if err != nil {
		return "", fmt.Errorf("POST /dev/token: %w", err)
	}
	var out struct{ Token string }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || out.Token == "" {
		return "", fmt.Errorf("POST /dev/token: %d %s", r.status, snippet(r.body))
	}
	return out.Token, nil
}

// createGateway creates the j-th gateway of user number i, and connects it
// unless its role says otherwise.
func createGateway(ctx context.Context, c *client, s *standin, u *user, i, j int) (*gw, error) {
	g := &gw{user: u, renames: map[int64]string{}}
	g.in.unacked = map[int64]string{}
	name := fmt.Sprintf("soak u%d g%d", i+1, j+1)
	var creds map[string]string
	switch role(j) {
	case roleAI:
		g.typ = "AI"
		creds = map[string]string{"provider": "openai", "apiKey": aiKey, "baseUrl": s.URL + "/v1", "model": "gpt-4o-mini"}
	default:
		g.typ = "TELEGRAM_BOT"
		g.botToken = fmt.Sprintf("%d:AAH%s", 700000000+100*i+j, randomToken(32))
		creds = map[string]string{"botToken": g.botToken}
	}
	body, _ := json.Marshal(map[string]any{"name": name, "type": g.typ, "credentials": creds})
	r, err := setupCall(ctx, c, call{method: http.MethodPost, path: "/api/gateways", user: u, body: body}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var created struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(r.body, &created); err != nil || created.ID == "" {
		return nil, fmt.Errorf("POST /api/gateways: no id in %s", snippet(r.body))
	}
	g.id, g.version = created.ID, created.Version
	if role(j) == roleIdle {
		return g, nil
	}

	r, err = setupCall(ctx, c, call{method: http.MethodPatch, path: "/api/gateways/" + g.id + "/status", user: u, body: []byte(`{"status":"CONNECTED"}`)}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var connected struct {
		Status  string `json:"status"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(r.body, &connected); err != nil || connected.Status != "CONNECTED" {
		return nil, fmt.Errorf("connect %s: %s", g.id, snippet(r.body))
	}
	g.version = connected.Version
	if g.typ != "TELEGRAM_BOT" {
		return g, nil
	}
	wh, ok := s.tg.Webhook(g.botToken)
	want := c.base + telegram.WebhookPath + g.id
	switch {
	case !ok:
		return nil, fmt.Errorf("connect %s: the Telegram stand-in does not know its bot", g.id)
	case wh.URL != want:
		return nil, fmt.Errorf("connect %s: webhook registered at %q, want %q", g.id, wh.URL, want)
	case wh.SecretToken == "":
		return nil, fmt.Errorf("connect %s: webhook registered without a secret_token", g.id)
	}
	g.secret, g.webhook = wh.SecretToken, true
	return g, nil
}

// setupCall sends k and wants status. A 429 (the per-user limit on
// credential validations) is waited out once, for at most a minute.
func setupCall(ctx context.Context, c *client, k call, want int) (reply, error) {
	for attempt := 0; ; attempt++ {
		r, err := c.do(ctx, k)
		if err != nil {
			return r, fmt.Errorf("%s %s: %w", k.method, k.path, err)
		}
		if r.status == http.StatusTooManyRequests && attempt == 0 {
			wait := time.Minute
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && s >= 0 && s < 60 {
				wait = time.Duration(s+1) * time.Second
			}
			progress("%s %s: 429, waiting %v as Retry-After says", k.method, k.path, wait)
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return r, ctx.Err()
			}
		}
		if r.status != want {
			return r, fmt.Errorf("%s %s: %d, want %d: %s", k.method, k.path, r.status, want, snippet(r.body))
		}
		return r, nil
	}
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomToken returns n characters a Bot API token's secret part allows.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

// snippet is the start of a response body for an error message. The
// API's bodies hold no secrets: problem+json, or gateways without
// credentials.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
