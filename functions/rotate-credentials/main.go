// Command rotate-credentials re-encrypts every gateway's credentials under
// the current key. It is invoked by hand (`aws lambda invoke`); progress
// lines and the summary go to its log.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/rotation"
)

func main() {
	fn := bootstrap.FromOS(rotation.FnRotateCredentials)
	r := rotation.Rotator(fn, rotation.ReadConfig(fn.Env))
	fn.Start(r.Handle)
}
