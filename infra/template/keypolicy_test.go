package template_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// kmsRequest is the request context of a KMS call made with the
// encryption context ctx (nil: none).
func kmsRequest(ctx map[string]string) iamRequest {
	req := iamRequest{}
	for k, v := range ctx {
		req["kms:EncryptionContextKeys"] = append(req["kms:EncryptionContextKeys"], k)
		req["kms:EncryptionContext:"+k] = []string{v}
	}
	return req
}

// TestKeyPolicyRequiresTheWholeBinding: whatever a role allows, the key
// policy denies every cryptographic use of the key whose encryption
// context lacks either key of gateway.Binding (gatewayId, owner) or has
// any other key, and lets a full binding through to IAM. Evaluated over
// the template's own key policy for each combination.
func TestKeyPolicyRequiresTheWholeBinding(t *testing.T) {
	tpl := load(t)
	statements := stmts(get(tpl.Raw, "Resources", "Key", "Properties", "KeyPolicy", "Statement"))
	if len(statements) == 0 {
		t.Fatal("template.yaml: Key has no KeyPolicy statements")
	}
	b := gateway.Binding(&gateway.Gateway{ID: gateway.NewID(), UserID: "alice", OrganizationID: "acme"})
	if len(b) != 2 || b["gatewayId"] == "" || b["owner"] == "" {
		t.Fatalf("gateway.Binding = %v; this test names its keys gatewayId and owner", b)
	}
	tests := []struct {
		name    string
		context map[string]string
		deny    bool
	}{
		{name: "no context", context: nil, deny: true},
		{name: "gatewayId only", context: map[string]string{"gatewayId": b["gatewayId"]}, deny: true},
		{name: "owner only", context: map[string]string{"owner": b["owner"]}, deny: true},
		{name: "other key only", context: map[string]string{"purpose": "x"}, deny: true},
		{name: "binding and another key", context: map[string]string{"gatewayId": b["gatewayId"], "owner": b["owner"], "purpose": "x"}, deny: true},
		{name: "gatewayId and another key", context: map[string]string{"gatewayId": b["gatewayId"], "purpose": "x"}, deny: true},
		{name: "binding", context: b, deny: false},
	}
	actions := []string{"kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, action := range actions {
				got, err := denied(statements, action, kmsRequest(tt.context))
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.deny {
					t.Errorf("%s with context keys %v: denied %v, want %v", action, sortedKeys(tt.context), got, tt.deny)
				}
			}
		})
	}
}

// TestConditionEvaluator pins the evaluator to what the IAM User Guide
// says, on the cases that make key policies wrong: a deny written with
// ForAllValues:StringEquals alone does not fire for an empty context.
func TestConditionEvaluator(t *testing.T) {
	keys := []any{"gatewayId", "owner"}
	tests := []struct {
		name string
		cond map[string]any
		req  iamRequest
		want bool
	}{
		{name: "ForAllValues holds for an empty set", cond: map[string]any{"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": keys}},
			req: kmsRequest(nil), want: true},
		{name: "ForAllValues:StringNotEquals holds for an empty set", cond: map[string]any{"ForAllValues:StringNotEquals": map[string]any{"kms:EncryptionContextKeys": keys}},
			req: kmsRequest(nil), want: true},
		{name: "ForAnyValue fails for an empty set", cond: map[string]any{"ForAnyValue:StringNotEquals": map[string]any{"kms:EncryptionContextKeys": keys}},
			req: kmsRequest(nil), want: false},
		{name: "ForAnyValue:StringNotEquals finds a foreign key", cond: map[string]any{"ForAnyValue:StringNotEquals": map[string]any{"kms:EncryptionContextKeys": keys}},
			req: kmsRequest(map[string]string{"gatewayId": "g", "x": "y"}), want: true},
		{name: "ForAllValues:StringEquals refuses a foreign key", cond: map[string]any{"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": keys}},
			req: kmsRequest(map[string]string{"gatewayId": "g", "x": "y"}), want: false},
		{name: "Null true on a missing key", cond: map[string]any{"Null": map[string]any{"kms:EncryptionContext:owner": "true"}},
			req: kmsRequest(map[string]string{"gatewayId": "g"}), want: true},
		{name: "Null true on a present key", cond: map[string]any{"Null": map[string]any{"kms:EncryptionContext:owner": "true"}},
			req: kmsRequest(map[string]string{"owner": "USER#a"}), want: false},
		{name: "two Null keys in one statement AND", cond: map[string]any{"Null": map[string]any{"kms:EncryptionContext:owner": "true", "kms:EncryptionContext:gatewayId": "true"}},
			req: kmsRequest(map[string]string{"owner": "USER#a"}), want: false},
		{name: "positive operator on a missing key", cond: map[string]any{"StringEquals": map[string]any{"dynamodb:ReturnValues": "NONE"}},
			req: iamRequest{}, want: false},
		{name: "IfExists on a missing key", cond: map[string]any{"StringEqualsIfExists": map[string]any{"dynamodb:ReturnValues": "NONE"}},
			req: iamRequest{}, want: true},
		{name: "IfExists on a present key", cond: map[string]any{"StringEqualsIfExists": map[string]any{"dynamodb:ReturnValues": "NONE"}},
			req: iamRequest{"dynamodb:ReturnValues": {"ALL_OLD"}}, want: false},
		{name: "negated operator on a missing key", cond: map[string]any{"StringNotLike": map[string]any{"kms:EncryptionContext:owner": "USER#*"}},
			req: iamRequest{}, want: true},
		{name: "StringLike ? is one character", cond: map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": "GW#gw_??"}},
			req: iamRequest{"dynamodb:LeadingKeys": {"GW#gw_abc"}}, want: false},
		{name: "StringLike * crosses slashes", cond: map[string]any{"StringLike": map[string]any{"k": "a*c"}},
			req: iamRequest{"k": {"a/b[c"}}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := conditionHolds(tt.cond, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("condition %v on %v = %v, want %v", tt.cond, tt.req, got, tt.want)
			}
		})
	}
}
