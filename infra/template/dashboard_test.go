package template_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/template"
)

// csp splits a Content-Security-Policy into its directives' sources.
func csp(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("directive %s twice: browsers use the first and ignore the second", f[0])
		}
		out[f[0]] = f[1:]
	}
	return out
}

// TestDashboardSecurityHeaders: the dashboard's distribution sends a
// Content-Security-Policy from a response-headers policy of this template
// that allows scripts, styles and images from the dashboard's own origin
// only, no inline script or eval, requests only to the dashboard, the API
// and the identity provider, no framing, plugins, <base> or foreign form
// targets — and the other security headers, overriding whatever the bucket
// might send.
func TestDashboardSecurityHeaders(t *testing.T) {
	tpl := load(t)
	h, err := tpl.DashboardHeaders(map[string]string{"ApiOrigin": "https://api.test", "IdpOrigin": "https://idp.test"})
	if err != nil {
		t.Fatal(err)
	}
	got := csp(t, h.Get("Content-Security-Policy"))
	want := map[string][]string{
		"default-src":     {"'self'"},
		"script-src":      {"'self'"},
		"style-src":       {"'self'"},
		"img-src":         {"'self'"},
		"connect-src":     {"'self'", "https://api.test", "https://idp.test"},
		"object-src":      {"'none'"},
		"base-uri":        {"'self'"},
		"form-action":     {"'self'"},
		"frame-ancestors": {"'none'"},
	}
	for d, w := range want {
		if !slices.Equal(got[d], w) {
			t.Errorf("%s %v, want %v", d, got[d], w)
		}
	}
	for d := range got {
		if _, ok := want[d]; !ok {
			t.Errorf("directive %s %v: not one this test knows; add it to want once it is right", d, got[d])
		}
	}
	for d, srcs := range got {
		for _, s := range srcs {
			if s == "*" || strings.HasPrefix(s, "'unsafe-") || s == "data:" || s == "blob:" || s == "http:" || s == "https:" || strings.HasPrefix(s, "http://") {
				t.Errorf("%s allows %s", d, s)
			}
		}
	}
	for k, w := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer", // as index.html's meta says
		"Strict-Transport-Security": "max-age=31536000",
	} {
		if g := h.Get(k); g != w {
			t.Errorf("%s: %q, want %q", k, g, w)
		}
	}

	// Every header overrides the origin's: an object's metadata in the
	// bucket must not be able to loosen the policy.
	name, _ := template.Ref(get(tpl.Raw, "Resources", "Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "ResponseHeadersPolicyId"))
	sec, _ := get(tpl.Raw, "Resources", name, "Properties", "ResponseHeadersPolicyConfig", "SecurityHeadersConfig").(map[string]any)
	for _, k := range []string{"ContentSecurityPolicy", "ContentTypeOptions", "FrameOptions", "ReferrerPolicy", "StrictTransportSecurity"} {
		if get(sec, k, "Override") != true {
			t.Errorf("SecurityHeadersConfig.%s.Override is %v, want true", k, get(sec, k, "Override"))
		}
	}
	if v, _ := template.Sub(get(tpl.Raw, "Resources", name, "Properties", "ResponseHeadersPolicyConfig", "Name")); !strings.Contains(v, "${AWS::StackName}") {
		t.Errorf("the policy's Name %q must carry the stack's name: names are unique per account", v)
	}
}

// TestDashboardConnectsOnlyWhereItsConfigPoints: evaluated for each kind
// of deployment, the policy's connect-src names exactly the origins the
// dashboard's /config.json sends it to — the API (its execute-api URL, or
// PublicApiUrl) and the identity provider's token endpoint (the Cognito
// hosted UI, or an external issuer's host) — so the deployed dashboard can
// sign in and call the API, and nothing else.
func TestDashboardConnectsOnlyWhereItsConfigPoints(t *testing.T) {
	tpl := load(t)
	name, _ := template.Ref(get(tpl.Raw, "Resources", "Distribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "ResponseHeadersPolicyId"))
	sub, ok := get(tpl.Raw, "Resources", name, "Properties", "ResponseHeadersPolicyConfig", "SecurityHeadersConfig", "ContentSecurityPolicy", "ContentSecurityPolicy", "Fn::Sub").([]any)
	if !ok || len(sub) != 2 {
		t.Fatalf("the policy must be !Sub [policy, {ApiOrigin: …, IdpOrigin: …}], is %v", sub)
	}
	exprs, _ := sub[1].(map[string]any)
	if keys := slices.Sorted(maps.Keys(exprs)); !slices.Equal(keys, []string{"ApiOrigin", "IdpOrigin"}) {
		t.Fatalf("variables %v, want ApiOrigin and IdpOrigin", keys)
	}
	known := map[string]string{
		"AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "gh",
		"HttpApi": "abc123", "UserPoolDomain": "gh-dev", "UserPoolClient": "client1",
		"Distribution.DomainName": "d111.cloudfront.net", "OrgsClaim": "custom:orgs",
	}
	for _, tc := range []struct {
		name       string
		params     map[string]string
		conditions map[string]bool
		wantAPI    string // the API's origin; "" for none
		wantIdP    string // where the token endpoint is
	}{
		{
			// The first deployment, before `make deploy` sets PublicApiUrl
			// and uploads the dashboard: no API yet.
			name:       "cognito, PublicApiUrl not yet set",
			params:     map[string]string{"PublicApiUrl": "", "JwtIssuer": ""},
			conditions: map[string]bool{"CreateUserPool": true, "HasPublicApiUrl": false},
			wantIdP:    "https://gh-dev.auth.eu-west-1.amazoncognito.com",
		},
		{
			name:       "cognito, API on its execute-api URL",
			params:     map[string]string{"PublicApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com", "JwtIssuer": ""},
			conditions: map[string]bool{"CreateUserPool": true, "HasPublicApiUrl": true},
			wantAPI:    "https://abc123.execute-api.eu-west-1.amazonaws.com",
			wantIdP:    "https://gh-dev.auth.eu-west-1.amazoncognito.com",
		},
		{
			name:       "cognito, API on a custom domain with a base path",
			params:     map[string]string{"PublicApiUrl": "https://api.example.com/gatehouse", "JwtIssuer": ""},
			conditions: map[string]bool{"CreateUserPool": true, "HasPublicApiUrl": true},
			wantAPI:    "https://api.example.com",
			wantIdP:    "https://gh-dev.auth.eu-west-1.amazoncognito.com",
		},
		{
			name:       "external issuer",
			params:     map[string]string{"PublicApiUrl": "https://api.example.com", "JwtIssuer": "https://tenant.eu.auth0.com/"},
			conditions: map[string]bool{"CreateUserPool": false, "HasPublicApiUrl": true},
			wantAPI:    "https://api.example.com",
			wantIdP:    "https://tenant.eu.auth0.com",
		},
		{
			name:       "external issuer with a path",
			params:     map[string]string{"PublicApiUrl": "https://api.example.com", "JwtIssuer": "https://login.example.org/realms/gatehouse"},
			conditions: map[string]bool{"CreateUserPool": false, "HasPublicApiUrl": true},
			wantAPI:    "https://api.example.com",
			wantIdP:    "https://login.example.org",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := evaluator{values: maps.Clone(known), conditions: tc.conditions}
			maps.Copy(ev.values, tc.params)
			vars := map[string]string{}
			for k, e := range exprs {
				vars[k] = ev.eval(t, e)
			}
			h, err := tpl.DashboardHeaders(vars)
			if err != nil {
				t.Fatal(err)
			}
			connect := csp(t, h.Get("Content-Security-Policy"))["connect-src"]
			want := []string{"'self'", tc.wantAPI, tc.wantIdP}
			if tc.wantAPI == "" {
				want = []string{"'self'", tc.wantIdP}
			}
			if !slices.Equal(connect, want) {
				t.Errorf("connect-src %v, want %v", connect, want)
			}
			if !tc.conditions["CreateUserPool"] || tc.wantAPI == "" {
				return
			}
			// The config.json this deployment writes points where connect-src allows.
			cfgSub, _ := get(tpl.Raw, "Outputs", "DashboardConfig", "Value", "Fn::Sub").([]any)
			var cfg struct {
				APIBaseURL string `json:"apiBaseUrl"`
				Auth       struct {
					Domain string `json:"domain"`
				} `json:"auth"`
			}
			if err := json.Unmarshal([]byte(ev.eval(t, map[string]any{"Fn::Sub": cfgSub})), &cfg); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{cfg.APIBaseURL, cfg.Auth.Domain + "/oauth2/token"} {
				p, err := url.Parse(u)
				if err != nil || !slices.Contains(connect, p.Scheme+"://"+p.Host) {
					t.Errorf("config.json sends the dashboard to %s, which connect-src %v does not allow", u, connect)
				}
			}
		})
	}
}

// TestDashboardHeadersReadsThePolicy: DashboardHeaders follows the
// distribution to its policy, writes each header as CloudFront does, and
// refuses a policy it cannot read rather than serving less than production.
func TestDashboardHeadersReadsThePolicy(t *testing.T) {
	const base = `
Resources:
  Dist:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins:
          - {Id: o, DomainName: !GetAtt DashboardBucket.RegionalDomainName, S3OriginConfig: {}}
        DefaultCacheBehavior:
          TargetOriginId: o
          ViewerProtocolPolicy: https-only
          ResponseHeadersPolicyId: %s
  Headers:
    Type: AWS::CloudFront::ResponseHeadersPolicy
    Properties:
      ResponseHeadersPolicyConfig:
        Name: h
        SecurityHeadersConfig:
          ContentSecurityPolicy:
            ContentSecurityPolicy: %s
            Override: true
          StrictTransportSecurity: {AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Preload: true, Override: true}
          XSSProtection: {Protection: false, Override: true}
        CustomHeadersConfig:
          Items:
            - {Header: Cross-Origin-Opener-Policy, Value: same-origin, Override: true}
`
	for _, tc := range []struct {
		name    string
		ref     string
		policy  string
		vars    map[string]string
		wantCSP string
		wantErr string
	}{
		{name: "plain", ref: "!Ref Headers", policy: `"default-src 'self'"`, wantCSP: "default-src 'self'"},
		{name: "sub with variables, empty ones dropped", ref: "!Ref Headers",
			policy: `!Sub ["default-src 'self';  connect-src 'self' ${A} ${B};", {A: x, B: y}]`,
			vars:   map[string]string{"A": "", "B": "https://b.test"}, wantCSP: "default-src 'self'; connect-src 'self' https://b.test"},
		{name: "escaped literal", ref: "!Ref Headers", policy: `!Sub "default-src 'self' ${!Literal}"`, wantCSP: "default-src 'self' ${Literal}"},
		{name: "a variable without a value", ref: "!Ref Headers", policy: `!Sub "connect-src ${A} ${B}"`, vars: map[string]string{"A": ""}, wantErr: "no value for ${B}"},
		{name: "a managed policy", ref: "67f7725c-6f97-4210-82d7-5512b31e9d03", policy: `x`, wantErr: "not a !Ref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := template.Parse([]byte(fmt.Sprintf(base, tc.ref, tc.policy)))
			if err != nil {
				t.Fatal(err)
			}
			h, err := tpl.DashboardHeaders(tc.vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range map[string]string{
				"Content-Security-Policy":    tc.wantCSP,
				"Strict-Transport-Security":  "max-age=63072000; includeSubDomains; preload",
				"X-XSS-Protection":           "0",
				"Cross-Origin-Opener-Policy": "same-origin",
			} {
				if g := h.Get(k); g != w {
					t.Errorf("%s: %q, want %q", k, g, w)
				}
			}
		})
	}
}

// evaluator computes the few intrinsic functions the dashboard's policy
// uses, for one imagined deployment: Ref and ${…} from values, Fn::If from
// conditions, Fn::Sub, Fn::Select, Fn::Split and Fn::Join as CloudFormation
// does (Fn::Select out of range is a stack error there, and here).
type evaluator struct {
	values     map[string]string
	conditions map[string]bool
}

func (ev evaluator) eval(t *testing.T, v any) string {
	t.Helper()
	s, ok := ev.value(t, v).(string)
	if !ok {
		t.Fatalf("%v is not a string", v)
	}
	return s
}

func (ev evaluator) value(t *testing.T, v any) any {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = ev.value(t, x[i])
		}
		return out
	case map[string]any:
		for fn, arg := range x {
			args, _ := arg.([]any)
			switch fn {
			case "Ref":
				val, ok := ev.values[arg.(string)]
				if !ok {
					t.Fatalf("Ref %v: no value", arg)
				}
				return val
			case "Fn::If":
				c, ok := ev.conditions[args[0].(string)]
				if !ok {
					t.Fatalf("Fn::If: condition %v unknown", args[0])
				}
				if c {
					return ev.value(t, args[1])
				}
				return ev.value(t, args[2])
			case "Fn::Select":
				i, _ := strconv.Atoi(fmt.Sprint(args[0]))
				list, _ := ev.value(t, args[1]).([]any)
				if i < 0 || i >= len(list) {
					t.Fatalf("Fn::Select %d of %v: out of range, a stack error", i, list)
				}
				return list[i]
			case "Fn::Split":
				var out []any
				for _, p := range strings.Split(ev.eval(t, args[1]), args[0].(string)) {
					out = append(out, p)
				}
				return out
			case "Fn::Join":
				var parts []string
				for _, p := range ev.value(t, args[1]).([]any) {
					parts = append(parts, p.(string))
				}
				return strings.Join(parts, args[0].(string))
			case "Fn::Sub":
				format, _ := arg.(string)
				local := map[string]string{}
				if args != nil {
					format = args[0].(string)
					for k, e := range args[1].(map[string]any) {
						local[k] = ev.eval(t, e)
					}
				}
				return regexp.MustCompile(`\$\{([^}!]+)\}`).ReplaceAllStringFunc(format, func(m string) string {
					k := m[2 : len(m)-1]
					if val, ok := local[k]; ok {
						return val
					}
					val, ok := ev.values[k]
					if !ok {
						t.Fatalf("${%s}: no value", k)
					}
					return val
				})
			}
			t.Fatalf("evaluator: %s is not supported", fn)
		}
	}
	t.Fatalf("evaluator: cannot evaluate %v", v)
	return nil
}
