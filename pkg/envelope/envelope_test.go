package envelope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

var (
	bindingA = map[string]string{"gatewayId": "gw-A", "owner": "USER#x"}
	secret   = []byte(`{"botToken":"123456:SECRET-token-value"}`)
)

func mustSeal(tb testing.TB, e *Envelope, plaintext []byte, binding map[string]string) []byte {
	tb.Helper()
	blob, err := e.Seal(context.Background(), plaintext, binding)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return blob
}

func mustOpen(tb testing.TB, e *Envelope, blob []byte, binding map[string]string) []byte {
	tb.Helper()
	got, err := e.Open(context.Background(), blob, binding)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return got
}

// checkCode fails unless err carries code and its text leaks nothing secret.
func checkCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := gateway.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
	if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), "SECRET") {
		tb.Fatalf("error text contains the plaintext: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		plaintext []byte
		binding   map[string]string
	}{
		{"credentials", secret, bindingA},
		{"empty plaintext", []byte{}, bindingA},
		{"large plaintext", bytes.Repeat([]byte("x"), 1<<20), bindingA},
		{"organisation owner", secret, map[string]string{"gatewayId": "gw-B", "owner": "ORG#o1"}},
		{"odd characters", secret, map[string]string{"a=b": "c\n=d", "": "empty key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(newFakeKMS(t), "alias/gatehouse")
			blob := mustSeal(t, e, tt.plaintext, tt.binding)
			if bytes.Contains(blob, tt.plaintext) && len(tt.plaintext) > 0 {
				t.Fatal("blob contains the plaintext")
			}
			got := mustOpen(t, e, blob, tt.binding)
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %d bytes, want the %d sealed", len(got), len(tt.plaintext))
			}
		})
	}
}

func TestSealLayout(t *testing.T) {
	e := New(newFakeKMS(t), "alias/gatehouse")
	blob := mustSeal(t, e, secret, bindingA)
	b, err := parseBlob(blob)
	if err != nil {
		t.Fatalf("parseBlob: %v", err)
	}
	if got, want := blob[0], byte(1); got != want {
		t.Errorf("version = %d, want %d", got, want)
	}
	if got, want := b.keyID, fakeKeyARN; got != want {
		t.Errorf("key id = %q, want %q (the one KMS returned, not the alias)", got, want)
	}
	if got, want := len(b.ciphertext), len(secret)+tagSize; got != want {
		t.Errorf("ciphertext = %d bytes, want %d", got, want)
	}
}

func TestSealIsFreshEveryTime(t *testing.T) {
	f := newFakeKMS(t)
	e := New(f, "alias/gatehouse")
	one := mustSeal(t, e, secret, bindingA)
	two := mustSeal(t, e, secret, bindingA)
	if bytes.Equal(one, two) {
		t.Fatal("two Seals of the same plaintext are equal")
	}
	b1, _ := parseBlob(one)
	b2, _ := parseBlob(two)
	if bytes.Equal(b1.encryptedKey, b2.encryptedKey) || bytes.Equal(b1.nonce, b2.nonce) {
		t.Error("two Seals share a data key or nonce")
	}
	if gen, _ := f.counts(); gen != 2 {
		t.Errorf("GenerateDataKey calls = %d, want 2", gen)
	}
}

func TestSealErrors(t *testing.T) {
	tests := []struct {
		name     string
		kmsErr   error
		shortKey bool
		binding  map[string]string
		want     string
	}{
		{"empty binding", nil, false, map[string]string{}, gateway.CodeInternal},
		{"nil binding", nil, false, nil, gateway.CodeInternal},
		{"KMS down", errors.New("dial tcp: connection refused"), false, bindingA, gateway.CodeUnavailable},
		{"KMS throttles", &types.LimitExceededException{}, false, bindingA, gateway.CodeUnavailable},
		{"KMS key disabled", &types.DisabledException{}, false, bindingA, gateway.CodeUnavailable},
		{"short data key", nil, true, bindingA, gateway.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKMS(t)
			f.err, f.shortKey = tt.kmsErr, tt.shortKey
			_, err := New(f, "alias/gatehouse").Seal(context.Background(), secret, tt.binding)
			checkCode(t, err, tt.want)
			if tt.kmsErr != nil && !errors.Is(err, tt.kmsErr) {
				t.Errorf("error %v does not wrap the KMS error", err)
			}
		})
	}
}

// Every single-bit change anywhere in a blob must make it unreadable, with
// and without the data key in the cache.
func TestOpenTamperedByte(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", warm), func(t *testing.T) {
			e := New(newFakeKMS(t), "alias/gatehouse")
			blob := mustSeal(t, e, secret, bindingA)
			if warm {
				mustOpen(t, e, blob, bindingA)
			}
			for i := range blob {
				for _, bit := range []byte{0x01, 0x80} {
					bad := bytes.Clone(blob)
					bad[i] ^= bit
					_, err := e.Open(context.Background(), bad, bindingA)
					if err == nil {
						t.Fatalf("byte %d ^ %#x: Open succeeded", i, bit)
					}
					checkCode(t, err, gateway.CodeCredentialsUnreadable)
				}
			}
		})
	}
}

func TestOpenTruncated(t *testing.T) {
	e := New(newFakeKMS(t), "alias/gatehouse")
	blob := mustSeal(t, e, secret, bindingA)
	mustOpen(t, e, blob, bindingA)
	for n := range len(blob) {
		_, err := e.Open(context.Background(), blob[:n], bindingA)
		if err == nil {
			t.Fatalf("Open of the first %d of %d bytes succeeded", n, len(blob))
		}
		checkCode(t, err, gateway.CodeCredentialsUnreadable)
	}
	// Extra bytes are part of the ciphertext, so they fail authentication.
	_, err := e.Open(context.Background(), append(bytes.Clone(blob), 0), bindingA)
	checkCode(t, err, gateway.CodeCredentialsUnreadable)
}

func TestParseBlobMalformed(t *testing.T) {
	valid := appendHeader(nil, fakeKeyARN, []byte("edk"), make([]byte, nonceSize))
	valid = append(valid, make([]byte, tagSize)...)
	if _, err := parseBlob(valid); err != nil {
		t.Fatalf("parseBlob(valid) = %v", err)
	}
	tests := []struct {
		name string
		blob []byte
		want error
	}{
		{"nil", nil, errEmpty},
		{"version 0", append([]byte{0}, valid[1:]...), errVersion},
		{"version 2", append([]byte{2}, valid[1:]...), errVersion},
		{"version 255", append([]byte{255}, valid[1:]...), errVersion},
		{"version only", []byte{1}, errTruncated},
		{"half a length", []byte{1, 0}, errTruncated},
		{"key id longer than blob", []byte{1, 0xff, 0xff, 'a'}, errTruncated},
		{"empty key id", append([]byte{1, 0, 0}, valid[3+len(fakeKeyARN):]...), errKeyID},
		{"key id with a space", []byte{1, 0, 3, 'a', ' ', 'b'}, errKeyID},
		{"key id with a NUL", []byte{1, 0, 1, 0}, errKeyID},
		{"key id not ASCII", []byte{1, 0, 2, 0xc3, 0xa9}, errKeyID},
		{"no encrypted key length", []byte{1, 0, 1, 'k'}, errTruncated},
		{"encrypted key longer than blob", []byte{1, 0, 1, 'k', 0, 9, 'e'}, errTruncated},
		{"empty encrypted key", append([]byte{1, 0, 1, 'k', 0, 0}, make([]byte, nonceSize+tagSize)...), errEncryptedKey},
		{"no nonce", []byte{1, 0, 1, 'k', 0, 1, 'e'}, errTruncated},
		{"tag cut short", valid[:len(valid)-1], errTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBlob(tt.blob)
			if !errors.Is(err, tt.want) {
				t.Fatalf("parseBlob = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("encrypted key too long", func(t *testing.T) {
		b := appendHeader(nil, "k", make([]byte, maxEncryptedKey+1), make([]byte, nonceSize))
		b = append(b, make([]byte, tagSize)...)
		if _, err := parseBlob(b); !errors.Is(err, errEncryptedKey) {
			t.Fatalf("parseBlob = %v, want %v", err, errEncryptedKey)
		}
	})
	t.Run("key id too long", func(t *testing.T) {
		b := appendHeader(nil, strings.Repeat("k", maxKeyID+1), []byte("e"), make([]byte, nonceSize))
		b = append(b, make([]byte, tagSize)...)
		if _, err := parseBlob(b); !errors.Is(err, errKeyID) {
			t.Fatalf("parseBlob = %v, want %v", err, errKeyID)
		}
	})
}

func TestOpenUnknownVersion(t *testing.T) {
	e := New(newFakeKMS(t), "alias/gatehouse")
	blob := mustSeal(t, e, secret, bindingA)
	blob[0] = 2
	_, err := e.Open(context.Background(), blob, bindingA)
	checkCode(t, err, gateway.CodeCredentialsUnreadable)
	if !errors.Is(err, errVersion) {
		t.Errorf("error %v does not say the version is unknown", err)
	}
}

func TestOpenWrongBinding(t *testing.T) {
	tests := []struct {
		name    string
		binding map[string]string
	}{
		{"other gateway", map[string]string{"gatewayId": "gw-B", "owner": "USER#x"}},
		{"other owner", map[string]string{"gatewayId": "gw-A", "owner": "USER#y"}},
		{"organisation instead of user", map[string]string{"gatewayId": "gw-A", "owner": "ORG#x"}},
		{"extra pair", map[string]string{"gatewayId": "gw-A", "owner": "USER#x", "more": "1"}},
		{"missing pair", map[string]string{"gatewayId": "gw-A"}},
		{"empty", map[string]string{}},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(newFakeKMS(t), "alias/gatehouse")
			blob := mustSeal(t, e, secret, bindingA)
			// The right binding puts the data key in the cache first, which
			// must not help the wrong one.
			mustOpen(t, e, blob, bindingA)
			_, err := e.Open(context.Background(), blob, tt.binding)
			checkCode(t, err, gateway.CodeCredentialsUnreadable)
			var ge *gateway.Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %T is not a *gateway.Error", err)
			}
			if got, want := ge.Message, "The stored credentials of this gateway cannot be decrypted; replace them."; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
			if got, want := ge.Op, "envelope.Open"; got != want {
				t.Errorf("op = %q, want %q", got, want)
			}
			var ic *types.InvalidCiphertextException
			if !errors.As(err, &ic) {
				t.Errorf("error %v does not wrap InvalidCiphertextException", err)
			}
		})
	}
}

func TestOpenKMSErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"invalid ciphertext", &types.InvalidCiphertextException{}, gateway.CodeCredentialsUnreadable},
		{"incorrect key", &types.IncorrectKeyException{}, gateway.CodeCredentialsUnreadable},
		{"key gone", &types.NotFoundException{}, gateway.CodeCredentialsUnreadable},
		{"unreachable", errors.New("dial tcp 127.0.0.1:1: connection refused"), gateway.CodeUnavailable},
		{"throttled", &types.LimitExceededException{Message: aws.String("rate exceeded")}, gateway.CodeUnavailable},
		{"internal", &types.KMSInternalException{}, gateway.CodeUnavailable},
		{"key disabled", &types.DisabledException{}, gateway.CodeUnavailable},
		{"deadline", context.DeadlineExceeded, gateway.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKMS(t)
			e := New(f, "alias/gatehouse")
			blob := mustSeal(t, e, secret, bindingA)
			f.err = tt.err
			_, err := e.Open(context.Background(), blob, bindingA)
			checkCode(t, err, tt.want)
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
			if strings.Contains(err.Error(), string(blob)) {
				t.Error("error text contains the blob")
			}
		})
	}
}

func TestOpenCache(t *testing.T) {
	type step struct {
		advance time.Duration
		blob    int // index of the blob to open
		decrypt int64
	}
	tests := []struct {
		name  string
		opts  []Option
		steps []step
	}{
		{"miss then hit", nil, []step{{0, 0, 1}, {0, 0, 0}, {time.Minute, 0, 0}}},
		{"each blob has its own key", nil, []step{{0, 0, 1}, {0, 1, 1}, {0, 0, 0}, {0, 1, 0}}},
		{"expires after the TTL", []Option{WithCache(time.Minute, 10)}, []step{
			{0, 0, 1}, {59 * time.Second, 0, 0}, {time.Second, 0, 1}, {0, 0, 0},
		}},
		{"default TTL is 15 minutes", nil, []step{
			{0, 0, 1}, {15*time.Minute - time.Nanosecond, 0, 0}, {time.Nanosecond, 0, 1},
		}},
		{"evicts the least recently used", []Option{WithCache(time.Hour, 2)}, []step{
			{0, 0, 1}, {0, 1, 1}, {0, 0, 0}, // 0 is now the most recent
			{0, 2, 1}, // evicts 1
			{0, 0, 0}, {0, 2, 0}, {0, 1, 1},
		}},
		{"off", []Option{WithCache(0, 0)}, []step{{0, 0, 1}, {0, 0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKMS(t)
			clock := newTestClock()
			e := New(f, "alias/gatehouse", append(tt.opts, WithClock(clock.Now))...)
			blobs := make([][]byte, 3)
			for i := range blobs {
				blobs[i] = mustSeal(t, e, secret, bindingA)
			}
			f.counts()
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				if got := mustOpen(t, e, blobs[s.blob], bindingA); !bytes.Equal(got, secret) {
					t.Fatalf("step %d: wrong plaintext", i)
				}
				if _, got := f.counts(); got != s.decrypt {
					t.Fatalf("step %d (blob %d after +%v): Decrypt calls = %d, want %d", i, s.blob, s.advance, got, s.decrypt)
				}
			}
		})
	}
}

func TestCacheBound(t *testing.T) {
	f := newFakeKMS(t)
	e := New(f, "alias/gatehouse", WithCache(time.Hour, 5))
	for range 20 {
		mustOpen(t, e, mustSeal(t, e, secret, bindingA), bindingA)
	}
	if got, want := e.cache.len(), 5; got != want {
		t.Fatalf("cache holds %d keys, want %d", got, want)
	}
}

func TestCacheCopies(t *testing.T) {
	c := newKeyCache(time.Hour, 1, time.Now)
	var id [32]byte
	key := bytes.Repeat([]byte{7}, keySize)
	c.put(id, key)
	clear(key) // what Open does with its copy
	got, ok := c.get(id)
	if !ok || !bytes.Equal(got, bytes.Repeat([]byte{7}, keySize)) {
		t.Fatal("cached key changed when the caller zeroed its copy")
	}
	clear(got)
	again, _ := c.get(id)
	if !bytes.Equal(again, bytes.Repeat([]byte{7}, keySize)) {
		t.Fatal("cached key changed when a reader zeroed its copy")
	}

	el := c.entries[id]
	stored := el.Value.(*cacheEntry).key
	c.put([32]byte{1}, key) // evicts id
	if !bytes.Equal(stored, make([]byte, keySize)) {
		t.Error("evicted key was not zeroed")
	}
}

func TestOpenConcurrent(t *testing.T) {
	f := newFakeKMS(t)
	clock := newTestClock()
	e := New(f, "alias/gatehouse", WithCache(time.Minute, 3), WithClock(clock.Now))
	type sealed struct {
		binding   map[string]string
		plaintext []byte
		blob      []byte
	}
	var all []sealed
	for i := range 6 {
		b := map[string]string{"gatewayId": fmt.Sprintf("gw-%d", i), "owner": "USER#x"}
		p := []byte(fmt.Sprintf("secret-%d", i))
		all = append(all, sealed{b, p, mustSeal(t, e, p, b)})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64*20)
	for g := range 64 {
		wg.Go(func() {
			for i := range 20 {
				s := all[(g+i)%len(all)]
				if i%7 == 0 {
					clock.Advance(10 * time.Second)
				}
				got, err := e.Open(context.Background(), s.blob, s.binding)
				if err != nil {
					errs <- err
					continue
				}
				if !bytes.Equal(got, s.plaintext) {
					errs <- fmt.Errorf("blob of %s opened to the wrong plaintext", s.binding["gatewayId"])
				}
				// Another gateway's binding must never open it, cached or not.
				other := all[(g+i+1)%len(all)].binding
				if _, err := e.Open(context.Background(), s.blob, other); !gateway.IsCode(err, gateway.CodeCredentialsUnreadable) {
					errs <- fmt.Errorf("wrong binding: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCanonicalBinding(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]string
		same bool
	}{
		{"same pairs", map[string]string{"a": "1", "b": "2"}, map[string]string{"b": "2", "a": "1"}, true},
		{"nil and empty", nil, map[string]string{}, true},
		{"other value", map[string]string{"a": "1"}, map[string]string{"a": "2"}, false},
		{"= moved", map[string]string{"a=b": "c"}, map[string]string{"a": "b=c"}, false},
		{"pairs merged", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1b2"}, false},
		{"empty value and missing", map[string]string{"a": ""}, map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bytes.Equal(canonicalBinding(tt.a), canonicalBinding(tt.b))
			if got != tt.same {
				t.Fatalf("equal = %v, want %v", got, tt.same)
			}
		})
	}
}
