package template_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/template"
)

// TestNoCircularDependencies: CloudFormation refuses a template whose
// resources depend on each other in a circle. The classic one here is a
// function that names its own HTTP API's URL (the API's definition names
// every function it invokes), which is why PUBLIC_API_URL is a parameter.
func TestNoCircularDependencies(t *testing.T) {
	tpl := load(t)
	if cycle := findCycle(dependencies(tpl.Raw)); cycle != nil {
		t.Errorf("circular dependency: %s", strings.Join(cycle, " -> "))
	}
}

// TestCycleCheckFindsTheAPICycle proves the check above on the mistake it
// guards against.
func TestCycleCheckFindsTheAPICycle(t *testing.T) {
	tpl := load(t)
	var raw map[string]any
	b, _ := json.Marshal(tpl.Raw)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	props := get(raw, "Resources", "ListGatewaysFunction", "Properties").(map[string]any)
	props["Environment"] = map[string]any{"Variables": map[string]any{
		"PUBLIC_API_URL": map[string]any{"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
	}}
	cycle := findCycle(dependencies(raw))
	if !slices.Contains(cycle, "HttpApi") || !slices.Contains(cycle, "ListGatewaysFunction") {
		t.Errorf("a function naming its own API: cycle %v", cycle)
	}
}

// dependencies maps each resource to the resources it needs first: those
// it refers to (Ref, Fn::GetAtt, ${…} in Fn::Sub) or names in DependsOn.
// SAM's expansion is taken into account: a function's events become
// resources of their own, Globals.Function applies to every function, and
// an HttpApi depends on the functions its routes invoke.
func dependencies(raw map[string]any) map[string][]string {
	resources, _ := raw["Resources"].(map[string]any)
	globals := map[string]bool{}
	refsIn(get(raw, "Globals", "Function"), globals)
	graph := map[string][]string{}
	add := func(from string, to map[string]bool) {
		for r := range to {
			if _, isResource := resources[r]; isResource && r != from {
				graph[from] = append(graph[from], r)
			}
		}
	}
	for id, r := range resources {
		deps := map[string]bool{}
		props, _ := get(r, "Properties").(map[string]any)
		serverlessFn := get(r, "Type") == "AWS::Serverless::Function"
		for k, v := range props {
			if serverlessFn && k == "Events" {
				continue
			}
			refsIn(v, deps)
		}
		for _, d := range stringList(get(r, "DependsOn")) {
			deps[d] = true
		}
		if serverlessFn {
			for g := range globals {
				deps[g] = true
			}
			events, _ := props["Events"].(map[string]any)
			for _, e := range events {
				if get(e, "Type") == "HttpApi" {
					if api, ok := template.Ref(get(e, "Properties", "ApiId")); ok {
						add(api, map[string]bool{id: true})
					}
				}
			}
		}
		add(id, deps)
	}
	for id := range graph {
		slices.Sort(graph[id])
	}
	return graph
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// refsIn adds to into the names v refers to.
func refsIn(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["Ref"].(string); ok && len(x) == 1 {
			into[r] = true
			return
		}
		if res, _, ok := template.GetAtt(x); ok {
			into[res] = true
			return
		}
		if s, ok := x["Fn::Sub"]; ok && len(x) == 1 {
			text, vars := s, any(nil)
			if list, isList := s.([]any); isList && len(list) == 2 {
				text, vars = list[0], list[1]
			}
			local := map[string]bool{}
			if m, ok := vars.(map[string]any); ok {
				for k, val := range m {
					local[k] = true
					refsIn(val, into)
				}
			}
			if str, ok := text.(string); ok {
				for _, m := range subVar.FindAllStringSubmatch(str, -1) {
					name, _, _ := strings.Cut(m[1], ".")
					if !local[name] && !strings.HasPrefix(name, "AWS::") {
						into[name] = true
					}
				}
			}
			return
		}
		for _, e := range x {
			refsIn(e, into)
		}
	case []any:
		for _, e := range x {
			refsIn(e, into)
		}
	}
}

// findCycle returns one cycle of graph as a path that ends where it
// starts, or nil.
func findCycle(graph map[string][]string) []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = open
		stack = append(stack, n)
		for _, m := range graph[n] {
			switch state[m] {
			case open:
				i := slices.Index(stack, m)
				return append(slices.Clone(stack[i:]), m)
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range sortedKeys(graph) {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}
