package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestMain(m *testing.M) { emutest.Main(m) }

var credentials = []byte(`{"apiKey":"sk-integration-SECRET"}`)

// countingKMS counts the calls that reach the real client.
type countingKMS struct {
	envelope.KMS
	generates, decrypts atomic.Int64
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generates.Add(1)
	return c.KMS.GenerateDataKey(ctx, in, opts...)
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypts.Add(1)
	return c.KMS.Decrypt(ctx, in, opts...)
}

// countingAdmin counts CreateKey and CreateAlias calls.
type countingAdmin struct {
	envelope.KeyAdmin
	creates atomic.Int64
}

func (c *countingAdmin) CreateKey(ctx context.Context, in *kms.CreateKeyInput, opts ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	c.creates.Add(1)
	return c.KeyAdmin.CreateKey(ctx, in, opts...)
}

// newKey provisions a key under an alias no other test uses, since all tests
// of the binary share one local-kms.
func newKey(t *testing.T, client *kms.Client) (keyID, alias string) {
	t.Helper()
	alias = emutest.UniqueName("alias/t")
	keyID, err := envelope.EnsureKey(context.Background(), client, alias)
	if err != nil {
		t.Fatalf("EnsureKey(%s): %v", alias, err)
	}
	return keyID, alias
}

func TestIntegrationEnsureKey(t *testing.T) {
	env := emutest.Start(t)
	ctx := context.Background()
	admin := &countingAdmin{KeyAdmin: env.KMSClient()}
	alias := emutest.UniqueName("alias/t")

	first, err := envelope.EnsureKey(ctx, admin, alias)
	if err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	second, err := envelope.EnsureKey(ctx, admin, alias)
	if err != nil {
		t.Fatalf("EnsureKey again: %v", err)
	}
	if first != second {
		t.Errorf("EnsureKey returned %q, then %q", first, second)
	}
	if got, want := admin.creates.Load(), int64(1); got != want {
		t.Errorf("CreateKey calls = %d, want %d", got, want)
	}

	out, err := env.KMSClient().DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
	md := out.KeyMetadata
	if got, want := aws.ToString(md.Arn), first; got != want {
		t.Errorf("alias names %q, EnsureKey returned %q", got, want)
	}
	if got, want := aws.ToString(md.Description), envelope.KeyDescription; got != want {
		t.Errorf("description = %q, want %q", got, want)
	}
	if got, want := md.KeyUsage, types.KeyUsageTypeEncryptDecrypt; got != want {
		t.Errorf("key usage = %q, want %q", got, want)
	}

	// Another alias gets another key.
	other, err := envelope.EnsureKey(ctx, admin, emutest.UniqueName("alias/t"))
	if err != nil {
		t.Fatalf("EnsureKey(other alias): %v", err)
	}
	if other == first {
		t.Error("two aliases share a key")
	}
}

func TestIntegrationRoundTrip(t *testing.T) {
	env := emutest.Start(t)
	client := env.KMSClient()
	keyID, alias := newKey(t, client)
	binding := map[string]string{"gatewayId": "gw-A", "owner": "USER#x"}

	for _, id := range []string{keyID, alias} {
		t.Run(id, func(t *testing.T) {
			e := envelope.New(client, id)
			one, err := e.Seal(context.Background(), credentials, binding)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			two, err := e.Seal(context.Background(), credentials, binding)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if bytes.Equal(one, two) {
				t.Error("two Seals of the same plaintext are equal")
			}
			// A fresh Envelope has an empty cache, so this goes to KMS.
			got, err := envelope.New(client, id).Open(context.Background(), one, binding)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, credentials) {
				t.Fatalf("Open = %q, want %q", got, credentials)
			}
			if !bytes.Contains(one, []byte(keyID)) {
				t.Errorf("blob does not name the key ARN %q", keyID)
			}
		})
	}
}

func TestIntegrationWrongBinding(t *testing.T) {
	env := emutest.Start(t)
	client := env.KMSClient()
	keyID, _ := newKey(t, client)
	sealedFor := map[string]string{"gatewayId": "A", "owner": "X"}

	tests := []struct {
		name    string
		binding map[string]string
		warm    bool // open with the right binding first, so the key is cached
	}{
		{"other gateway", map[string]string{"gatewayId": "B", "owner": "X"}, false},
		{"other gateway, key cached", map[string]string{"gatewayId": "B", "owner": "X"}, true},
		{"other owner", map[string]string{"gatewayId": "A", "owner": "Y"}, false},
		{"no binding", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := envelope.New(client, keyID)
			blob, err := e.Seal(context.Background(), credentials, sealedFor)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if tt.warm {
				if _, err := e.Open(context.Background(), blob, sealedFor); err != nil {
					t.Fatalf("Open with the right binding: %v", err)
				}
			}
			_, err = e.Open(context.Background(), blob, tt.binding)
			if got, want := gateway.ErrorCode(err), gateway.CodeCredentialsUnreadable; got != want {
				t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
			}
			var ic *types.InvalidCiphertextException
			if !errors.As(err, &ic) {
				t.Errorf("error %v does not wrap KMS's InvalidCiphertextException", err)
			}
			if got, want := gateway.ErrorMessage(err), "The stored credentials of this gateway cannot be decrypted; replace them."; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
			if bytes.Contains([]byte(err.Error()), []byte("SECRET")) {
				t.Errorf("error text contains the plaintext: %v", err)
			}
		})
	}
}

// Corrupting each part of a blob must fail as unreadable against real KMS
// too, whichever of KMS or GCM notices first.
func TestIntegrationTampered(t *testing.T) {
	env := emutest.Start(t)
	client := env.KMSClient()
	keyID, _ := newKey(t, client)
	binding := map[string]string{"gatewayId": "A", "owner": "X"}
	e := envelope.New(client, keyID, envelope.WithCache(0, 0))
	blob, err := e.Seal(context.Background(), credentials, binding)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	idEnd := 3 + len(keyID)
	edkEnd := idEnd + 2 + (int(blob[idEnd])<<8 | int(blob[idEnd+1]))
	tests := []struct {
		name string
		at   int
	}{
		{"version", 0},
		{"key id", idEnd - 1},
		{"encrypted data key", idEnd + 2 + 40},
		{"encrypted data key end", edkEnd - 1},
		{"nonce", edkEnd},
		{"ciphertext", edkEnd + 12},
		{"tag", len(blob) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := bytes.Clone(blob)
			bad[tt.at] ^= 0x01
			_, err := e.Open(context.Background(), bad, binding)
			if got, want := gateway.ErrorCode(err), gateway.CodeCredentialsUnreadable; got != want {
				t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
			}
		})
	}
}

func TestIntegrationDecryptCache(t *testing.T) {
	env := emutest.Start(t)
	client := env.KMSClient()
	keyID, _ := newKey(t, client)
	counter := &countingKMS{KMS: client}
	clk := fakeclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := envelope.New(counter, keyID, envelope.WithCache(time.Minute, 10), envelope.WithClock(clk.Now))
	binding := map[string]string{"gatewayId": "A", "owner": "X"}

	blob, err := e.Seal(context.Background(), credentials, binding)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if got, want := counter.generates.Load(), int64(1); got != want {
		t.Errorf("GenerateDataKey calls = %d, want %d", got, want)
	}

	steps := []struct {
		name    string
		advance time.Duration
		want    int64
	}{
		{"first Open asks KMS", 0, 1},
		{"second Open uses the cache", 0, 0},
		{"still cached just before the TTL", time.Minute - time.Second, 0},
		{"expired after the TTL", time.Second, 1},
		{"cached again", 0, 0},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		before := counter.decrypts.Load()
		got, err := e.Open(context.Background(), blob, binding)
		if err != nil {
			t.Fatalf("%s: Open: %v", s.name, err)
		}
		if !bytes.Equal(got, credentials) {
			t.Fatalf("%s: wrong plaintext", s.name)
		}
		if calls := counter.decrypts.Load() - before; calls != s.want {
			t.Errorf("%s: Decrypt calls = %d, want %d", s.name, calls, s.want)
		}
	}
}

func TestIntegrationUnavailable(t *testing.T) {
	env := emutest.Start(t)
	client := env.KMSClient()
	keyID, _ := newKey(t, client)
	binding := map[string]string{"gatewayId": "A", "owner": "X"}
	blob, err := envelope.New(client, keyID).Seal(context.Background(), credentials, binding)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}

	// Port 1 on loopback refuses connections.
	down := kms.NewFromConfig(emutest.AWSConfig(), func(o *kms.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})
	e := envelope.New(down, keyID)
	_, err = e.Open(context.Background(), blob, binding)
	if got, want := gateway.ErrorCode(err), gateway.CodeUnavailable; got != want {
		t.Errorf("Open: error code = %q, want %q (err: %v)", got, want, err)
	}
	_, err = e.Seal(context.Background(), credentials, binding)
	if got, want := gateway.ErrorCode(err), gateway.CodeUnavailable; got != want {
		t.Errorf("Seal: error code = %q, want %q (err: %v)", got, want, err)
	}
}
