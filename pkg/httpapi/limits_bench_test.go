package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// countingDDB counts the DynamoDB requests the store and the limiter make.
type countingDDB struct {
	*dynamodb.Client
	n atomic.Int64
}

func (c *countingDDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.Client.GetItem(ctx, in, o...)
}

func (c *countingDDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.Client.Query(ctx, in, o...)
}

func (c *countingDDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.Client.TransactWriteItems(ctx, in, o...)
}

func (c *countingDDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.Client.UpdateItem(ctx, in, o...)
}

// BenchmarkTestRouteLimiter compares, in one run, POST /api/gateways/{id}/test
// without a limiter, with one that admits every request (what the limit
// costs a request it lets through), and with one that refuses every request
// (what a refused request costs), over DynamoDB Local, local-kms and a
// loopback Telegram stand-in:
//
//	GATEHOUSE_INTEGRATION=1 go test -run '^$' -bench TestRouteLimiter ./pkg/httpapi/
//
// It reports each variant's time per request, its DynamoDB requests per
// request, and its time as a ratio of the unlimited route's
// (admitted/unlimited, refused/unlimited).
func BenchmarkTestRouteLimiter(b *testing.B) {
	env := emutest.Start(b)
	ctx := context.Background()
	ddb := &countingDDB{Client: env.DynamoDBClient()}
	table := emutest.UniqueName("bench")
	if err := dynamo.EnsureTable(ctx, ddb.Client, table); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = ddb.Client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
	})
	kmsClient := env.KMSClient()
	keyID, err := envelope.EnsureKey(ctx, kmsClient, "alias/"+emutest.UniqueName("bench"))
	if err != nil {
		b.Fatal(err)
	}
	tg := httptest.NewServer(telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true}))
	b.Cleanup(tg.Close)
	svc := gateway.NewService(dynamo.New(ddb, table), envelope.New(kmsClient, keyID))
	life := lifecycle.New(svc, providers.Registry(bootstrap.Config{TelegramBaseURL: tg.URL}))
	actor := gateway.Actor{UserID: "alice"}
	g, _, err := life.Create(ctx, actor, gateway.CreateRequest{Name: "bench", Type: gateway.TypeTelegramBot,
		Credentials: gateway.Credentials{BotToken: botToken}}, "")
	if err != nil {
		b.Fatal(err)
	}
	quiet := httpapi.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", PathParameters: map[string]string{"id": g.ID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-bench",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}},
		},
	}

	// A clock that stands still keeps every request in one window, so the
	// refused variant stays refused however long the run takes.
	clock := dynamo.RateClock(fakeclock.New(time.Now().Add(time.Hour)).Now)
	variants := []struct {
		name   string
		status int
		opts   []httpapi.Option
	}{
		{"unlimited", 200, []httpapi.Option{quiet}},
		{"admitted", 200, []httpapi.Option{quiet, httpapi.WithLimiter(dynamo.NewRateLimiter(ddb, table, clock), httpapi.Limits{TestsPerMinute: 1 << 30})}},
		// The same counter as "admitted", which has used up a limit of 1.
		{"refused", 429, []httpapi.Option{quiet, httpapi.WithLimiter(dynamo.NewRateLimiter(ddb, table, clock), httpapi.Limits{TestsPerMinute: 1})}},
	}
	handlers := make([]httpapi.Handler, len(variants))
	for i, v := range variants {
		handlers[i] = httpapi.New(life, v.opts...).Handlers()[httpapi.FnTestGateway]
	}
	// The variants take turns within each iteration, so that a slower
	// moment of the machine (or of DynamoDB Local) weighs on all of them
	// alike and the ratios stay comparable.
	spent := make([]time.Duration, len(variants))
	requests := make([]int64, len(variants))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i, v := range variants {
			before, start := ddb.n.Load(), time.Now()
			out, _ := handlers[i](ctx, ev)
			spent[i] += time.Since(start)
			requests[i] += ddb.n.Load() - before
			if out.StatusCode != v.status {
				b.Fatalf("%s: status %d, want %d: %s", v.name, out.StatusCode, v.status, out.Body)
			}
		}
	}
	b.StopTimer()
	for i, v := range variants {
		b.ReportMetric(float64(spent[i].Microseconds())/float64(b.N), v.name+"-µs/req")
		b.ReportMetric(float64(requests[i])/float64(b.N), v.name+"-ddb/req")
		if i > 0 {
			b.ReportMetric(float64(spent[i])/float64(spent[0]), v.name+"/unlimited")
		}
	}
	b.ReportMetric(0, "ns/op") // the three variants together; the metrics above say more
}
