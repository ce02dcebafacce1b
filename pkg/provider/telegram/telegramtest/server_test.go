package telegramtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const token = "555555:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

// TestRequestForms checks the ways a standalone server is called (curl with
// a query string or a form, as well as JSON) and Telegram's answers to bad
// paths and tokens.
func TestRequestForms(t *testing.T) {
	s := NewServer(Options{AcceptAnyToken: true})
	srv := httptest.NewServer(s)
	defer srv.Close()

	tests := []struct {
		name       string
		do         func() (*http.Response, error)
		wantStatus int
		wantBody   string
	}{
		{"getMe by GET", func() (*http.Response, error) { return http.Get(srv.URL + "/bot" + token + "/getMe") },
			200, `"username":"test_555555_bot"`},
		{"method names are case-insensitive", func() (*http.Response, error) { return http.Get(srv.URL + "/bot" + token + "/GETME") },
			200, `"is_bot":true`},
		{"sendMessage by query", func() (*http.Response, error) {
			return http.Get(srv.URL + "/bot" + token + "/sendMessage?chat_id=12&text=hi")
		}, 200, `"text":"hi"`},
		{"sendMessage by form", func() (*http.Response, error) {
			return http.PostForm(srv.URL+"/bot"+token+"/sendMessage", url.Values{"chat_id": {"-100"}, "text": {"yo"}})
		}, 200, `"type":"supergroup"`},
		{"setWebhook by form with a JSON list", func() (*http.Response, error) {
			return http.PostForm(srv.URL+"/bot"+token+"/setWebhook", url.Values{"url": {"https://x.example/h"}, "allowed_updates": {`["message"]`}, "secret_token": {"abc"}})
		}, 200, `"description":"Webhook was set"`},
		{"bad secret", func() (*http.Response, error) {
			return http.Post(srv.URL+"/bot"+token+"/setWebhook", "application/json", strings.NewReader(`{"url":"https://x.example/h","secret_token":"a b"}`))
		}, 400, `unallowed characters`},
		{"token of the wrong shape", func() (*http.Response, error) { return http.Get(srv.URL + "/botnope/getMe") },
			404, `{"ok":false,"error_code":404,"description":"Not Found"}`},
		{"unknown method", func() (*http.Response, error) { return http.Get(srv.URL + "/bot" + token + "/fly") },
			404, `"error_code":404`},
		{"bad JSON", func() (*http.Response, error) {
			return http.Post(srv.URL+"/bot"+token+"/getMe", "application/json", strings.NewReader(`{`))
		}, 400, `"error_code":400`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
	wh, _ := s.Webhook(token)
	if wh.URL != "https://x.example/h" || len(wh.AllowedUpdates) != 1 || wh.SecretToken != "abc" {
		t.Errorf("webhook %+v", wh)
	}
	if got := len(s.Messages(token)); got != 2 {
		t.Errorf("%d messages recorded, want 2", got)
	}
}

func TestUnknownTokenIsUnauthorized(t *testing.T) {
	s := NewServer(Options{Bots: []Bot{{Token: token}}})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bot999999:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe", nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 401 || body["description"] != "Unauthorized" {
		t.Errorf("got %d %v, want 401 Unauthorized", rec.Code, body)
	}
}
