package provider

import (
	"fmt"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Registry error codes.
const (
	RegistryDuplicate = "duplicate_provider" // Register: the type already has a provider
	RegistryNotFound  = "provider_not_found" // Get: no provider for the type
	RegistryInvalid   = "invalid_provider"   // Register: nil provider or unknown type
)

// RegistryError is the error of a registry operation, with one of the
// Registry error codes.
type RegistryError struct {
	Code string
	Type gateway.Type
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *RegistryError) Error() string {
	switch e.Code {
	case RegistryDuplicate:
		return fmt.Sprintf("a provider for gateway type %q is already registered", e.Type)
	case RegistryNotFound:
		return fmt.Sprintf("no provider for gateway type %q", e.Type)
	}
	return fmt.Sprintf("cannot register a provider for gateway type %q", e.Type)
}

// Outcome is OutcomeProviderError.
func (e *RegistryError) Outcome() Outcome { return OutcomeProviderError }

// Registry maps gateway types to providers. main builds one and registers
// each provider; tests build their own. There is no package-level registry
// and nothing registers itself in init. A Registry is safe for concurrent
// use; the zero Registry is not ready, use NewRegistry.
type Registry struct {
	mu        sync.RWMutex
	providers map[gateway.Type]Provider
	order     []gateway.Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{providers: map[gateway.Type]Provider{}}
}

// Register adds p for p.Type(). It returns a *RegistryError with
// RegistryDuplicate when the type already has a provider and override is
// false, and with RegistryInvalid for a nil provider or a type that is not a
// gateway.Type.
func (r *Registry) Register(p Provider, override bool) error {
	if p == nil {
		return &RegistryError{Code: RegistryInvalid}
	}
	t := p.Type()
	if !t.Valid() {
		return &RegistryError{Code: RegistryInvalid, Type: t}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.providers[t]; ok {
		if !override {
			return &RegistryError{Code: RegistryDuplicate, Type: t}
		}
	} else {
		r.order = append(r.order, t)
	}
	r.providers[t] = p
	return nil
}

// Get returns the provider of t, or a *RegistryError with RegistryNotFound.
func (r *Registry) Get(t gateway.Type) (Provider, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.providers[t]
	if !ok {
		return nil, &RegistryError{Code: RegistryNotFound, Type: t}
	}
	return p, nil
}

// Has reports whether t has a provider.
func (r *Registry) Has(t gateway.Type) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.providers[t]
	return ok
}

// All returns the providers in registration order.
func (r *Registry) All() []Provider {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Provider, len(r.order))
	for i, t := range r.order {
		out[i] = r.providers[t]
	}
	return out
}

// Types returns the registered types in registration order.
func (r *Registry) Types() []gateway.Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.order)
}

// Info returns every provider's Info in registration order: the body of
// GET /api/providers.
func (r *Registry) Info() []Info {
	all := r.All()
	out := make([]Info, len(all))
	for i, p := range all {
		out[i] = p.Info()
		// Clients iterate params; an action without any has an empty list.
		for j := range out[i].Actions {
			if out[i].Actions[j].Params == nil {
				out[i].Actions[j].Params = []Param{}
			}
		}
	}
	return out
}

// The Registry answers the domain's questions about credentials by asking
// the type's provider, so pkg/gateway knows no type's credentials.
var _ gateway.CredentialRules = (*Registry)(nil)

// CredentialFields returns the names of the credential fields t's provider
// declares in its Info, in its order; none when t has no provider.
func (r *Registry) CredentialFields(t gateway.Type) []string {
	p, err := r.Get(t)
	if err != nil {
		return nil
	}
	fields := p.Info().Credentials
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return names
}

// CheckCredentials checks c with t's provider (CheckCredentials); a type
// without a provider has no rules here, and no provider to connect later.
func (r *Registry) CheckCredentials(t gateway.Type, c gateway.Credentials) []gateway.FieldError {
	p, err := r.Get(t)
	if err != nil {
		return nil
	}
	return CheckCredentials(p, c)
}

// CredentialInfo returns the summary of c that t's provider gives
// (CredentialInfo); empty when t has no provider. It never returns nil.
func (r *Registry) CredentialInfo(t gateway.Type, c gateway.Credentials) map[string]any {
	p, err := r.Get(t)
	if err != nil {
		return map[string]any{}
	}
	return CredentialInfo(p, c)
}

// Unregister removes t's provider and reports whether there was one.
func (r *Registry) Unregister(t gateway.Type) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.providers[t]; !ok {
		return false
	}
	delete(r.providers, t)
	r.order = slices.DeleteFunc(r.order, func(k gateway.Type) bool { return k == t })
	return true
}

// Clear removes every provider.
func (r *Registry) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.providers = map[gateway.Type]Provider{}
	r.order = nil
}
