// Package envelope implements gateway.Sealer with KMS envelope encryption.
//
// Every Seal asks KMS for a fresh AES-256 data key (GenerateDataKey) under
// the Gatehouse key, with the binding as the KMS encryption context, and
// encrypts the plaintext with AES-256-GCM under a random 12-byte nonce. The
// binding is therefore checked twice: KMS releases the data key only for the
// same encryption context, and GCM's additional data covers the blob header
// and the binding. A blob copied into another gateway does not open.
//
// # Blob layout (format 1)
//
// All integers are big-endian.
//
//	offset  size  field
//	0       1     format version, 0x01
//	1       2     n = length of the key id
//	3       n     key id: the KeyId KMS returned (a key ARN), printable ASCII
//	3+n     2     m = length of the encrypted data key
//	5+n     m     encrypted data key: the KMS CiphertextBlob
//	5+n+m   12    GCM nonce
//	17+n+m  rest  AES-256-GCM ciphertext followed by its 16-byte tag
//
// The GCM additional data is the header (bytes 0 to 17+n+m, everything
// before the ciphertext) followed by the canonical binding: a uint32 pair
// count, then for each pair in key order the uint32 length and bytes of the
// key and of the value.
//
// # Cache
//
// Open keeps plaintext data keys in memory for a bounded time and count
// (WithCache), so that health sweeps that open the same blob over and over do
// not call KMS Decrypt each time. A cached key is found only under the SHA-256
// of the encrypted data key and the canonical binding, so it serves exactly
// the blob and binding KMS released it for. Seal never reuses a data key.
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// KMS is the part of the KMS API that an Envelope uses. *kms.Client
// satisfies it; tests wrap it to count or fail calls.
type KMS interface {
	GenerateDataKey(ctx context.Context, params *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, params *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// The cache defaults: long enough for a health sweep to reuse keys across
// several runs, short enough that a plaintext key does not stay in a warm
// Lambda container for long.
const (
	DefaultCacheTTL        = 15 * time.Minute
	DefaultCacheMaxEntries = 1000
)

// Messages shown to users. They never contain key material, plaintext or
// blob bytes.
const (
	msgUnreadable  = "The stored credentials of this gateway cannot be decrypted; replace them."
	msgUnavailable = "The encryption service is unavailable; try again later."
)

// retryAfterSeconds is the Retry-After every CodeUnavailable error of an
// Envelope carries. The SDK has already retried KMS with backoff by the time
// Seal or Open gives up, so an immediate retry by the client would most
// likely fail again; two seconds spaces the clients out without making a
// user wait long for a throttle that has passed.
const retryAfterSeconds = 2

// Envelope seals and opens credentials with KMS envelope encryption. It is
// safe for concurrent use.
type Envelope struct {
	client KMS
	keyID  string
	now    func() time.Time

	cacheTTL time.Duration
	cacheMax int
	cache    *keyCache // nil when caching is off
}

var _ gateway.Sealer = (*Envelope)(nil)

// Option configures an Envelope.
type Option func(*Envelope)

// WithCache sets how long Open keeps a plaintext data key and how many keys
// it keeps at most. A ttl or maxEntries of zero or less turns the cache off.
func WithCache(ttl time.Duration, maxEntries int) Option {
	return func(e *Envelope) {
		e.cacheTTL = ttl
		e.cacheMax = maxEntries
	}
}

// WithClock sets the clock the cache uses to expire keys; tests use it to
// step past the TTL.
func WithClock(now func() time.Time) Option {
	return func(e *Envelope) { e.now = now }
}

// New returns an Envelope that seals under the KMS key keyID (a key id, key
// ARN or alias) through client. It does no I/O: a wrong key shows up on the
// first Seal.
func New(client KMS, keyID string, opts ...Option) *Envelope {
	e := &Envelope{
		client:   client,
		keyID:    keyID,
		now:      time.Now,
		cacheTTL: DefaultCacheTTL,
		cacheMax: DefaultCacheMaxEntries,
	}
	for _, o := range opts {
		o(e)
	}
	if e.cacheTTL > 0 && e.cacheMax > 0 {
		e.cache = newKeyCache(e.cacheTTL, e.cacheMax, e.now)
	}
	return e
}

// Seal encrypts plaintext under a fresh data key bound to binding and returns
// the blob (see the package comment for its layout).
//
// Errors: CodeUnavailable when KMS fails or cannot be reached (the cause is
// wrapped); CodeInternal for an empty binding, which would make the blob
// openable by any gateway, or an answer from KMS that is not a usable key.
func (e *Envelope) Seal(ctx context.Context, plaintext []byte, binding map[string]string) ([]byte, error) {
	const op = "envelope.Seal"
	if len(binding) == 0 {
		return nil, gateway.Internal(op, errors.New("envelope: empty binding"))
	}
	out, err := e.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(e.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: binding,
	})
	if err != nil {
		return nil, unavailable(op, err)
	}
	defer clear(out.Plaintext)

	keyID := aws.ToString(out.KeyId)
	switch {
	case len(out.Plaintext) != keySize:
		return nil, gateway.Internal(op, fmt.Errorf("envelope: KMS returned a %d-byte data key, want %d", len(out.Plaintext), keySize))
	case !validKeyID([]byte(keyID)):
		return nil, gateway.Internal(op, errors.New("envelope: KMS returned an unusable key id"))
	case len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxEncryptedKey:
		return nil, gateway.Internal(op, fmt.Errorf("envelope: KMS returned a %d-byte encrypted data key", len(out.CiphertextBlob)))
	}

	aead, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	nonce := make([]byte, nonceSize)
	// Since Go 1.24 crypto/rand.Read never returns an error (it crashes the
	// program instead), so there is nothing to handle.
	_, _ = rand.Read(nonce)

	header := appendHeader(nil, keyID, out.CiphertextBlob, nonce)
	aad := append(header[:len(header):len(header)], canonicalBinding(binding)...)
	return aead.Seal(header, nonce, plaintext, aad), nil
}

// Open decrypts a blob made by Seal under the same binding.
//
// Errors: CodeCredentialsUnreadable when the blob is malformed, truncated,
// of an unknown format, tampered with, or sealed under another binding;
// CodeUnavailable when KMS fails or cannot be reached. Either wraps the
// cause; neither message contains secrets.
func (e *Envelope) Open(ctx context.Context, blob []byte, binding map[string]string) ([]byte, error) {
	const op = "envelope.Open"
	b, err := parseBlob(blob)
	if err != nil {
		return nil, unreadable(op, err)
	}
	canonical := canonicalBinding(binding)

	var id [sha256.Size]byte
	var key []byte
	cached := false
	if e.cache != nil {
		id = cacheID(b.encryptedKey, canonical)
		key, cached = e.cache.get(id)
	}
	if !cached {
		out, err := e.client.Decrypt(ctx, &kms.DecryptInput{
			CiphertextBlob:    b.encryptedKey,
			KeyId:             aws.String(b.keyID),
			EncryptionContext: binding,
		})
		if err != nil {
			if unreadableKMSError(err) {
				return nil, unreadable(op, err)
			}
			return nil, unavailable(op, err)
		}
		key = out.Plaintext
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, unreadable(op, fmt.Errorf("envelope: data key is %d bytes, want %d", len(key), keySize))
	}

	aead, err := newGCM(key)
	if err != nil {
		return nil, unreadable(op, err)
	}
	aad := append(b.header[:len(b.header):len(b.header)], canonical...)
	plaintext, err := aead.Open(nil, b.nonce, b.ciphertext, aad)
	if err != nil {
		return nil, unreadable(op, errors.New("envelope: ciphertext does not authenticate"))
	}
	// Only a key that has just opened its blob goes into the cache.
	if e.cache != nil && !cached {
		e.cache.put(id, key)
	}
	return plaintext, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// unreadableKMSError reports whether KMS refused to decrypt because of the
// blob itself (another binding, a corrupted or foreign encrypted key, a key
// that no longer exists), which retrying cannot fix.
func unreadableKMSError(err error) bool {
	var (
		invalidCiphertext *types.InvalidCiphertextException
		incorrectKey      *types.IncorrectKeyException
		notFound          *types.NotFoundException
		invalidUsage      *types.InvalidKeyUsageException
	)
	return errors.As(err, &invalidCiphertext) ||
		errors.As(err, &incorrectKey) ||
		errors.As(err, &notFound) ||
		errors.As(err, &invalidUsage)
}

func unreadable(op string, cause error) error {
	return &gateway.Error{Code: gateway.CodeCredentialsUnreadable, Message: msgUnreadable, Op: op, Err: cause}
}

// unavailable is the CodeUnavailable error of op, with retryAfterSeconds so
// that every 503 tells the client when to come back.
func unavailable(op string, cause error) error {
	return &gateway.Error{Code: gateway.CodeUnavailable, Message: msgUnavailable, Op: op, Err: cause, RetryAfter: retryAfterSeconds}
}
