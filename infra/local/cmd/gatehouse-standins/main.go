// Command gatehouse-standins serves local stand-ins for the Telegram Bot API
// and an OpenAI-compatible AI provider, speaking their documented wire
// formats, and a webhook receiver, so that Gatehouse can be tried and tested
// end to end without the internet (`make standins`):
//
//	TELEGRAM_API_BASE_URL=http://127.0.0.1:8081 make run
//
// The Telegram stand-in (-telegram-port, 8081) accepts any well-formed bot
// token; GET /_standin/telegram/webhooks there lists each bot's registered
// webhook (URL and secret token), so a developer can post updates to
// Gatehouse with the secret Telegram would send. The AI stand-in
// (-ai-port, 8082) accepts the API key given by -ai-key.
//
// The webhook receiver (-receiver-port, 8083) plays the consumer of a
// WEBHOOK gateway, such as a route's target: it accepts a POST on any path,
// checks its Standard Webhooks signature against -receiver-secret
// (DefaultReceiverSecret unless set; give the gateway the same secret),
// answers 200, or the status a ?status=503 on the gateway's URL asks for,
// prints one line per request (webhook-id, event type, update id, whether
// the signature is valid) and lists the last 200 requests, bodies parsed,
// at GET /_standin/receiver/requests.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

func main() {
	tgPort := flag.Int("telegram-port", 8081, "port of the Telegram Bot API stand-in")
	aiPort := flag.Int("ai-port", 8082, "port of the OpenAI-compatible stand-in")
	aiKey := flag.String("ai-key", "sk-local-standin-key", "the API key the AI stand-in accepts")
	rcPort := flag.Int("receiver-port", 8083, "port of the webhook receiver")
	rcSecret := flag.String("receiver-secret", DefaultReceiverSecret, "the signing secret the webhook receiver checks signatures with")
	flag.Parse()

	rc, err := newReceiver(*rcSecret, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}

	tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgMux := http.NewServeMux()
	tgMux.HandleFunc("GET /_standin/telegram/webhooks", func(w http.ResponseWriter, r *http.Request) {
		type hook struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
		}
		var out []hook
		for _, c := range tg.Calls("setWebhook") {
			out = append(out, hook{Method: c.Method, Params: c.Params})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"setWebhookCalls": out})
	})
	tgMux.Handle("/", tg)
	ai := aitest.NewServer(aitest.OpenAI, aitest.Options{APIKey: *aiKey})

	errc := make(chan error, 3)
	serve := func(name string, port int, h http.Handler) {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- fmt.Errorf("%s: %w", name, err)
			return
		}
		go func() { errc <- http.Serve(l, h) }()
	}
	serve("telegram", *tgPort, tgMux)
	serve("ai", *aiPort, ai)
	serve("receiver", *rcPort, rc)
	secretNote := "signing secret " + *rcSecret
	if *rcSecret != DefaultReceiverSecret {
		secretNote = "signing secret from -receiver-secret"
	}
	fmt.Fprintf(os.Stderr, `Stand-ins are running.
  Telegram Bot API   http://127.0.0.1:%d   (any well-formed token; webhooks: GET /_standin/telegram/webhooks)
  OpenAI-compatible  http://127.0.0.1:%d/v1   (API key %s)
  Webhook receiver   http://127.0.0.1:%d/<any path>   (%s; requests: GET /_standin/receiver/requests)
Start Gatehouse with TELEGRAM_API_BASE_URL=http://127.0.0.1:%d make run
`, *tgPort, *aiPort, *aiKey, *rcPort, secretNote, *tgPort)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-sig:
	}
}
