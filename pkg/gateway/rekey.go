package gateway

import (
	"context"
	"encoding/json"
)

// Key rotation (pkg/rekey) re-encrypts every gateway's stored credentials
// under the current key and a fresh data key. These are the parts of it that
// belong to the domain: how credentials are resealed, and what the audit
// trail and the gateway say afterwards.

// AuditCredentialsRotated is the audit action of a gateway whose credentials
// a key rotation re-encrypted. Its Changes are ["credentials"]; its Details
// name the rotation run, never a key or a secret.
const AuditCredentialsRotated = "gateway.credentials_rotated"

// LastErrorCredentialsUnreadable is the lastError a key rotation gives a
// gateway whose stored credentials no longer open (status ERROR): only the
// user can repair it, by entering the credentials again.
const LastErrorCredentialsUnreadable = "credentials unreadable; re-enter them"

// Reseal opens g's sealed credentials under g's binding and seals the same
// plaintext again, under the Sealer's current key and (for an envelope
// Sealer) a fresh data key. The plaintext is never returned and is zeroed
// before Reseal returns.
//
// Errors: those of CheckCredentials, and the Sealer's from sealing.
func (s *Service) Reseal(ctx context.Context, g *Gateway) ([]byte, error) {
	plain, err := s.openCredentials(ctx, g)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return s.sealer.Seal(ctx, plain, Binding(g))
}

// CheckCredentials reports whether g's sealed credentials open under g's
// binding to credentials, as Reseal would find them, without sealing
// anything: a dry run of a rotation.
//
// Errors: CodeCredentialsUnreadable when the blob does not open for g, or
// opens to something that is not credentials; the Sealer's others (notably
// CodeUnavailable when KMS cannot be reached), unchanged, so that a caller
// can tell an outage from a broken blob.
func (s *Service) CheckCredentials(ctx context.Context, g *Gateway) error {
	plain, err := s.openCredentials(ctx, g)
	clear(plain)
	return err
}

// openCredentials opens g's credentials and checks that they are
// credentials. The caller clears the plaintext.
func (s *Service) openCredentials(ctx context.Context, g *Gateway) ([]byte, error) {
	plain, err := s.sealer.Open(ctx, g.SealedCredentials, Binding(g))
	if err != nil {
		return nil, err
	}
	// The same check as Credentials: a blob that decrypts to something that
	// is not credentials is as useless as one that does not decrypt, and
	// sealing it again would only hide that.
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		clear(plain)
		return nil, &Error{Code: CodeCredentialsUnreadable, Message: "The stored credentials of this gateway cannot be read; replace them.", Op: "gateway.openCredentials", Err: err}
	}
	return plain, nil
}

// NewEventID returns a new random audit event id, for callers outside the
// Service that record events of their own (a key rotation).
func NewEventID() string { return randomToken() }
