// Package lambdazip writes Lambda deployment packages whose bytes depend on
// the bootstrap's bytes and the Go version only: the single entry
// "bootstrap", mode 0755, a fixed modification time (1980-01-01, the
// earliest a zip can hold), deflated by Go's compress/flate. Any zip tool
// would do the packing; this one makes `make package` reproducible on every
// machine that builds the same binaries, whatever zip, umask or clock it has.
// The command is cmd/lambdazip.
package lambdazip

import (
	"archive/zip"
	"bytes"
	"errors"
	"time"
)

// Epoch is the modification time of every entry: the zip format's earliest.
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Package returns the deployment package of a bootstrap: a zip holding it
// as "bootstrap", executable, dated Epoch.
func Package(bootstrap []byte) ([]byte, error) {
	if len(bootstrap) == 0 {
		return nil, errors.New("empty bootstrap")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: Epoch}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(bootstrap); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
