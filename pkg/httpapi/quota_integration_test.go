package httpapi_test

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
)

// withQuota rebuilds h's handlers over a store that allows quota gateways
// per owner, as create-gateway runs with GATEWAY_QUOTA_PER_OWNER.
func (h *harness) withQuota(quota int) {
	h.t.Helper()
	svc := gateway.NewService(dynamo.New(h.ddb, h.table, dynamo.WithGatewayQuota(quota)), h.sealer)
	cfg := bootstrap.Config{TelegramBaseURL: h.tgURL, AllowPrivateNetworks: true, PublicURL: "https://gatehouse.example.com"}
	life := lifecycle.New(svc, providers.Registry(cfg), lifecycle.WithPublicURL(cfg.PublicURL), lifecycle.WithAllowPrivateNetworks(true))
	h.handlers = httpapi.New(life, httpapi.WithLogger(h.log)).Handlers()
}

// count is owner's gateway count as its counter item holds it, -1 when
// there is none.
func (h *harness) count(ownerKey string) int {
	h.t.Helper()
	out, err := h.ddb.GetItem(h.t.Context(), &dynamodb.GetItemInput{TableName: aws.String(h.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "QUOTA#" + ownerKey}, "sk": &types.AttributeValueMemberS{Value: "GATEWAYS"}}})
	if err != nil {
		h.t.Fatal(err)
	}
	n, ok := out.Item["gateways"].(*types.AttributeValueMemberN)
	if !ok {
		return -1
	}
	v, _ := strconv.Atoi(n.Value)
	return v
}

// createAll sends n creates by c at once and returns their answers.
func (h *harness) createAll(c caller, n int) []resp {
	var wg sync.WaitGroup
	out := make([]resp, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = h.do(c, req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("bot " + strconv.Itoa(i))})
		}()
	}
	wg.Wait()
	return out
}

// wantQuota checks that exactly want of rs are 201 and the others the
// quota's 409 problem naming the limit.
func wantQuota(t *testing.T, rs []resp, want, quota int) {
	t.Helper()
	created := 0
	for _, r := range rs {
		if r.status == http.StatusCreated {
			created++
			continue
		}
		p := problem(t, r, http.StatusConflict)
		if p.Type != edge.ProblemTypeBase+gateway.CodeQuotaExceeded || p.Title != "Gateway quota exceeded" ||
			!strings.Contains(p.Detail, strconv.Itoa(quota)+" gateways") {
			t.Errorf("problem %+v", p)
		}
	}
	if created != want {
		t.Errorf("%d of %d concurrent creates succeeded, want exactly %d", created, len(rs), want)
	}
}

// TestGatewayQuota: an owner has at most the quota's gateways (issue 16,
// item 2). Of concurrent creates beyond it exactly the quota succeed, the
// rest are 409 quota_exceeded naming the limit; a delete makes room for
// one more; organisations count apart from their members; an owner whose
// gateways predate the counter is counted on its first create.
func TestGatewayQuota(t *testing.T) {
	h := newHarness(t)
	const quota = 4
	alice, acme, bob := user("alice", "acme"), user("alice", "acme").in("acme"), user("bob")
	// bob's three gateways are made before any quota: no counter.
	for i := range 3 {
		h.create(bob, telegramBody("old "+strconv.Itoa(i)))
	}
	if n := h.count("USER#bob"); n != -1 {
		t.Fatalf("a counter without a quota: %d", n)
	}
	h.withQuota(quota)

	start := time.Now()
	wantQuota(t, h.createAll(alice, 7), quota, quota)
	t.Logf("7 concurrent creates at a quota of %d: answered in %v", quota, time.Since(start).Round(time.Millisecond))
	if n := h.count("USER#alice"); n != quota {
		t.Errorf("alice's count %d, want %d", n, quota)
	}
	wantQuota(t, h.createAll(acme, 2), 2, quota)
	wantQuota(t, h.createAll(bob, 3), 1, quota)
	if n := h.count("USER#bob"); n != quota {
		t.Errorf("bob's count %d, want %d (three before the counter, one since)", n, quota)
	}

	r := h.do(alice, req{fn: httpapi.FnListGateways, method: "GET"})
	var page struct {
		Items []httpapi.GatewayJSON `json:"items"`
	}
	r.decode(t, &page)
	if len(page.Items) != quota {
		t.Fatalf("alice has %d gateways, want %d", len(page.Items), quota)
	}
	if r := h.do(alice, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: page.Items[0].ID}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if n := h.count("USER#alice"); n != quota-1 {
		t.Errorf("after a delete alice's count is %d, want %d", n, quota-1)
	}
	wantQuota(t, h.createAll(alice, 3), 1, quota)
	if n := h.count("USER#alice"); n != quota {
		t.Errorf("alice's count %d, want %d", n, quota)
	}
	// Deleting gateways whose owner has no counter leaves none behind.
	h.handlers = httpapi.New(h.life, httpapi.WithLogger(slog.New(slog.NewJSONHandler(h.logs, nil)))).Handlers()
	carol := user("carol")
	g := h.create(carol, telegramBody("carol's"))
	if r := h.do(carol, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: g.ID}); r.status != http.StatusNoContent {
		t.Fatalf("delete without a counter: %d %s", r.status, r.body)
	}
	if n := h.count("USER#carol"); n != -1 {
		t.Errorf("a delete made a counter of %d", n)
	}
}
