// Package filelink is how Gatehouse hands out a file a bot received without
// handing out the bot's token: Telegram serves files at
// https://api.telegram.org/file/bot<token>/<file_path>, a URL that is the
// token. getFile's answer is instead a short-lived capability link that
// Gatehouse serves itself, GET /api/files/{linkId} (package
// filelink/download, function "files").
//
// The link is the credential, like an S3 pre-signed URL: 32 random bytes,
// base64url (43 characters), so it cannot be guessed; the request carries no
// JWT, so a bot's user can be given it. The table stores only its SHA-256
// (as it stores the webhook secret's), in an item with the gateway, its
// owner, the file's path at Telegram, its size and a TTL: a read of the
// table yields no working link.
//
// Why not a copy in S3 behind a pre-signed URL: that needs a bucket, a copy
// of every file (paid for in time and storage though most links are never
// opened), and lifecycle rules to delete them; this stores a small record
// and fetches from Telegram only when the link is used. The price is
// Lambda's 6 MB response limit: API Gateway carries binary bodies base64
// (4/3 larger), so files over MaxBytes (4 MiB) answer 413. Telegram's
// getFile itself stops at 20 MB.
package filelink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Path is the route of a link: {PUBLIC_API_URL}/api/files/{linkId}.
const Path = "/api/files/"

// MaxBytes is the largest file a link serves: 4 MiB raw is 5.33 MiB in
// base64, under Lambda's 6 MB response payload with room for headers.
const MaxBytes = 4 << 20

// DefaultTTL is how long a link works unless FILE_LINK_TTL says otherwise.
const DefaultTTL = time.Hour

// Link is the stored record of one link.
type Link struct {
	// Hash is the SHA-256 of the link id, the item's key.
	Hash      []byte
	GatewayID string
	Owner     gateway.Owner
	// FilePath is Telegram's file_path; never a URL.
	FilePath  string
	Size      int64
	ExpiresAt time.Time
}

// Store keeps links. PutFileLink writes a new one; GetFileLink returns
// gateway.NotFound for a hash it does not hold (an expired item may still
// be returned until the table's TTL deletes it: callers check ExpiresAt).
type Store interface {
	PutFileLink(ctx context.Context, l Link) error
	GetFileLink(ctx context.Context, hash []byte) (Link, error)
}

// NewID returns a fresh link id (32 random bytes, base64url without
// padding) and its hash.
func NewID() (id string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it panics instead
	id = base64.RawURLEncoding.EncodeToString(b)
	return id, Hash(id)
}

// Hash is the SHA-256 of a link id.
func Hash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// ValidID reports whether id has a link id's shape, so that a malformed
// one costs no table read.
func ValidID(id string) bool {
	if len(id) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// Minter makes links for the gateway service (lifecycle.FileLinker).
type Minter struct {
	store     Store
	publicURL string
	ttl       time.Duration
	now       func() time.Time
}

// NewMinter returns a Minter that stores links in store, valid for ttl
// (DefaultTTL when not positive), under publicURL (PUBLIC_API_URL; empty
// gives a path relative to the API's origin). It does no I/O.
func NewMinter(store Store, publicURL string, ttl time.Duration) *Minter {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Minter{store: store, publicURL: strings.TrimRight(publicURL, "/"), ttl: ttl, now: time.Now}
}

// MintFileLink stores a link to filePath of g's bot and returns its URL and
// expiry. Errors: the store's.
func (m *Minter) MintFileLink(ctx context.Context, g *gateway.Gateway, filePath string, size int64) (string, time.Time, error) {
	id, hash := NewID()
	exp := m.now().Add(m.ttl).UTC().Truncate(time.Second)
	err := m.store.PutFileLink(ctx, Link{Hash: hash, GatewayID: g.ID, Owner: g.Owner(), FilePath: filePath, Size: size, ExpiresAt: exp})
	if err != nil {
		return "", time.Time{}, err
	}
	return m.publicURL + Path + url.PathEscape(id), exp, nil
}
