// Package filelinktest is an in-memory filelink.Store, for tests that need
// getFile's links without DynamoDB (the fuzzer of every route). The
// DynamoDB store is tested against the emulator in pkg/dynamo.
package filelinktest

import (
	"context"
	"encoding/hex"
	"sync"

	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Store is a filelink.Store in memory, safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	links map[string]filelink.Link
}

var _ filelink.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store { return &Store{links: map[string]filelink.Link{}} }

// PutFileLink stores l; a second link with the same hash is an internal
// error, as the table's condition makes it.
func (s *Store) PutFileLink(_ context.Context, l filelink.Link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := hex.EncodeToString(l.Hash)
	if _, dup := s.links[k]; dup {
		return gateway.Errorf(gateway.CodeInternal, "file link exists")
	}
	s.links[k] = l
	return nil
}

// GetFileLink returns the link of hash, or gateway.NotFound.
func (s *Store) GetFileLink(_ context.Context, hash []byte) (filelink.Link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[hex.EncodeToString(hash)]
	if !ok {
		return filelink.Link{}, gateway.NotFound()
	}
	return l, nil
}

// Len is how many links the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links)
}

// Reset forgets every link.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links = map[string]filelink.Link{}
}
