// Command lambdazip writes Lambda deployment packages (see package
// lambdazip) whose bytes depend on
// the bootstrap's bytes and the Go version only: one zip per bootstrap, with
// the single entry "bootstrap", mode 0755, a fixed modification time
// (1980-01-01, the earliest a zip can hold), deflated by Go's
// compress/flate. Any zip tool would do the packing; this one makes
// `make package` reproducible on every machine that builds the same
// binaries, whatever zip, umask or clock it has.
//
// Usage:
//
//	lambdazip -o DIR build/<function>/bootstrap…
//
// writes DIR/<function>.zip for each bootstrap (named after its folder) and
// prints one "sha256  file" line per zip, the format of sha256sum.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/infra/lambdazip"
)

func main() {
	out := flag.String("o", "", "output `directory` (created if missing)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: lambdazip -o DIR path/to/<function>/bootstrap...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

// run zips every bootstrap into dir and reports each zip's SHA-256 to w.
func run(dir string, bootstraps []string, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seen := map[string]string{}
	for _, b := range bootstraps {
		name := filepath.Base(filepath.Dir(b))
		if name == "." || name == string(filepath.Separator) {
			return fmt.Errorf("%s: a bootstrap must sit in its function's folder", b)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("%s and %s would both be %s.zip", other, b, name)
		}
		seen[name] = b
		bin, err := os.ReadFile(b)
		if err != nil {
			return err
		}
		z, err := lambdazip.Package(bin)
		if err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		dst := filepath.Join(dir, name+".zip")
		if err := writeFile(dst, z); err != nil {
			return err
		}
		fmt.Fprintf(w, "%x  %s\n", sha256.Sum256(z), dst)
	}
	return nil
}

// writeFile replaces dst atomically, so an interrupted run leaves no
// half-written zip behind.
func writeFile(dst string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".lambdazip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
