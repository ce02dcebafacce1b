package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// TestMain runs the package's tests under secretscan: every log line of the
// routers the tests build (and of slog.Default), and every refusal they
// answer, is scanned for the signing keys and bearer tokens the tests make.
func TestMain(m *testing.M) { secretscan.Main(m) }

// TestPanicIsContained: a function that panics — with a bearer token and
// something stack-like in its panic value — is answered as API Gateway
// answers a failed function, 502 problem+json, with the request id and
// nothing of the panic; the log line has the panic's type and stack, not
// its text.
func TestPanicIsContained(t *testing.T) {
	key := mustKey(t)
	tok := mustMint(t, key, "alice")
	scan := secretscan.New()
	scan.Register("bearer token", tok)
	scan.Register("dev signing key", string(key))
	for _, tc := range []struct {
		name   string
		value  any
		logged string
	}{
		{"string with a token and a stack", "Bearer " + tok + " rejected\ngoroutine 3 [running]:\n\t/src/app/main.go:7", "of type string"},
		{"error with the key", errors.New("signing with " + string(key)), "of type *errors.errorString"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			routes := []template.Route{{Function: "boom", Method: "GET", Path: "/api/boom", Auth: true}}
			handlers := map[string]httpapi.Handler{"boom": func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				panic(tc.value)
			}}
			srv := NewServer(routes, handlers, key, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			r := httptest.NewRequest("GET", "/api/boom", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)

			reqID := w.Header().Get("Apigw-Requestid")
			if w.Code != http.StatusBadGateway || w.Header().Get("Content-Type") != "application/problem+json" || reqID == "" {
				t.Fatalf("answer %d %q, request id %q: want a 502 problem with a request id", w.Code, w.Header().Get("Content-Type"), reqID)
			}
			var p edge.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Instance != reqID || !strings.Contains(p.Detail, reqID) {
				t.Errorf("problem %s (%v) does not carry request id %s", w.Body, err, reqID)
			}
			body := w.Body.String()
			for _, bad := range []string{"goroutine", ".go:", "panic", "rejected", "signing with"} {
				if strings.Contains(body, bad) {
					t.Errorf("the body shows %q: %s", bad, scan.Redact(body))
				}
			}
			if leaked := scan.Find(body); len(leaked) > 0 {
				t.Errorf("the body shows secrets %v", leaked)
			}
			var failed string
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if strings.Contains(line, "handler panicked") {
					failed = line
				}
				if leaked := scan.Find(line); len(leaked) > 0 {
					t.Errorf("a log line shows secrets %v: %s", leaked, scan.Redact(line))
				}
			}
			if !strings.Contains(failed, reqID) || !strings.Contains(failed, tc.logged) || !strings.Contains(failed, "panic_test.go") {
				t.Errorf("the panic's line lacks the request id, %q or the stack: %s", tc.logged, scan.Redact(failed))
			}
			if strings.Contains(failed, "rejected") || strings.Contains(failed, "/src/app/main.go") || strings.Contains(failed, "signing with") {
				t.Errorf("the log quotes the panic's text: %s", scan.Redact(failed))
			}
		})
	}
}
