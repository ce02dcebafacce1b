package template_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TestTableMatchesTheStore: the table's keys, attribute types and indexes
// are those of pkg/dynamo.TableInput, which the local runner and the tests
// create; TTL is on dynamo.AttrTTL; the rest is what production needs.
func TestTableMatchesTheStore(t *testing.T) {
	tpl := load(t)
	tables := tpl.CFN.GetAllDynamoDBTableResources()
	tbl, ok := tables["Table"]
	if !ok || len(tables) != 1 {
		t.Fatalf("want the one table Table, have %v", sortedKeys(tables))
	}
	want := dynamo.TableInput("")

	attrs := map[string]string{}
	for _, a := range tbl.AttributeDefinitions {
		attrs[a.AttributeName] = a.AttributeType
	}
	wantAttrs := map[string]string{}
	for _, a := range want.AttributeDefinitions {
		wantAttrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	if !reflect.DeepEqual(attrs, wantAttrs) {
		t.Errorf("AttributeDefinitions %v, TableInput %v", attrs, wantAttrs)
	}
	keys := func(ks []struct{ name, typ string }) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.name+" "+k.typ)
		}
		return out
	}
	type kv = struct{ name, typ string }
	var got, exp []kv
	for _, k := range tbl.KeySchema {
		got = append(got, kv{k.AttributeName, k.KeyType})
	}
	for _, k := range want.KeySchema {
		exp = append(exp, kv{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	if !slices.Equal(keys(got), keys(exp)) {
		t.Errorf("KeySchema %v, TableInput %v", keys(got), keys(exp))
	}

	if len(tbl.GlobalSecondaryIndexes) != len(want.GlobalSecondaryIndexes) || len(tbl.LocalSecondaryIndexes) != len(want.LocalSecondaryIndexes) {
		t.Errorf("%d GSIs and %d LSIs, TableInput has %d and %d", len(tbl.GlobalSecondaryIndexes), len(tbl.LocalSecondaryIndexes),
			len(want.GlobalSecondaryIndexes), len(want.LocalSecondaryIndexes))
	}
	for _, w := range want.GlobalSecondaryIndexes {
		var found bool
		for _, g := range tbl.GlobalSecondaryIndexes {
			if g.IndexName != aws.ToString(w.IndexName) {
				continue
			}
			found = true
			var gk, wk []kv
			for _, k := range g.KeySchema {
				gk = append(gk, kv{k.AttributeName, k.KeyType})
			}
			for _, k := range w.KeySchema {
				wk = append(wk, kv{aws.ToString(k.AttributeName), string(k.KeyType)})
			}
			if !slices.Equal(keys(gk), keys(wk)) {
				t.Errorf("index %s: KeySchema %v, TableInput %v", g.IndexName, keys(gk), keys(wk))
			}
			if g.Projection == nil || template.Plain(g.Projection.ProjectionType) != string(w.Projection.ProjectionType) {
				t.Errorf("index %s: projection %+v, TableInput %s", g.IndexName, g.Projection, w.Projection.ProjectionType)
			}
		}
		if !found {
			t.Errorf("no index %s (TableInput)", aws.ToString(w.IndexName))
		}
	}

	if got := template.Plain(tbl.BillingMode); got != string(want.BillingMode) {
		t.Errorf("BillingMode %q, TableInput %q", got, want.BillingMode)
	}
	if ttl := tbl.TimeToLiveSpecification; ttl == nil || !ttl.Enabled || template.Plain(ttl.AttributeName) != dynamo.AttrTTL {
		t.Errorf("TimeToLiveSpecification %+v, want %s enabled", ttl, dynamo.AttrTTL)
	}
	if p := tbl.PointInTimeRecoverySpecification; p == nil || p.PointInTimeRecoveryEnabled == nil || !*p.PointInTimeRecoveryEnabled {
		t.Error("point-in-time recovery is off")
	}
	if s := tbl.StreamSpecification; s == nil || s.StreamViewType != string(want.StreamSpecification.StreamViewType) {
		t.Errorf("StreamSpecification %+v, want TableInput's %s (the stream's consumers read new images)", s, want.StreamSpecification.StreamViewType)
	}
	if s := tbl.SSESpecification; s == nil || !s.SSEEnabled {
		t.Error("server-side encryption is off")
	}
	if r, _ := template.Ref(tbl.TableName); r != "TableName" {
		t.Errorf("TableName %v, want !Ref TableName", template.Decode(tbl.TableName))
	}
	protect := tpl.Intrinsics["Resources.Table.Properties.DeletionProtectionEnabled"]
	if !reflect.DeepEqual(protect, map[string]any{"Fn::If": []any{"ProtectTable", true, false}}) {
		t.Errorf("DeletionProtectionEnabled %v, want !If [ProtectTable, true, false]", protect)
	}
	if c := get(tpl.Raw, "Conditions", "ProtectTable"); !reflect.DeepEqual(c, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "TableDeletionProtection"}, "true"}}) {
		t.Errorf("condition ProtectTable %v", c)
	}
	if tbl.AWSCloudFormationDeletionPolicy != "Retain" {
		t.Errorf("the table's DeletionPolicy is %q, want Retain", tbl.AWSCloudFormationDeletionPolicy)
	}
}

// TestIdentity: the HTTP API accepts the created user pool's tokens for
// the dashboard's client, or an existing issuer's by parameter; the client
// is a browser's (code with PKCE, no secret) that returns only to the
// dashboard; users cannot grant themselves organisations.
func TestIdentity(t *testing.T) {
	tpl := load(t)
	res := func(path ...any) any { return get(tpl.Raw, append([]any{"Resources"}, path...)...) }
	if c := get(tpl.Raw, "Conditions", "CreateUserPool"); !reflect.DeepEqual(c, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "JwtIssuer"}, ""}}) {
		t.Errorf("condition CreateUserPool %v, want !Equals [!Ref JwtIssuer, \"\"]", c)
	}
	for _, id := range []string{"UserPool", "UserPoolClient", "UserPoolDomain"} {
		if res(id, "Condition") != "CreateUserPool" {
			t.Errorf("%s: Condition %v, want CreateUserPool", id, res(id, "Condition"))
		}
	}

	auth := res("HttpApi", "Properties", "Auth")
	if get(auth, "DefaultAuthorizer") != "JwtAuthorizer" {
		t.Errorf("DefaultAuthorizer %v, want JwtAuthorizer", get(auth, "DefaultAuthorizer"))
	}
	jwt := get(auth, "Authorizers", "JwtAuthorizer")
	if get(jwt, "IdentitySource") != "$request.header.Authorization" {
		t.Errorf("IdentitySource %v", get(jwt, "IdentitySource"))
	}
	wantIssuer := map[string]any{"Fn::If": []any{"CreateUserPool",
		map[string]any{"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
		map[string]any{"Ref": "JwtIssuer"}}}
	if got := get(jwt, "JwtConfiguration", "issuer"); !reflect.DeepEqual(got, wantIssuer) {
		t.Errorf("issuer %v, want %v", got, wantIssuer)
	}
	wantAudience := map[string]any{"Fn::If": []any{"CreateUserPool",
		[]any{map[string]any{"Ref": "UserPoolClient"}},
		map[string]any{"Ref": "JwtAudience"}}}
	if got := get(jwt, "JwtConfiguration", "audience"); !reflect.DeepEqual(got, wantAudience) {
		t.Errorf("audience %v, want %v", got, wantAudience)
	}

	client := res("UserPoolClient", "Properties")
	dashboard := []any{map[string]any{"Fn::Sub": "https://${Distribution.DomainName}/"}}
	for k, want := range map[string]any{
		"GenerateSecret":                  false,
		"AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthFlows":               []any{"code"},
		"SupportedIdentityProviders":      []any{"COGNITO"},
		"CallbackURLs":                    dashboard,
		"LogoutURLs":                      dashboard,
		"UserPoolId":                      map[string]any{"Ref": "UserPool"},
	} {
		if got := get(client, k); !reflect.DeepEqual(got, want) {
			t.Errorf("UserPoolClient %s = %v, want %v", k, got, want)
		}
	}
	if !slices.Contains(stringList(get(client, "AllowedOAuthScopes")), "openid") {
		t.Error("the client's scopes lack openid")
	}
	if r, _ := template.Ref(get(res("UserPoolDomain", "Properties"), "UserPoolId")); r != "UserPool" {
		t.Error("UserPoolDomain is not the user pool's")
	}

	// The orgs claim: a custom attribute that only administrators write.
	claim, _ := get(tpl.Raw, "Parameters", "OrgsClaim", "Default").(string)
	attr, isCustom := strings.CutPrefix(claim, "custom:")
	if !isCustom {
		t.Fatalf("OrgsClaim defaults to %q; Cognito ID tokens carry custom attributes as custom:<name>", claim)
	}
	found := false
	for _, s := range stmts(res("UserPool", "Properties", "Schema")) {
		found = found || (s["Name"] == attr && s["AttributeDataType"] == "String")
	}
	if !found {
		t.Errorf("the user pool has no String attribute %q for the %s claim", attr, claim)
	}
	if !slices.Contains(stringList(get(client, "ReadAttributes")), claim) {
		t.Errorf("the client cannot read %s", claim)
	}
	if w := stringList(get(client, "WriteAttributes")); w == nil || slices.Contains(w, claim) {
		t.Errorf("WriteAttributes %v: users must not write %s (nil means every attribute)", w, claim)
	}
}

// TestCORSAndThrottling: only the dashboard's origin, with the headers the
// dashboard sends and reads; route throttling from the parameters.
func TestCORSAndThrottling(t *testing.T) {
	tpl := load(t)
	cors := get(tpl.Raw, "Resources", "HttpApi", "Properties", "CorsConfiguration")
	if got := get(cors, "AllowOrigins"); !reflect.DeepEqual(got, []any{map[string]any{"Fn::Sub": "https://${Distribution.DomainName}"}}) {
		t.Errorf("AllowOrigins %v, want only the dashboard's", got)
	}
	if get(cors, "AllowCredentials") == true {
		t.Error("AllowCredentials: the dashboard sends bearer tokens, not cookies")
	}
	src, err := os.ReadFile(filepath.Join(root, "frontend", "src", "lib", "api.ts"))
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, re := range []string{`headers\.([A-Za-z]+)\s*=`, `'([A-Za-z]+(?:-[A-Za-z]+)+)'\s*[\]:]`} {
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(string(src), -1) {
			sent = append(sent, strings.ToLower(m[1]))
		}
	}
	for _, must := range []string{"authorization", "x-organization-id"} {
		if !slices.Contains(sent, must) {
			t.Fatalf("api.ts does not seem to send %s (found %v); has its style changed?", must, sent)
		}
	}
	allowed := stringList(get(cors, "AllowHeaders"))
	for _, h := range sent {
		if !slices.Contains(allowed, h) {
			t.Errorf("the dashboard sends %s, which CORS AllowHeaders %v lacks", h, allowed)
		}
	}
	exposed := stringList(get(cors, "ExposeHeaders"))
	for _, m := range regexp.MustCompile(`headers\.get\('([^']+)'\)`).FindAllStringSubmatch(string(src), -1) {
		if !slices.Contains(exposed, strings.ToLower(m[1])) {
			t.Errorf("the dashboard reads %s, which CORS ExposeHeaders %v lacks", m[1], exposed)
		}
	}
	methods := stringList(get(cors, "AllowMethods"))
	for _, c := range dashboardCalls(t) {
		if m := strings.Fields(c)[0]; !slices.Contains(methods, m) {
			t.Errorf("the dashboard uses %s, which CORS AllowMethods %v lacks", m, methods)
		}
	}

	for _, p := range []string{"ThrottlingBurstLimit", "ThrottlingRateLimit"} {
		if r, _ := template.Ref(tpl.Intrinsics["Resources.HttpApi.Properties.DefaultRouteSettings."+p]); r != p {
			t.Errorf("DefaultRouteSettings.%s is not !Ref %s", p, p)
		}
		if typ := get(tpl.Raw, "Parameters", p, "Type"); typ != "Number" {
			t.Errorf("parameter %s: Type %v, want Number", p, typ)
		}
	}
}

// TestWebhookThrottling: the Telegram webhook routes, public and shared by
// every bot, have route settings of their own from the Webhook*
// parameters, so a flood on them is refused at their limit and spends none
// of the default routes' budget; no other route has settings of its own.
func TestWebhookThrottling(t *testing.T) {
	tpl := load(t)
	webhook := 0
	resources, _ := get(tpl.Raw, "Resources").(map[string]any)
	for id, res := range resources {
		if get(res, "Type") != "AWS::Serverless::Function" {
			continue
		}
		events, _ := get(res, "Properties", "Events").(map[string]any)
		for name, ev := range events {
			if get(ev, "Type") != "HttpApi" {
				continue
			}
			key := fmt.Sprint(get(ev, "Properties", "Method"), " ", get(ev, "Properties", "Path"))
			settings := get(ev, "Properties", "RouteSettings")
			if id != "TelegramWebhookFunction" {
				if settings != nil {
					t.Errorf("%s (%s.%s) has RouteSettings; only the webhook routes should", key, id, name)
				}
				continue
			}
			webhook++
			if settings == nil {
				t.Errorf("%s has no RouteSettings: the webhook shares the default routes' throttling", key)
				continue
			}
			for _, tt := range []struct{ setting, param string }{
				{setting: "ThrottlingBurstLimit", param: "WebhookThrottlingBurstLimit"},
				{setting: "ThrottlingRateLimit", param: "WebhookThrottlingRateLimit"},
			} {
				path := "Resources." + id + ".Properties.Events." + name + ".Properties.RouteSettings." + tt.setting
				if ref, _ := template.Ref(tpl.Intrinsics[path]); ref != tt.param {
					t.Errorf("%s is not !Ref %s", path, tt.param)
				}
			}
		}
	}
	if webhook != 2 {
		t.Errorf("%d webhook routes, want POST and GET", webhook)
	}
	for _, tt := range []struct {
		param string
		def   float64
	}{
		{param: "WebhookThrottlingBurstLimit", def: 200},
		{param: "WebhookThrottlingRateLimit", def: 100},
	} {
		p := get(tpl.Raw, "Parameters", tt.param)
		if get(p, "Type") != "Number" || toFloat(get(p, "Default")) != tt.def || toFloat(get(p, "MinValue")) != 1 {
			t.Errorf("parameter %s = %v, want a Number, default %v, at least 1", tt.param, p, tt.def)
		}
	}
}

// TestWebAcl: WebAcl=true (default false) puts the API behind a CloudFront
// distribution of its own with a CLOUDFRONT-scope web ACL — AWS WAF cannot
// be associated with an HTTP API — whose rules rate-limit each address by
// WebAclRateLimit, Telegram's networks excepted, and accept webhook
// deliveries only from those networks. The web ACL exists only in
// us-east-1, which a rule enforces, as it does that the function's own
// source check, which would see CloudFront's addresses, is off there.
func TestWebAcl(t *testing.T) {
	tpl := load(t)
	res := func(path ...any) any { return get(tpl.Raw, append([]any{"Resources"}, path...)...) }
	if p := get(tpl.Raw, "Parameters", "WebAcl"); get(p, "Default") != "false" || !reflect.DeepEqual(get(p, "AllowedValues"), []any{"true", "false"}) {
		t.Errorf("parameter WebAcl = %v, want true/false, default false", p)
	}
	if got := get(tpl.Raw, "Conditions", "UseWebAcl"); !reflect.DeepEqual(got, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "WebAcl"}, "true"}}) {
		t.Errorf("condition UseWebAcl = %v", got)
	}
	for _, id := range []string{"ApiWebAcl", "TelegramIpSet", "ApiDistribution"} {
		if c := res(id, "Condition"); c != "UseWebAcl" {
			t.Errorf("%s: Condition %v, want UseWebAcl", id, c)
		}
	}
	if c := get(tpl.Raw, "Outputs", "EdgeApiUrl", "Condition"); c != "UseWebAcl" {
		t.Errorf("output EdgeApiUrl: Condition %v", c)
	}

	acl := res("ApiWebAcl", "Properties")
	if get(acl, "Scope") != "CLOUDFRONT" || get(acl, "DefaultAction", "Allow") == nil {
		t.Errorf("web ACL: Scope %v, DefaultAction %v; want CLOUDFRONT, Allow", get(acl, "Scope"), get(acl, "DefaultAction"))
	}
	if get(res("TelegramIpSet", "Properties"), "Scope") != "CLOUDFRONT" {
		t.Error("TelegramIpSet: Scope is not CLOUDFRONT")
	}
	ipSet := map[string]any{"Fn::GetAtt": "TelegramIpSet.Arn"}
	notTelegram := map[string]any{"NotStatement": map[string]any{"Statement": map[string]any{"IPSetReferenceStatement": map[string]any{"Arn": ipSet}}}}
	rules, _ := get(acl, "Rules").([]any)
	var rate, webhook any
	for i, r := range rules {
		switch {
		case get(r, "Statement", "RateBasedStatement") != nil:
			rate = r
			path := fmt.Sprintf("Resources.ApiWebAcl.Properties.Rules[%d].Statement.RateBasedStatement.Limit", i)
			if ref, _ := template.Ref(tpl.Intrinsics[path]); ref != "WebAclRateLimit" {
				t.Errorf("%s is not !Ref WebAclRateLimit", path)
			}
		case get(r, "Statement", "AndStatement") != nil:
			webhook = r
		}
	}
	if rate == nil {
		t.Fatal("the web ACL has no rate-based rule")
	}
	st := get(rate, "Statement", "RateBasedStatement")
	if get(st, "AggregateKeyType") != "IP" || get(rate, "Action", "Block") == nil || !reflect.DeepEqual(get(st, "ScopeDownStatement"), notTelegram) {
		t.Errorf("rate rule %v: want per IP, blocking, Telegram's networks not counted", rate)
	}
	if p := get(tpl.Raw, "Parameters", "WebAclRateLimit"); get(p, "Type") != "Number" || toFloat(get(p, "MinValue")) < 10 {
		t.Errorf("parameter WebAclRateLimit = %v: want a Number of at least 10 (WAF's least)", p)
	}
	parts, _ := get(webhook, "Statement", "AndStatement", "Statements").([]any)
	if len(parts) != 2 || get(parts[0], "ByteMatchStatement", "SearchString") != "/api/webhooks/telegram/" ||
		get(parts[0], "ByteMatchStatement", "PositionalConstraint") != "STARTS_WITH" || !reflect.DeepEqual(parts[1], notTelegram) || get(webhook, "Action", "Block") == nil {
		t.Errorf("webhook rule %v: want webhook paths from outside TelegramIpSet blocked", webhook)
	}

	// The association: CloudFront names the web ACL (WebACLId, the ARN for
	// WAFv2), in front of this stack's HttpApi, caching nothing.
	cfg := res("ApiDistribution", "Properties", "DistributionConfig")
	if got := get(cfg, "WebACLId"); !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": "ApiWebAcl.Arn"}) {
		t.Errorf("ApiDistribution WebACLId = %v, want the web ACL's ARN", got)
	}
	if got := get(cfg, "Origins", 0, "DomainName"); !reflect.DeepEqual(got, map[string]any{"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}) {
		t.Errorf("ApiDistribution origin %v, want the HttpApi", got)
	}
	behavior := get(cfg, "DefaultCacheBehavior")
	if get(behavior, "CachePolicyId") != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" || get(behavior, "OriginRequestPolicyId") != "b689b0a8-53d0-40ab-baf2-68738e2966ac" {
		t.Errorf("ApiDistribution must cache nothing and pass every header but Host: %v", behavior)
	}
	if methods := stringList(get(behavior, "AllowedMethods")); !slices.Contains(methods, "POST") || !slices.Contains(methods, "PATCH") {
		t.Errorf("ApiDistribution AllowedMethods %v", methods)
	}
	if get(cfg, "IPV6Enabled") != false {
		t.Error("ApiDistribution: IPv6 on, but TelegramIpSet is IPv4")
	}

	rule := get(tpl.Raw, "Rules", "WebAclInUsEast1")
	if got := get(rule, "RuleCondition"); !reflect.DeepEqual(got, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "WebAcl"}, "true"}}) {
		t.Errorf("rule WebAclInUsEast1: RuleCondition %v", got)
	}
	var asserts []any
	for _, a := range get(rule, "Assertions").([]any) {
		asserts = append(asserts, get(a, "Assert"))
	}
	for _, want := range []any{
		map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, "us-east-1"}},
		map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "TelegramSourceRanges"}, ""}},
	} {
		if !slices.ContainsFunc(asserts, func(a any) bool { return reflect.DeepEqual(a, want) }) {
			t.Errorf("rule WebAclInUsEast1 lacks %v", want)
		}
	}
}

// toFloat returns a YAML number as float64 (0 when v is not a number).
func toFloat(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// TestDashboardHosting: a private bucket that only the distribution reads,
// through origin access control, with client routes answered by index.html.
func TestDashboardHosting(t *testing.T) {
	tpl := load(t)
	res := func(path ...any) any { return get(tpl.Raw, append([]any{"Resources"}, path...)...) }
	for k, v := range get(res("DashboardBucket", "Properties"), "PublicAccessBlockConfiguration").(map[string]any) {
		if v != true {
			t.Errorf("PublicAccessBlockConfiguration.%s = %v", k, v)
		}
	}
	if n := len(get(res("DashboardBucket", "Properties"), "PublicAccessBlockConfiguration").(map[string]any)); n != 4 {
		t.Errorf("PublicAccessBlockConfiguration sets %d of the 4 blocks", n)
	}
	policies := 0
	for id, r := range tpl.Raw["Resources"].(map[string]any) {
		if get(r, "Type") != "AWS::S3::BucketPolicy" {
			continue
		}
		if b, _ := template.Ref(get(r, "Properties", "Bucket")); b != "DashboardBucket" {
			continue
		}
		policies++
		for _, s := range stmts(get(r, "Properties", "PolicyDocument", "Statement")) {
			if s["Effect"] != "Allow" {
				continue
			}
			cond := get(s, "Condition", "StringEquals", "AWS:SourceArn")
			arn, _ := template.Sub(cond)
			if !reflect.DeepEqual(s["Principal"], map[string]any{"Service": "cloudfront.amazonaws.com"}) || s["Action"] != "s3:GetObject" ||
				!strings.HasSuffix(arn, ":distribution/${Distribution}") {
				t.Errorf("%s allows %v; only CloudFront may read, for this distribution (AWS:SourceArn)", id, s)
			}
		}
	}
	if policies != 1 {
		t.Errorf("%d bucket policies for DashboardBucket, want 1", policies)
	}
	oac := res("DashboardOriginAccessControl", "Properties", "OriginAccessControlConfig")
	for k, want := range map[string]string{"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"} {
		if get(oac, k) != want {
			t.Errorf("origin access control %s = %v, want %s", k, get(oac, k), want)
		}
	}
	cfg := res("Distribution", "Properties", "DistributionConfig")
	origins := stmts(get(cfg, "Origins"))
	if len(origins) != 1 {
		t.Fatalf("%d origins, want the bucket", len(origins))
	}
	o := origins[0]
	if r, a, _ := template.GetAtt(o["DomainName"]); r != "DashboardBucket" || a != "RegionalDomainName" {
		t.Errorf("origin DomainName %v, want the bucket's regional domain", o["DomainName"])
	}
	if r, a, _ := template.GetAtt(o["OriginAccessControlId"]); r != "DashboardOriginAccessControl" || a != "Id" {
		t.Errorf("origin OriginAccessControlId %v", o["OriginAccessControlId"])
	}
	if oai := get(o, "S3OriginConfig", "OriginAccessIdentity"); oai != "" {
		t.Errorf("OriginAccessIdentity %v: with origin access control it must be empty", oai)
	}
	if get(cfg, "DefaultRootObject") != "index.html" {
		t.Error("DefaultRootObject is not index.html")
	}
	if v := get(cfg, "DefaultCacheBehavior", "ViewerProtocolPolicy"); v != "redirect-to-https" && v != "https-only" {
		t.Errorf("ViewerProtocolPolicy %v", v)
	}
	errs := map[float64]bool{}
	for _, e := range stmts(get(cfg, "CustomErrorResponses")) {
		if e["ResponsePagePath"] == "/index.html" && e["ResponseCode"] == float64(200) {
			errs[e["ErrorCode"].(float64)] = true
		}
	}
	if !errs[403] || !errs[404] {
		t.Errorf("403 and 404 must answer /index.html with 200 (client routes), have %v", errs)
	}
}

// TestKey: rotation, an alias the functions name, and a key policy that
// refuses any use without a gateway binding.
func TestKey(t *testing.T) {
	tpl := load(t)
	key := get(tpl.Raw, "Resources", "Key")
	if get(key, "Properties", "EnableKeyRotation") != true {
		t.Error("key rotation is off")
	}
	if get(key, "DeletionPolicy") != "Retain" {
		t.Error("the key is not retained: deleting it would make every credential unreadable")
	}
	if r, _ := template.Ref(get(tpl.Raw, "Resources", "KeyAlias", "Properties", "TargetKeyId")); r != "Key" {
		t.Error("KeyAlias does not target Key")
	}
	var root bool
	statements := stmts(get(key, "Properties", "KeyPolicy", "Statement"))
	for _, s := range statements {
		p, _ := template.Sub(get(s, "Principal", "AWS"))
		root = root || (s["Effect"] == "Allow" && p == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
	}
	// Each key of the binding missing on its own is denied (the full
	// table of cases is TestKeyPolicyRequiresTheWholeBinding).
	deny := true
	binding := gateway.Binding(&gateway.Gateway{ID: gateway.NewID(), UserID: "u"})
	for k := range binding {
		partial := maps.Clone(binding)
		delete(partial, k)
		d, err := denied(statements, "kms:Decrypt", kmsRequest(partial))
		if err != nil {
			t.Fatal(err)
		}
		deny = deny && d
	}
	if !root || !deny {
		t.Errorf("key policy: account delegation %v, denial of unbound use %v", root, deny)
	}
}

// TestOutputs: what a deployment needs to know.
func TestOutputs(t *testing.T) {
	tpl := load(t)
	want := map[string]any{
		"ApiUrl":           map[string]any{"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
		"DashboardUrl":     map[string]any{"Fn::Sub": "https://${Distribution.DomainName}/"},
		"UserPoolId":       map[string]any{"Ref": "UserPool"},
		"UserPoolClientId": map[string]any{"Ref": "UserPoolClient"},
		"TableName":        map[string]any{"Ref": "Table"},
		"DashboardBucket":  map[string]any{"Ref": "DashboardBucket"},
		"DistributionId":   map[string]any{"Ref": "Distribution"},
	}
	for name, v := range want {
		if got := get(tpl.Raw, "Outputs", name, "Value"); !reflect.DeepEqual(got, v) {
			t.Errorf("output %s = %v, want %v", name, got, v)
		}
	}
	for _, name := range []string{"UserPoolId", "UserPoolClientId", "DashboardConfig"} {
		if c := get(tpl.Raw, "Outputs", name, "Condition"); c != "CreateUserPool" {
			t.Errorf("output %s: Condition %v, want CreateUserPool", name, c)
		}
	}
}

// TestDashboardConfig: the DashboardConfig output, which `make deploy`
// writes to /config.json, has the shape frontend/src/lib/config.ts reads and
// names this template's client, domain, redirect and claim.
func TestDashboardConfig(t *testing.T) {
	tpl := load(t)
	parts, ok := get(tpl.Raw, "Outputs", "DashboardConfig", "Value", "Fn::Sub").([]any)
	if !ok || len(parts) != 2 {
		t.Fatalf("DashboardConfig must be !Sub [template, {ApiBase: …}], is %v", get(tpl.Raw, "Outputs", "DashboardConfig", "Value"))
	}
	text, _ := parts[0].(string)
	placeholder := func(s string) string {
		return regexp.MustCompile(`\$\{([^}]+)\}`).ReplaceAllString(s, "<$1>")
	}
	var cfg struct {
		APIBaseURL string         `json:"apiBaseUrl"`
		Auth       map[string]any `json:"auth"`
	}
	if err := json.Unmarshal([]byte(placeholder(text)), &cfg); err != nil {
		t.Fatalf("DashboardConfig is not JSON once substituted: %v\n%s", err, text)
	}
	src, err := os.ReadFile(filepath.Join(root, "frontend", "src", "lib", "config.ts"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`for \(const k of \[([^\]]*)\]\)`).FindStringSubmatch(string(src))
	if m == nil {
		t.Fatal("config.ts: the list of required Cognito keys is not where this test looks")
	}
	for _, k := range regexp.MustCompile(`'([^']+)'`).FindAllStringSubmatch(m[1], -1) {
		if s, _ := cfg.Auth[k[1]].(string); s == "" {
			t.Errorf("auth.%s is required by config.ts and missing", k[1])
		}
	}
	wantAuth := map[string]any{
		"mode":        "cognito",
		"domain":      "https://<UserPoolDomain>.auth.<AWS::Region>.amazoncognito.com",
		"clientId":    "<UserPoolClient>",
		"redirectUri": "https://<Distribution.DomainName>/",
		"logoutUri":   "https://<Distribution.DomainName>/",
		"tokenUse":    "id", // Cognito puts custom:orgs only into ID tokens
		"orgsClaim":   "<OrgsClaim>",
	}
	for k, v := range wantAuth {
		if cfg.Auth[k] != v {
			t.Errorf("auth.%s = %v, want %v", k, cfg.Auth[k], v)
		}
	}
	callback := stringList(get(tpl.Raw, "Resources", "UserPoolClient", "Properties", "CallbackURLs", 0, "Fn::Sub"))
	if len(callback) != 1 || placeholder(callback[0]) != cfg.Auth["redirectUri"] {
		t.Errorf("redirectUri %v is not the client's callback %v", cfg.Auth["redirectUri"], callback)
	}
	scopes := stringList(get(tpl.Raw, "Resources", "UserPoolClient", "Properties", "AllowedOAuthScopes"))
	for _, s := range stringList(cfg.Auth["scopes"]) {
		if !slices.Contains(scopes, s) {
			t.Errorf("the dashboard asks for scope %s, which the client does not allow", s)
		}
	}
	if cfg.APIBaseURL != "<ApiBase>" {
		t.Errorf("apiBaseUrl %q", cfg.APIBaseURL)
	}
	wantBase := map[string]any{"Fn::If": []any{"HasPublicApiUrl", map[string]any{"Ref": "PublicApiUrl"},
		get(tpl.Raw, "Outputs", "ApiUrl", "Value")}}
	if got := get(parts[1], "ApiBase"); !reflect.DeepEqual(got, wantBase) {
		t.Errorf("ApiBase = %v, want %v", got, wantBase)
	}
}
