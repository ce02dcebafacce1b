package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the repository root, seen from this package's folder.
var root = filepath.Join("..", "..")

// helpers are Env's methods whose first argument names a variable.
var helpers = []string{"String", "Required", "Bool", "Int", "Limit", "Days", "Duration", "Ports", "Prefixes"}

var varName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// readInGo returns the variables the Go code reads, with where: the first
// argument of a call of an Env helper that is a literal variable name,
// and of os.Getenv and os.LookupEnv, which only this package may call
// outside tests (reported in stray).
func readInGo(t *testing.T) (vars map[string]string, stray []string) {
	t.Helper()
	vars = map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".git", ".gatehouse", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		// This package's own tests read made-up variables.
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") && filepath.Dir(rel) == filepath.Join("pkg", "config") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			if !varName.MatchString(name) {
				return true
			}
			pkg, _ := sel.X.(*ast.Ident)
			isOS := pkg != nil && pkg.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv")
			if isOS && !strings.HasSuffix(path, "_test.go") && !strings.HasPrefix(rel, filepath.Join("pkg", "config")) {
				stray = append(stray, rel+": os."+sel.Sel.Name+"("+name+")")
			}
			if isOS || slices.Contains(helpers, sel.Sel.Name) {
				if _, ok := vars[name]; !ok {
					vars[name] = rel
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vars, stray
}

// standard are variables of the shell and of make that scripts read but
// Gatehouse does not define.
var standard = []string{"TMPDIR", "CURDIR", "MAKEFILE_LIST"}

// readInScripts returns the variables the scripts and the Makefile let a
// caller set: ${NAME:-default} (or ${NAME-…}) in scripts/*.sh and in the
// Makefile's recipes ($${NAME:-…}), the Makefile's NAME ?= default, and
// the $(NAME) it reads without defining (make SUB=alice token).
func readInScripts(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	shellDefault := regexp.MustCompile(`\$\$?\{([A-Z][A-Z0-9_]*):?[-=]`)
	makeDefault := regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)\s*\?=`)
	makeRef := regexp.MustCompile(`\$\(([A-Z][A-Z0-9_]*)\)`)
	makeDefined := regexp.MustCompile(`(?m)(?:^|:\s)([A-Z][A-Z0-9_]*)\s*[:+?]?=`)
	files, _ := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	files = append(files, filepath.Join(root, "Makefile"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, m := range shellDefault.FindAllStringSubmatch(string(data), -1) {
			vars[m[1]] = rel
		}
		for _, m := range makeDefault.FindAllStringSubmatch(string(data), -1) {
			vars[m[1]] = rel
		}
		if rel != "Makefile" {
			continue
		}
		defined := map[string]bool{}
		for _, m := range makeDefined.FindAllStringSubmatch(string(data), -1) {
			defined[m[1]] = true
		}
		for _, m := range makeRef.FindAllStringSubmatch(string(data), -1) {
			if !defined[m[1]] {
				vars[m[1]] = rel
			}
		}
	}
	for _, name := range standard {
		delete(vars, name)
	}
	return vars
}

// documented returns the variables README.md's "Configuration" table
// lists, and those of its rows that the AWS SDK reads rather than our code
// (a meaning that starts with "AWS SDK:").
func documented(t *testing.T) (vars map[string]bool, sdk map[string]bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	vars, sdk = map[string]bool{}, map[string]bool{}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			vars[m[1]] = true
			if strings.HasPrefix(strings.TrimSpace(cells[len(cells)-2]), "AWS SDK:") {
				sdk[m[1]] = true
			}
		}
	}
	if len(vars) == 0 {
		t.Fatal("the Configuration table lists no variables")
	}
	return vars, sdk
}

// TestREADMEListsEveryVariable: README.md's Configuration table lists
// every variable the code, the scripts and the Makefile read, and nothing
// they do not (but what the AWS SDK reads); and only pkg/config reads the
// environment.
func TestREADMEListsEveryVariable(t *testing.T) {
	goVars, stray := readInGo(t)
	for _, s := range stray {
		t.Errorf("%s: read the environment through pkg/config", s)
	}
	read := readInScripts(t)
	for k, v := range goVars {
		read[k] = v
	}
	listed, sdk := documented(t)
	var missing, extra []string
	for name, where := range read {
		if !listed[name] {
			missing = append(missing, name+" (read in "+where+")")
		}
	}
	for name := range listed {
		if _, ok := read[name]; !ok && !sdk[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, m := range missing {
		t.Errorf("README.md's Configuration table lacks %s", m)
	}
	for _, e := range extra {
		t.Errorf("README.md's Configuration table lists %s, which nothing reads", e)
	}
}

// TestTemplateVariablesAreRead: every variable template.yaml gives a
// function is one the code reads.
func TestTemplateVariablesAreRead(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	goVars, _ := readInGo(t)
	key := regexp.MustCompile(`(?m)^\s+([A-Z][A-Z0-9_]+):\s`)
	inVariables := false
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "Variables:":
			inVariables = true
			continue
		case inVariables && (trimmed == "" || strings.HasPrefix(trimmed, "#")):
			continue
		}
		m := key.FindStringSubmatch(line)
		if !inVariables || m == nil {
			inVariables = false
			continue
		}
		if _, ok := goVars[m[1]]; !ok {
			t.Errorf("template.yaml sets %s, which no function reads", m[1])
		}
	}
}
