package template_test

import (
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// eventBusArn is how the worker's role names the EventBusName bus.
const eventBusArn = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"

// TestPermissions: each function has a role of its own whose statements
// grant exactly what functions/permissions.json lists for it, each on the
// resource and with the conditions listed there.
func TestPermissions(t *testing.T) {
	tpl := load(t)
	perms := permissions(t)
	roles := tpl.CFN.GetAllIAMRoleResources()
	roleOf := map[string]string{}
	listed := map[string]bool{}
	for _, f := range functions(t) {
		listed[f.ID] = true
		want, ok := perms.Functions[f.ID]
		if !ok {
			t.Errorf("%s is missing from functions/permissions.json", f.ID)
			continue
		}
		if want.CodeURI != *f.CodeUri.String {
			t.Errorf("%s: functions/permissions.json says codeUri %q, template.yaml %q", f.ID, want.CodeURI, *f.CodeUri.String)
		}
		roleID, attr, ok := template.GetAtt(f.Role)
		if !ok || attr != "Arn" || roles[roleID] == nil {
			t.Errorf("%s: Role must be !GetAtt <an AWS::IAM::Role>.Arn, got %v", f.ID, template.Decode(f.Role))
			continue
		}
		if other, dup := roleOf[roleID]; dup {
			t.Errorf("%s and %s share the role %s", other, f.ID, roleID)
		}
		roleOf[roleID] = f.ID
		role := roles[roleID]
		if len(role.ManagedPolicyArns) > 0 {
			t.Errorf("%s: role %s has managed policies %v; write the actions out", f.ID, roleID, role.ManagedPolicyArns)
		}
		if !lambdaTrust(role.AssumeRolePolicyDocument) {
			t.Errorf("%s: role %s must trust exactly lambda.amazonaws.com: %v", f.ID, roleID, role.AssumeRolePolicyDocument)
		}
		logGroup, err := logGroupOf(tpl, f)
		if err != nil {
			t.Errorf("%s: %v", f.ID, err)
		}
		var statements []map[string]any
		for _, p := range role.Policies {
			statements = append(statements, stmts(get(p.PolicyDocument, "Statement"))...)
		}
		got, problems := granted(statements, logGroup)
		for _, p := range problems {
			t.Errorf("%s: %s", f.ID, p)
		}
		wantSet := grantSet(append(slices.Clone(perms.EveryFunction), want.Grants...))
		if !slices.Equal(got, wantSet) {
			t.Errorf("%s grants\n\t%s\nfunctions/permissions.json lists\n\t%s", f.ID, strings.Join(got, "\n\t"), strings.Join(wantSet, "\n\t"))
		}
		for _, g := range got {
			action := strings.Fields(g)[0]
			switch {
			case f.Dir == "telegram-webhook" && strings.HasPrefix(action, "kms:"):
				t.Errorf("%s: the webhook function may have no kms action, has %s", f.ID, g)
			case f.Dir == "telegram-webhook" && strings.HasPrefix(action, "dynamodb:") && !strings.Contains(g, " with "):
				t.Errorf("%s: the internet-facing webhook function may touch only named attributes (dynamodb:Attributes), has %s", f.ID, g)
			case f.Dir == "telegram-webhook" && strings.Contains(g, " in ") && strings.Contains(g, "GW#*"):
				t.Errorf("%s: the webhook function may touch only partitions of gateway ids (GW#gw_ and 26 characters), has %s", f.ID, g)
			case action == "lambda:InvokeFunction" && f.Dir != "health-check" && g != grantLine(action, "Function:"+f.Dir, nil, nil):
				t.Errorf("%s: only the health check's coordinator may invoke workers, and a function itself, has %s", f.ID, g)
			case f.Dir != "health-worker" && f.Dir != "delivery" && action == "events:PutEvents":
				t.Errorf("%s: only the health worker and delivery may put events, has %s", f.ID, g)
			}
		}
	}
	for id := range perms.Functions {
		if !listed[id] {
			t.Errorf("functions/permissions.json lists %s, which template.yaml does not declare", id)
		}
	}
	for id := range roles {
		if _, used := roleOf[id]; !used {
			t.Errorf("role %s is used by no function", id)
		}
	}
}

// granted turns a role's statements into "action on resource [in
// partitions]" lines, sorted, and reports what no grant may contain.
func granted(statements []map[string]any, logGroup string) (grants []string, problems []string) {
	for i, s := range statements {
		where := fmt.Sprintf("statement %d (%v)", i, s["Sid"])
		for _, k := range []string{"NotAction", "NotResource", "Principal", "NotPrincipal"} {
			if _, ok := s[k]; ok {
				problems = append(problems, where+": has "+k)
			}
		}
		if s["Effect"] != "Allow" {
			problems = append(problems, fmt.Sprintf("%s: Effect %v; roles only allow", where, s["Effect"]))
		}
		var resources []any
		switch r := s["Resource"].(type) {
		case []any:
			resources = r
		default:
			resources = []any{r}
		}
		actions := stringList(s["Action"])
		if len(actions) == 0 || len(resources) == 0 {
			problems = append(problems, where+": no Action or no Resource")
		}
		for _, r := range resources {
			res, ok := resourceName(r, logGroup)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: resource %v is not one functions/permissions.json can name", where, r))
				continue
			}
			for _, a := range actions {
				if strings.ContainsAny(a, "*?") {
					problems = append(problems, where+": wildcard action "+a)
				}
				partitions, attributes, err := checkCondition(a, res, s["Condition"])
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s on %s: %v", where, a, res, err))
				}
				grants = append(grants, grantLine(a, res, partitions, attributes))
			}
		}
	}
	sort.Strings(grants)
	return grants, problems
}

func grantLine(action, resource string, partitions, attributes []string) string {
	line := action + " on " + resource
	if len(partitions) > 0 {
		line += " in " + strings.Join(partitions, ",")
	}
	if len(attributes) > 0 {
		line += " with " + strings.Join(sortedCopy(attributes), ",")
	}
	return line
}

func grantSet(gs []Grant) []string {
	var out []string
	for _, g := range gs {
		for _, a := range g.Actions {
			out = append(out, grantLine(a, g.Resource, g.Partitions, g.Attributes))
		}
	}
	sort.Strings(out)
	return out
}

// stackFunctionArn starts the ARN of one of the stack's functions by its
// name, which a function that invokes itself must use: !GetAtt of its own
// Arn in its role would be a circular dependency.
const stackFunctionArn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-"

// resourceName names a statement's resource as functions/permissions.json
// does: !GetAtt X.Arn is X (LogGroup for the function's own log group),
// !Sub "${X.Arn}/rest" is X/rest, !GetAtt X.StreamArn is X/stream, the
// EventBusName bus is EventBus, and a function of the stack named by its
// ARN is Function:<name>.
func resourceName(v any, logGroup string) (string, bool) {
	if res, attr, ok := template.GetAtt(v); ok && attr == "Arn" {
		if res == logGroup {
			return "LogGroup", true
		}
		return res, true
	}
	if res, attr, ok := template.GetAtt(v); ok && attr == "StreamArn" {
		return res + "/stream", true
	}
	s, ok := template.Sub(v)
	if !ok {
		return "", false
	}
	if s == eventBusArn {
		return "EventBus", true
	}
	if name, ok := strings.CutPrefix(s, stackFunctionArn); ok && name != "" {
		return "Function:" + name, true
	}
	if inner, rest, ok := strings.Cut(strings.TrimPrefix(s, "${"), "}"); ok && strings.HasPrefix(s, "${") {
		if res, ok := strings.CutSuffix(inner, ".Arn"); ok && strings.HasPrefix(rest, "/") {
			return res + rest, true
		}
	}
	return "", false
}

// checkCondition checks the Condition of a grant of action on resource and
// returns the partitions (dynamodb:LeadingKeys) and the attributes
// (dynamodb:Attributes) it limits the grant to: kms actions carry the
// encryption-context condition that matches gateway.Binding, table actions
// a LeadingKeys condition (and may name their attributes, see
// checkAttributes), PutEvents the health check's source, and nothing else
// any condition.
func checkCondition(action, resource string, cond any) (partitions, attributes []string, err error) {
	c, _ := cond.(map[string]any)
	switch {
	case strings.HasPrefix(action, "kms:"):
		return nil, nil, checkBindingCondition(c)
	case strings.HasPrefix(action, "dynamodb:") && resource == "Table":
		like, _ := get(c, "ForAllValues:StringLike").(map[string]any)
		keys := stringList(like["dynamodb:LeadingKeys"])
		if len(like) != 1 || len(keys) == 0 {
			return nil, nil, fmt.Errorf("want ForAllValues:StringLike dynamodb:LeadingKeys, got %v", cond)
		}
		rest := maps.Clone(c)
		delete(rest, "ForAllValues:StringLike")
		if len(rest) == 0 {
			return keys, nil, nil
		}
		attributes, err := checkAttributes(action, rest)
		return keys, attributes, err
	case action == "events:PutEvents":
		for _, source := range []string{health.EventSource, delivery.EventSource} {
			if reflect.DeepEqual(c, map[string]any{"StringEquals": map[string]any{"events:source": source}}) {
				return nil, nil, nil
			}
		}
		return nil, nil, fmt.Errorf("want StringEquals events:source %s or %s, got %v", health.EventSource, delivery.EventSource, cond)
	case cond != nil:
		return nil, nil, fmt.Errorf("unexpected Condition %v", cond)
	}
	return nil, nil, nil
}

// checkAttributes checks the attribute conditions of a table grant, as the
// DynamoDB Developer Guide writes them ("Using IAM policy conditions for
// fine-grained access control"): ForAllValues:StringEquals
// dynamodb:Attributes naming the table's key attributes among the rest
// (DynamoDB cannot use a key the policy does not name), and
// StringEqualsIfExists holding what could read back more than those
// attributes: Select SPECIFIC_ATTRIBUTES for a read, ReturnValues NONE for
// a write (ALL_OLD or ALL_NEW would return the whole item).
func checkAttributes(action string, c map[string]any) ([]string, error) {
	eq, _ := get(c, "ForAllValues:StringEquals").(map[string]any)
	attributes := stringList(eq["dynamodb:Attributes"])
	ifExists, _ := get(c, "StringEqualsIfExists").(map[string]any)
	if len(c) != 2 || len(eq) != 1 || len(attributes) == 0 || len(ifExists) != 1 {
		return attributes, fmt.Errorf("want ForAllValues:StringEquals dynamodb:Attributes and one StringEqualsIfExists, got %v", c)
	}
	for _, key := range []string{dynamo.AttrPK, dynamo.AttrSK} {
		if !slices.Contains(attributes, key) {
			return attributes, fmt.Errorf("dynamodb:Attributes %v lacks the key attribute %s", attributes, key)
		}
	}
	want := map[string]any{"dynamodb:ReturnValues": "NONE"}
	if action == "dynamodb:GetItem" || action == "dynamodb:Query" || action == "dynamodb:BatchGetItem" {
		want = map[string]any{"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
	}
	if !reflect.DeepEqual(ifExists, want) {
		return attributes, fmt.Errorf("StringEqualsIfExists %v, want %v", ifExists, want)
	}
	return attributes, nil
}

// checkBindingCondition: KMS may be used only with an encryption context
// of exactly gateway.Binding's keys, each value shaped like a binding's.
func checkBindingCondition(c map[string]any) error {
	user := gateway.Binding(&gateway.Gateway{ID: gateway.NewID(), UserID: "alice"})
	org := gateway.Binding(&gateway.Gateway{ID: gateway.NewID(), UserID: "alice", OrganizationID: "acme"})
	keys := sortedKeys(user)
	if got := stringList(get(c, "ForAllValues:StringEquals", "kms:EncryptionContextKeys")); !slices.Equal(sortedCopy(got), keys) {
		return fmt.Errorf("ForAllValues:StringEquals kms:EncryptionContextKeys = %v, want %v (gateway.Binding)", got, keys)
	}
	like, _ := get(c, "StringLike").(map[string]any)
	if len(c) != 2 || len(like) != len(keys) {
		return fmt.Errorf("want the context keys condition and one StringLike per key, got %v", c)
	}
	for _, b := range []map[string]string{user, org} {
		for _, k := range keys {
			patterns := stringList(like["kms:EncryptionContext:"+k])
			if !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, b[k]); return ok }) {
				return fmt.Errorf("StringLike kms:EncryptionContext:%s %v does not admit a binding's %q", k, patterns, b[k])
			}
		}
	}
	return nil
}

// lambdaTrust reports whether doc lets exactly Lambda assume the role.
func lambdaTrust(doc any) bool {
	ss := stmts(get(doc, "Statement"))
	return len(ss) == 1 && ss[0]["Effect"] == "Allow" &&
		reflect.DeepEqual(stringList(ss[0]["Action"]), []string{"sts:AssumeRole"}) &&
		reflect.DeepEqual(get(ss[0], "Principal"), map[string]any{"Service": "lambda.amazonaws.com"}) &&
		ss[0]["Condition"] == nil
}

// stmts reads a policy's Statement (a list, or a single statement).
func stmts(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case []any:
		var out []map[string]any
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestGrantedCatchesTooMuch proves the comparison fails for the mistakes
// it exists for: a wildcard, an extra action, a missing condition.
func TestGrantedCatchesTooMuch(t *testing.T) {
	kmsCond := map[string]any{
		"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": []any{"gatewayId", "owner"}},
		"StringLike":                map[string]any{"kms:EncryptionContext:gatewayId": "gw_*", "kms:EncryptionContext:owner": []any{"USER#*", "ORG#*"}},
	}
	table := map[string]any{"Fn::GetAtt": "Table.Arn"}
	key := map[string]any{"Fn::GetAtt": []any{"Key", "Arn"}}
	tests := []struct {
		name      string
		statement map[string]any
		want      []string
		problem   string
	}{
		{"fine", map[string]any{"Effect": "Allow", "Action": []any{"kms:Decrypt"}, "Resource": key, "Condition": kmsCond},
			[]string{"kms:Decrypt on Key"}, ""},
		{"wildcard", map[string]any{"Effect": "Allow", "Action": "dynamodb:*", "Resource": table,
			"Condition": map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"GW#*"}}}},
			[]string{"dynamodb:* on Table in GW#*"}, "wildcard"},
		{"kms without context", map[string]any{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key},
			[]string{"kms:Decrypt on Key"}, "kms:EncryptionContextKeys"},
		{"owner not bound", map[string]any{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key, "Condition": map[string]any{
			"ForAllValues:StringEquals": kmsCond["ForAllValues:StringEquals"],
			"StringLike":                map[string]any{"kms:EncryptionContext:gatewayId": "gw_*", "kms:EncryptionContext:owner": "USER#*"}}},
			[]string{"kms:Decrypt on Key"}, "ORG#acme"},
		{"table without partitions", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table},
			[]string{"dynamodb:GetItem on Table"}, "LeadingKeys"},
		{"any resource", map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
			nil, "not one functions/permissions.json can name"},
		{"attributes", map[string]any{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table, "Condition": map[string]any{
			"ForAllValues:StringLike":   map[string]any{"dynamodb:LeadingKeys": []any{"GW#*"}},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": []any{"pk", "sk", "raw"}},
			"StringEqualsIfExists":      map[string]any{"dynamodb:ReturnValues": "NONE"}}},
			[]string{"dynamodb:PutItem on Table in GW#* with pk,raw,sk"}, ""},
		{"attributes, all returned", map[string]any{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table, "Condition": map[string]any{
			"ForAllValues:StringLike":   map[string]any{"dynamodb:LeadingKeys": []any{"GW#*"}},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": []any{"pk", "sk", "raw"}}}},
			[]string{"dynamodb:PutItem on Table in GW#* with pk,raw,sk"}, "StringEqualsIfExists"},
		{"attributes, ALL_OLD", map[string]any{"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": table, "Condition": map[string]any{
			"ForAllValues:StringLike":   map[string]any{"dynamodb:LeadingKeys": []any{"GW#*"}},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": []any{"pk", "sk", "raw"}},
			"StringEqualsIfExists":      map[string]any{"dynamodb:ReturnValues": []any{"NONE", "ALL_OLD"}}}},
			[]string{"dynamodb:UpdateItem on Table in GW#* with pk,raw,sk"}, "ReturnValues"},
		{"attributes without the key", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table, "Condition": map[string]any{
			"ForAllValues:StringLike":   map[string]any{"dynamodb:LeadingKeys": []any{"GW#*"}},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": []any{"pk", "raw"}},
			"StringEqualsIfExists":      map[string]any{"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}},
			[]string{"dynamodb:GetItem on Table in GW#* with pk,raw"}, "key attribute sk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := granted([]map[string]any{tt.statement}, "OwnLogGroup")
			if !slices.Equal(got, tt.want) {
				t.Errorf("grants %v, want %v", got, tt.want)
			}
			joined := strings.Join(problems, "; ")
			if (tt.problem == "") != (joined == "") || !strings.Contains(joined, tt.problem) {
				t.Errorf("problems %q, want one mentioning %q", joined, tt.problem)
			}
		})
	}
}
