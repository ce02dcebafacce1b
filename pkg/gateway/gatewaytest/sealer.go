package gatewaytest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"maps"
	"sync"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Sealer is gateway.Sealer without KMS. A blob records the binding it was
// sealed under and opens under that binding only, as an envelope blob does:
// moved to another gateway or owner, or tampered with until it no longer
// decodes, it is CodeCredentialsUnreadable. The plaintext is masked, not
// encrypted: enough that a secret never appears verbatim in a stored blob
// (tests look for it there), nothing more. Each Seal draws a fresh nonce,
// so sealing the same plaintext twice gives different blobs, as a fresh
// data key does.
//
// A Sealer is safe for concurrent use.
type Sealer struct {
	mu           sync.Mutex
	err          error
	seals, opens int
}

var _ gateway.Sealer = (*Sealer)(nil)

// NewSealer returns a Sealer that works until told to Fail.
func NewSealer() *Sealer { return &Sealer{} }

// blob is a sealed blob's content.
type blob struct {
	Binding map[string]string `json:"b"`
	Nonce   []byte            `json:"n"`
	Data    []byte            `json:"d"`
}

// mask XORs b with the nonce, repeated: its own inverse.
func mask(b, nonce []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ nonce[i%len(nonce)] ^ 0x5a
	}
	return out
}

// Fail makes every later Seal and Open return err (nil: work again), as
// envelope does when KMS cannot be reached (give it a CodeUnavailable
// *gateway.Error to be faithful).
func (s *Sealer) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Calls returns how many times Seal and Open have been called, failed
// calls included: a test that must not touch credentials checks opens.
func (s *Sealer) Calls() (seals, opens int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seals, s.opens
}

// Seal returns a blob of plaintext bound to binding.
//
// Errors: CodeInternal for an empty binding, which would make the blob
// openable by any gateway (as envelope refuses it); the error given to Fail.
func (s *Sealer) Seal(_ context.Context, plaintext []byte, binding map[string]string) ([]byte, error) {
	s.mu.Lock()
	s.seals++
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if len(binding) == 0 {
		return nil, gateway.Internal("gatewaytest.Seal", errors.New("empty binding"))
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails; it panics instead
	return json.Marshal(blob{Binding: maps.Clone(binding), Nonce: nonce, Data: mask(plaintext, nonce)})
}

// Open returns the plaintext of b if b was sealed under binding.
//
// Errors: CodeCredentialsUnreadable when it was not, or does not decode;
// the error given to Fail.
func (s *Sealer) Open(_ context.Context, b []byte, binding map[string]string) ([]byte, error) {
	s.mu.Lock()
	s.opens++
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var bl blob
	if err := json.Unmarshal(b, &bl); err != nil || len(bl.Nonce) == 0 {
		return nil, unreadable(errors.New("not a gatewaytest blob"))
	}
	if !maps.Equal(bl.Binding, binding) {
		return nil, unreadable(errors.New("sealed under another binding"))
	}
	return mask(bl.Data, bl.Nonce), nil
}

func unreadable(cause error) error {
	return &gateway.Error{Code: gateway.CodeCredentialsUnreadable, Message: "The stored credentials of this gateway cannot be decrypted; replace them.", Op: "gatewaytest.Open", Err: cause}
}
