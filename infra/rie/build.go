package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// BuildSpec is how `make build` builds a bootstrap, read from the Makefile so
// that tests and benchmarks cannot drift from it: the environment of its go
// build (GOOS, GOARCH, CGO_ENABLED) and its flags (GOFLAGS_LAMBDA).
type BuildSpec struct {
	Env   map[string]string
	Flags []string
}

var (
	flagsLine = regexp.MustCompile(`(?m)^GOFLAGS_LAMBDA\s*:?=\s*(.+)$`)
	buildLine = regexp.MustCompile(`(?m)^\t(.*)\$\(GO\) build \$\(GOFLAGS_LAMBDA\) -o \$\(BUILD_DIR\)/\.bin/ \./functions/\.\.\.\s*$`)
)

// ReadBuildSpec reads the Makefile at path. Errors: the file cannot be read,
// or its GOFLAGS_LAMBDA or the build target's go build line is not where
// this function looks (change it together with the Makefile).
func ReadBuildSpec(path string) (BuildSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return BuildSpec{}, fmt.Errorf("rie: %w", err)
	}
	m := flagsLine.FindSubmatch(data)
	if m == nil {
		return BuildSpec{}, fmt.Errorf("rie: %s has no GOFLAGS_LAMBDA", path)
	}
	flags, err := splitWords(string(m[1]))
	if err != nil {
		return BuildSpec{}, fmt.Errorf("rie: GOFLAGS_LAMBDA: %w", err)
	}
	b := buildLine.FindSubmatch(data)
	if b == nil {
		return BuildSpec{}, fmt.Errorf("rie: %s has no `$(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/.bin/ ./functions/...` line", path)
	}
	env := map[string]string{}
	words, err := splitWords(string(b[1]))
	if err != nil {
		return BuildSpec{}, err
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return BuildSpec{}, fmt.Errorf("rie: unexpected %q before go build in %s", w, path)
		}
		env[k] = v
	}
	if env["GOOS"] != "linux" || env["GOARCH"] == "" {
		return BuildSpec{}, fmt.Errorf("rie: the build line of %s sets GOOS=%q GOARCH=%q", path, env["GOOS"], env["GOARCH"])
	}
	return BuildSpec{Env: env, Flags: flags}, nil
}

// splitWords splits a shell word list with single and double quotes, as
// make hands GOFLAGS_LAMBDA to the shell.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// Arch is the GOARCH the spec builds for.
func (b BuildSpec) Arch() string { return b.Env["GOARCH"] }

// Build runs `go build` in dir (the module root) as the Makefile does, with
// GOARCH replaced by arch when it is not empty, writing one binary per
// package (named after its folder) into out. Building all packages in one
// invocation shares their compilation. Errors: go build's, with its output.
func (b BuildSpec) Build(ctx context.Context, dir, out, arch string, pkgs ...string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	args := append(append([]string{"build"}, b.Flags...), "-o", out+string(filepath.Separator))
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range b.Env {
		if k == "GOARCH" && arch != "" {
			v = arch
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rie: go %s: %w\n%s", strings.Join(cmd.Args[1:], " "), err, output.String())
	}
	return nil
}

// FunctionError returns the error a Lambda response carries when it is
// Lambda's error object ({"errorMessage": …, "errorType": …}) rather than
// the function's result, and nil otherwise.
func FunctionError(body []byte) error {
	var e struct {
		Message *string `json:"errorMessage"`
		Type    string  `json:"errorType"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", errFunction, e.Type, *e.Message)
}

var errFunction = errors.New("the function failed")
