// Command files is the Lambda function behind GET /api/files/{linkId} in
// template.yaml: it serves a file a bot received through the short-lived
// link getFile answered (package filelink/download). The route has no JWT
// authorizer: the link is the credential.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/fileserver"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
)

func main() {
	fn := bootstrap.FromOS(download.FnFiles)
	h := fileserver.Handler(fn)
	fn.Start(h.Handle)
}
