package ai_test

import (
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

const faultKey = "sk-fault-0123456789abcdefSECRET"

// wrongShapes are, per wire format, valid JSON whose model list and chat
// answer fields have the wrong type, so both listModels and chat fail to
// read them.
var wrongShapes = map[ai.Format]string{
	ai.FormatOpenAI:    `{"object":"list","data":"gpt-4o-mini","choices":{"message":"hi"}}`,
	ai.FormatAnthropic: `{"data":{"id":"claude"},"content":"hi","stop_reason":"end_turn"}`,
	ai.FormatGemini:    `{"models":"gemini-2.0-flash","candidates":{"content":"hi"}}`,
	ai.FormatOllama:    `{"models":{"name":"llama3.2"},"message":"hi","done":true}`,
}

// TestFaults points every vendor, through its base URL override, at a
// server that hangs, resets, answers garbage, answers 200 with JSON that
// is broken, too large, of the wrong shape or an empty object (another
// JSON API behind a wrong base URL), trickles its body, or closes without
// answering, and runs the key check, the connection test, connect and
// every action against each.
func TestFaults(t *testing.T) {
	// The stand-in listens on 127.0.0.1, which the guard otherwise refuses;
	// every dial still goes through it, as in production.
	guard := ssrf.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	formatSeen := map[ai.Format]bool{}
	for _, v := range ai.Vendors() {
		t.Run(v.Name, func(t *testing.T) {
			var key string
			if v.RequiresAPIKey {
				key = faultKey
			}
			// The vendor's own version path (/v1, /openai/v1), as a
			// proxy in front of the vendor would be configured.
			def, err := url.Parse(v.DefaultBaseURL)
			if err != nil {
				t.Fatal(err)
			}
			bodies := []faulttest.Body{
				{Name: "broken", Body: faulttest.BrokenJSON},
				{Name: "wrong shape", Body: []byte(wrongShapes[v.Format])},
				{Name: "empty object", Body: []byte(`{}`)},
			}
			// The size caps are per kind of answer (MaxModelListBytes,
			// MaxChatBytes), enforced by the shared client: one vendor per
			// wire format shows that each format's calls stop at them
			// (TestHostileModelListIsBounded measures what that costs).
			if !formatSeen[v.Format] {
				formatSeen[v.Format] = true
				bodies = append(bodies, faulttest.Body{Name: "huge", Body: faulttest.HugeJSON(8<<20 + 1024)})
			}
			faulttest.Suite{
				New: func(base string, timeout time.Duration) (provider.Provider, gateway.Credentials) {
					c := provider.NewClient(guard.Client())
					c.Timeout = timeout
					creds := gateway.Credentials{Provider: v.Name, APIKey: key, BaseURL: base + def.Path}
					return ai.New(ai.Options{Guard: guard, Client: c}), creds
				},
				Timeout: 200 * time.Millisecond,
				Bodies:  bodies,
				Calls: []faulttest.Call{
					faulttest.Validate(),
					faulttest.Test(),
					faulttest.Connect(),
					faulttest.Action("chat", `{"messages":[{"role":"user","content":"Say hi"}]}`),
					faulttest.Action("listModels", `{}`),
					faulttest.Action("validateKey", `{}`),
				},
				Secrets: []string{faultKey, faultKey[8:]},
			}.Run(t)
		})
	}
}
