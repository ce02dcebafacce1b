package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// fakeBearer is an Authorization header carrying claims as a JWT's payload
// (unsigned: the authorizer checked the signature before the function runs,
// and the function reads the payload only).
func fakeBearer(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return "Bearer " + enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + "." + enc([]byte("signature"))
}

// TestIdentityRefusesAmbiguousClaims: a caller's user and organisation
// ids follow one pattern wherever they enter, and an orgs claim that could
// be read as another list selects nothing: "[acme corp]" is API Gateway's
// rendering of ["acme","corp"] and of ["acme corp"] alike, so it is read
// from the token, and refused when the token does not settle it.
func TestIdentityRefusesAmbiguousClaims(t *testing.T) {
	api, st := newLimitedAPI(nil)
	acmeGW := aliceGW
	acmeGW.ID, acmeGW.OrganizationID = gateway.NewID(), "acme"
	st.gws[acmeGW.ID] = acmeGW
	tests := []struct {
		name   string
		sub    string
		orgs   string         // the claim as the authorizer passes it; "-" for none
		token  map[string]any // the bearer token's payload; nil for no header
		org    string         // X-Organization-Id
		status int
		field  string // the field a 400 names
	}{
		{name: "flattened, no token", sub: "alice", orgs: "[acme corp]", org: "acme", status: 403},
		{name: "flattened one-element, no token", sub: "alice", orgs: "[acme]", org: "acme", status: 403},
		{name: "flattened from an id with a space", sub: "alice", orgs: "[acme corp]", org: "acme",
			token: map[string]any{"sub": "alice", "orgs": []string{"acme corp"}}, status: 403},
		{name: "flattened from a string", sub: "alice", orgs: "[acme corp]", org: "acme",
			token: map[string]any{"sub": "alice", "orgs": "[acme corp]"}, status: 403},
		{name: "token of another user", sub: "alice", orgs: "[acme corp]", org: "acme",
			token: map[string]any{"sub": "mallory", "orgs": []string{"acme", "corp"}}, status: 403},
		{name: "token disagreeing with the claim", sub: "alice", orgs: "[acme corp]", org: "acme",
			token: map[string]any{"sub": "alice", "orgs": []string{"acme", "beta"}}, status: 403},
		{name: "space-separated", sub: "alice", orgs: "acme corp", org: "acme", status: 403},
		{name: "comma-separated", sub: "alice", orgs: "acme,corp", org: "acme", status: 403},
		{name: "one invalid element refuses all", sub: "alice", orgs: `["acme","bad id"]`, org: "acme", status: 403},
		{name: "not a member", sub: "alice", orgs: `["beta"]`, org: "acme", status: 403},
		{name: "no claim", sub: "alice", orgs: "-", org: "acme", status: 403},
		{name: "flattened array read from the token", sub: "alice", orgs: "[acme corp]", org: "acme",
			token: map[string]any{"sub": "alice", "orgs": []string{"acme", "corp"}}, status: 200},
		{name: "flattened one-element read from the token", sub: "alice", orgs: "[acme]", org: "acme",
			token: map[string]any{"sub": "alice", "orgs": []string{"acme"}}, status: 200},
		{name: "JSON array", sub: "alice", orgs: `["acme","corp"]`, org: "acme", status: 200},
		{name: "single id", sub: "alice", orgs: "acme", org: "acme", status: 200},
		{name: "bad claim ignored without an organisation", sub: "alice", orgs: "acme corp", status: 200},
		{name: "header with a space", sub: "alice", orgs: "acme", org: "acme corp", status: 400, field: "X-Organization-Id"},
		{name: "header with the key separator", sub: "alice", orgs: "acme", org: "acme#x", status: 400, field: "X-Organization-Id"},
		{name: "sub with the key separator", sub: "alice#x", orgs: "-", status: 401},
		{name: "sub with a space", sub: "alice x", orgs: "-", status: 401},
		{name: "auth0 sub", sub: "auth0|5fe435b5cbbc85006b071eba", orgs: "-", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(tt.sub, "GET", map[string]string{"id": acmeGW.ID}, "")
			ev.RouteKey = "GET /api/gateways/{id}"
			if tt.org == "" {
				ev.PathParameters["id"] = aliceGW.ID
			} else {
				ev.Headers["x-organization-id"] = tt.org
			}
			if tt.orgs != "-" {
				ev.RequestContext.Authorizer.JWT.Claims["orgs"] = tt.orgs
			}
			if tt.token != nil {
				ev.Headers["authorization"] = fakeBearer(tt.token)
			}
			resp, err := api.GetGateway(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status < 400 || tt.status == 404 {
				return
			}
			p := decodeProblem(t, resp)
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("problem %+v, want one error on %s", p, tt.field)
			}
			if tt.orgs != "-" && tt.orgs != "acme" && strings.Contains(resp.Body, tt.orgs) {
				t.Errorf("problem %s repeats the claim", resp.Body)
			}
		})
	}
}

func TestParseOrgsClaim(t *testing.T) {
	tests := []struct {
		name  string
		claim string
		auth  string
		want  []string
		ok    bool
	}{
		{name: "empty", claim: "", ok: true},
		{name: "empty array", claim: "[]", want: []string{}, ok: true},
		{name: "single", claim: " acme ", want: []string{"acme"}, ok: true},
		{name: "JSON", claim: `["acme","us-east-1_AbC_Google"]`, want: []string{"acme", "us-east-1_AbC_Google"}, ok: true},
		{name: "flattened with its token", claim: "[acme beta]", auth: fakeBearer(map[string]any{"sub": "alice", "orgs": []string{"acme", "beta"}}),
			want: []string{"acme", "beta"}, ok: true},
		{name: "flattened, token without Bearer", claim: "[acme]", auth: strings.TrimPrefix(fakeBearer(map[string]any{"sub": "alice", "orgs": []string{"acme"}}), "Bearer "),
			want: []string{"acme"}, ok: true},
		{name: "flattened without a token", claim: "[acme beta]"},
		{name: "flattened, token not a JWT", claim: "[acme beta]", auth: "Bearer abc"},
		{name: "flattened, token's claim missing", claim: "[acme]", auth: fakeBearer(map[string]any{"sub": "alice"})},
		{name: "unclosed", claim: "[acme", auth: fakeBearer(map[string]any{"sub": "alice", "orgs": []string{"acme"}})},
		{name: "JSON with an invalid id", claim: `["acme corp"]`},
		{name: "JSON of non-strings", claim: `[1,2]`},
		{name: "comma list", claim: "acme,beta"},
		{name: "space list", claim: "acme beta"},
		{name: "separator", claim: "acme#beta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrgsClaim(tt.claim, "orgs", "alice", tt.auth)
			if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseOrgsClaim(%q) = %q, %v; want %q, ok %v", tt.claim, got, err, tt.want, tt.ok)
			}
			if err != nil && (!gateway.IsCode(err, gateway.CodeForbidden) || strings.Contains(err.Error(), tt.claim)) {
				t.Errorf("error %v: want forbidden, without the claim's value", err)
			}
		})
	}
}
