package emulator

import (
	"bufio"
	"crypto/sha256"
	_ "embed" // the pinned sums
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DynamoDBLocalVersion is the version of the npm package
// amplify-dynamodb-simulator whose emulator/ folder scripts/install-tools.sh
// installs; dynamodb-local.sha256 pins that folder's files.
const DynamoDBLocalVersion = "2.9.30"

// dynamoDBLocalSums is the SHA-256 of every file of the package's
// emulator/ folder, in sha256sum's format, computed from the tarball whose
// integrity install-tools.sh pins. The script checks an installation
// against this same file, so there is one list to change on an upgrade.
//
//go:embed dynamodb-local.sha256
var dynamoDBLocalSums string

// runtimeFiles are what DynamoDB Local itself writes into its folder (its
// working directory) while it runs: not part of the release.
var runtimeFiles = map[string]bool{"dynamodb-local-metadata.json": true}

// VerifyDynamoDBLocal checks that the DynamoDB Local folder dir is the
// pinned release: every file of dynamodb-local.sha256 is there with its
// SHA-256, and DynamoDBLocal_lib (the class and native library path)
// holds nothing else. A tampered or partial copy must not run: it would
// see every table of the developer's machine, and its classes run with
// the developer's rights.
//
// Errors name the first file that differs and say how to reinstall.
func VerifyDynamoDBLocal(dir string) error {
	want, err := pinnedSums()
	if err != nil {
		return err
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("emulator: DynamoDB Local at %s is not the pinned release %s: %s; delete %s and run scripts/install-tools.sh",
			dir, DynamoDBLocalVersion, fmt.Sprintf(format, args...), dir)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return refuse("%s: %v", name, err)
		}
		if got != want[name] {
			return refuse("%s has SHA-256 %s, want %s", name, got, want[name])
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "DynamoDBLocal_lib"))
	if err != nil {
		return refuse("%v", err)
	}
	for _, e := range entries {
		name := "DynamoDBLocal_lib/" + e.Name()
		if _, ok := want[name]; !ok && !runtimeFiles[e.Name()] {
			return refuse("%s is not part of the release", name)
		}
	}
	return nil
}

// pinnedSums parses dynamodb-local.sha256: "<64 hex digits>  <path>" per line.
func pinnedSums() (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(dynamoDBLocalSums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != sha256.Size || name == "" || strings.Contains(name, "..") {
			return nil, fmt.Errorf("emulator: dynamodb-local.sha256: malformed line %q", sc.Text())
		}
		sums[name] = sum
	}
	if len(sums) == 0 || sums["DynamoDBLocal.jar"] == "" {
		return nil, errors.New("emulator: dynamodb-local.sha256 does not pin DynamoDBLocal.jar")
	}
	return sums, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
