package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
)

// inboxReport compares what the webhook acknowledged with what the inbox
// stored.
type inboxReport struct {
	sent     int // distinct update_ids sent
	resent   int // re-deliveries sent
	acked    int // update_ids answered 200 on first delivery
	stored   int // update_ids found in the table
	lost     int // acknowledged but not stored
	dups     int // stored more than once
	corrupt  int // stored with another body or ids than were sent
	unsent   int // stored but never sent
	unacked  int // sent, not acknowledged (an error of the load), stored anyway
	samples  []string
	gateways int // Telegram gateways read
	idle     int // of them, never connected: nothing may be stored
}

func (r *inboxReport) sample(format string, args ...any) {
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, fmt.Sprintf(format, args...))
	}
}

// verifyInbox reads every Telegram gateway's stored updates from DynamoDB
// Local with pkg/dynamo's Inbox, the read path of the inbox's consumers.
func verifyInbox(ctx context.Context, client *dynamodb.Client, f *fleet) (inboxReport, error) {
	in := dynamo.NewInbox(client, table)
	var rep inboxReport
	for _, g := range f.gateways {
		if g.typ != "TELEGRAM_BOT" {
			continue
		}
		rep.gateways++
		if !g.webhook {
			rep.idle++
		}
		count := map[int64]int{}
		after := int64(-1)
		for {
			page, err := in.ListUpdates(ctx, g.id, after, dynamo.MaxLimit)
			if err != nil {
				return rep, fmt.Errorf("read the inbox of %s: %w", g.id, err)
			}
			for _, u := range page {
				count[u.UpdateID]++
				if u.GatewayID != g.id || !bytes.Equal(u.Raw, updateBody(g, u.UpdateID)) {
					rep.corrupt++
					rep.sample("gateway %s update %d: stored %q", g.id, u.UpdateID, snippet(u.Raw))
				}
				after = max(after, u.UpdateID)
			}
			if len(page) < dynamo.MaxLimit {
				break
			}
		}
		g.in.mu.Lock()
		rep.sent += int(g.in.next)
		rep.resent += g.in.resent
		rep.acked += len(g.in.acked)
		for _, id := range g.in.acked {
			if count[id] == 0 {
				rep.lost++
				rep.sample("gateway %s update %d: acknowledged, not stored", g.id, id)
			}
		}
		for id, n := range count {
			rep.stored++
			switch {
			case n > 1:
				rep.dups++
				rep.sample("gateway %s update %d: stored %d times", g.id, id, n)
			case id < 1 || id > g.in.next:
				rep.unsent++
				rep.sample("gateway %s update %d: stored, never sent", g.id, id)
			}
			if _, ok := g.in.unacked[id]; ok {
				rep.unacked++
			}
		}
		g.in.mu.Unlock()
	}
	return rep, nil
}

// renameReport checks the acknowledged renames of every gateway.
type renameReport struct {
	acked      int // renames answered 200
	reused     int // versions two renames were both acknowledged with
	audited    int // gateway.updated audit events
	unaudited  int // gateways whose audit count differs from their acks
	finalRight int // gateways whose name is their newest acknowledged rename
	gateways   int
	samples    []string
}

func (r *renameReport) sample(format string, args ...any) {
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, fmt.Sprintf(format, args...))
	}
}

// verifyRenames checks, through the API, that no acknowledged rename was
// lost: each got a version of its own, each left exactly one
// gateway.updated audit event (a 412 left none), and the newest is the
// gateway's name.
func verifyRenames(ctx context.Context, c *client, f *fleet) (renameReport, error) {
	var rep renameReport
	for _, g := range f.gateways {
		rep.gateways++
		g.mu.Lock()
		acked, reused := len(g.renames), len(g.reused)
		var newest int64 = -1
		for v := range g.renames {
			newest = max(newest, v)
		}
		want := g.renames[newest]
		g.mu.Unlock()
		rep.acked += acked
		rep.reused += reused
		if reused > 0 {
			rep.sample("gateway %s: %d renames acknowledged with a version another rename had", g.id, reused)
		}

		rp, err := c.do(ctx, call{method: http.MethodGet, path: "/api/gateways/" + g.id, user: g.user})
		if err != nil || rp.status != http.StatusOK {
			return rep, fmt.Errorf("GET /api/gateways/%s: %v %d %s", g.id, err, rp.status, snippet(rp.body))
		}
		var now struct{ Name string }
		if err := json.Unmarshal(rp.body, &now); err != nil {
			return rep, fmt.Errorf("GET /api/gateways/%s: %w", g.id, err)
		}
		if acked == 0 || now.Name == want {
			rep.finalRight++
		} else {
			rep.sample("gateway %s: named %q, newest acknowledged rename (version %d) was %q", g.id, now.Name, newest, want)
		}

		audited, err := countAudit(ctx, c, g, "gateway.updated")
		if err != nil {
			return rep, err
		}
		rep.audited += audited
		if audited != acked+reused {
			rep.unaudited++
			rep.sample("gateway %s: %d gateway.updated audit events for %d acknowledged renames", g.id, audited, acked+reused)
		}
	}
	return rep, nil
}

// countAudit counts g's audit events of action, reading every page.
func countAudit(ctx context.Context, c *client, g *gw, action string) (int, error) {
	n, cursor := 0, ""
	seen := map[string]bool{}
	for {
		path := "/api/gateways/" + g.id + "/audit?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		rp, err := c.do(ctx, call{method: http.MethodGet, path: path, user: g.user})
		if err != nil || rp.status != http.StatusOK {
			return 0, fmt.Errorf("GET /api/gateways/%s/audit: %v %d %s", g.id, err, rp.status, snippet(rp.body))
		}
		var page struct {
			Items []struct {
				ID     string `json:"id"`
				Action string `json:"action"`
			} `json:"items"`
			NextCursor *string `json:"nextCursor"`
		}
		if err := json.Unmarshal(rp.body, &page); err != nil {
			return 0, fmt.Errorf("GET /api/gateways/%s/audit: %w", g.id, err)
		}
		for _, e := range page.Items {
			if seen[e.ID] {
				return 0, fmt.Errorf("GET /api/gateways/%s/audit: event %s on two pages", g.id, e.ID)
			}
			seen[e.ID] = true
			if e.Action == action {
				n++
			}
		}
		if page.NextCursor == nil || len(page.Items) == 0 {
			return n, nil
		}
		cursor = *page.NextCursor
	}
}
