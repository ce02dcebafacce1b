// Command rotate-credentials is RotateCredentialsFunction in template.yaml:
// invoked by hand (`aws lambda invoke`), it re-encrypts every gateway's
// credentials under the current KMS key (pkg/rekey).
package main

import "github.com/gatehouse/gatehouse/pkg/bootstrap"

func main() { bootstrap.StartRotateCredentials() }
