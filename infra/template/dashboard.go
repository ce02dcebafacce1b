package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// DashboardHeaders returns the headers the dashboard's CloudFront
// distribution adds to every answer it gives: those of the response-headers
// policy its default cache behaviour names (SecurityHeadersConfig and
// CustomHeadersConfig). The local runner serves the dashboard with them, so
// the Content-Security-Policy a developer's browser enforces is the one
// production enforces, read from the one file that deploys it.
//
// The Content-Security-Policy may be a !Sub whose variables only a
// deployment knows (the API's and the identity provider's origins): vars
// gives each its value, and a variable without one is an error. A value may
// be empty — locally both are the page's own origin, which 'self' already
// names — so each directive's sources are joined by single spaces again.
//
// It returns an error when the template has not exactly one
// AWS::CloudFront::Distribution, when its default cache behaviour names no
// response-headers policy of this template (!Ref), and when a header's
// value is an intrinsic it cannot read.
func (t *Template) DashboardHeaders(vars map[string]string) (http.Header, error) {
	cfg, err := t.dashboardHeadersPolicy()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	sec, _ := cfg["SecurityHeadersConfig"].(map[string]any)
	if csp, ok := sec["ContentSecurityPolicy"].(map[string]any); ok {
		v, err := resolveSub(csp["ContentSecurityPolicy"], vars)
		if err != nil {
			return nil, fmt.Errorf("template.DashboardHeaders: ContentSecurityPolicy: %w", err)
		}
		h.Set("Content-Security-Policy", normalizeCSP(v))
	}
	if _, ok := sec["ContentTypeOptions"].(map[string]any); ok {
		h.Set("X-Content-Type-Options", "nosniff")
	}
	if fo, ok := sec["FrameOptions"].(map[string]any); ok {
		v, ok := fo["FrameOption"].(string)
		if !ok {
			return nil, errors.New("template.DashboardHeaders: FrameOptions.FrameOption is not a plain string")
		}
		h.Set("X-Frame-Options", v)
	}
	if rp, ok := sec["ReferrerPolicy"].(map[string]any); ok {
		v, ok := rp["ReferrerPolicy"].(string)
		if !ok {
			return nil, errors.New("template.DashboardHeaders: ReferrerPolicy.ReferrerPolicy is not a plain string")
		}
		h.Set("Referrer-Policy", v)
	}
	if sts, ok := sec["StrictTransportSecurity"].(map[string]any); ok {
		age, ok := sts["AccessControlMaxAgeSec"].(float64)
		if !ok {
			return nil, errors.New("template.DashboardHeaders: StrictTransportSecurity.AccessControlMaxAgeSec is not a plain number")
		}
		v := "max-age=" + strconv.FormatFloat(age, 'f', -1, 64)
		if sts["IncludeSubdomains"] == true {
			v += "; includeSubDomains"
		}
		if sts["Preload"] == true {
			v += "; preload"
		}
		h.Set("Strict-Transport-Security", v)
	}
	if x, ok := sec["XSSProtection"].(map[string]any); ok {
		v := "0"
		if x["Protection"] == true {
			v = "1"
			if x["ModeBlock"] == true {
				v += "; mode=block"
			}
		}
		h.Set("X-XSS-Protection", v)
	}
	custom, _ := cfg["CustomHeadersConfig"].(map[string]any)
	items, _ := custom["Items"].([]any)
	for i, it := range items {
		m, _ := it.(map[string]any)
		name, ok1 := m["Header"].(string)
		v, ok2 := m["Value"].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("template.DashboardHeaders: CustomHeadersConfig.Items[%d] is not a plain Header and Value", i)
		}
		h.Set(name, v)
	}
	return h, nil
}

// dashboardHeadersPolicy returns the ResponseHeadersPolicyConfig of the
// policy the dashboard distribution's default cache behaviour names. The
// dashboard's distribution is the one whose origins name the dashboard
// bucket (with WebAcl=true another one fronts the API).
func (t *Template) dashboardHeadersPolicy() (map[string]any, error) {
	resources, _ := t.Raw["Resources"].(map[string]any)
	var dists []string
	for id, r := range resources {
		m, _ := r.(map[string]any)
		if m["Type"] != "AWS::CloudFront::Distribution" {
			continue
		}
		props, _ := m["Properties"].(map[string]any)
		cfg, _ := props["DistributionConfig"].(map[string]any)
		if origins, err := json.Marshal(cfg["Origins"]); err == nil && strings.Contains(string(origins), dashboardBucket) {
			dists = append(dists, id)
		}
	}
	if len(dists) != 1 {
		slices.Sort(dists)
		return nil, fmt.Errorf("template.DashboardHeaders: want one AWS::CloudFront::Distribution with %s as an origin, have %v", dashboardBucket, dists)
	}
	dist, _ := resources[dists[0]].(map[string]any)
	props, _ := dist["Properties"].(map[string]any)
	cfg, _ := props["DistributionConfig"].(map[string]any)
	beh, _ := cfg["DefaultCacheBehavior"].(map[string]any)
	name, ok := Ref(beh["ResponseHeadersPolicyId"])
	if !ok {
		return nil, fmt.Errorf("template.DashboardHeaders: %s's DefaultCacheBehavior.ResponseHeadersPolicyId is %v, not a !Ref to a policy of this template", dists[0], beh["ResponseHeadersPolicyId"])
	}
	pol, _ := resources[name].(map[string]any)
	if pol["Type"] != "AWS::CloudFront::ResponseHeadersPolicy" {
		return nil, fmt.Errorf("template.DashboardHeaders: %s is not an AWS::CloudFront::ResponseHeadersPolicy", name)
	}
	pprops, _ := pol["Properties"].(map[string]any)
	out, ok := pprops["ResponseHeadersPolicyConfig"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template.DashboardHeaders: %s has no ResponseHeadersPolicyConfig", name)
	}
	return out, nil
}

// dashboardBucket is the logical id of the bucket the dashboard is served from.
const dashboardBucket = "DashboardBucket"

var subVariable = regexp.MustCompile(`\$\{(!?)([^}]*)\}`)

// resolveSub returns v, a plain string or a !Sub in either form, with each
// ${Name} replaced by vars[Name] and each ${!Literal} by ${Literal}, as
// CloudFormation writes them.
func resolveSub(v any, vars map[string]string) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	m, ok := Decode(v).(map[string]any)
	if !ok || len(m) != 1 {
		return "", fmt.Errorf("%v is neither a string nor a !Sub", v)
	}
	var format string
	switch x := m["Fn::Sub"].(type) {
	case string:
		format = x
	case []any:
		if len(x) != 2 {
			return "", fmt.Errorf("!Sub %v: want [format, variables]", x)
		}
		if format, ok = x[0].(string); !ok {
			return "", fmt.Errorf("!Sub %v: the format is not a string", x)
		}
	default:
		return "", fmt.Errorf("%v is neither a string nor a !Sub", v)
	}
	var missing []string
	out := subVariable.ReplaceAllStringFunc(format, func(match string) string {
		p := subVariable.FindStringSubmatch(match)
		if p[1] == "!" {
			return "${" + p[2] + "}"
		}
		val, ok := vars[p[2]]
		if !ok {
			missing = append(missing, p[2])
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for ${%s}", strings.Join(missing, "}, ${"))
	}
	return out, nil
}

// normalizeCSP writes a policy as "directive source source; directive …":
// one space between tokens, whatever an empty variable or the YAML folding
// left.
func normalizeCSP(p string) string {
	var ds []string
	for _, d := range strings.Split(p, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			ds = append(ds, strings.Join(f, " "))
		}
	}
	return strings.Join(ds, "; ")
}
