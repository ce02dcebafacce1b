// Command gateway-audit is the Lambda function behind its route in template.yaml.
// It reads the table and nothing else: it links no KMS client and no
// provider.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/storeroutes"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnGatewayAudit)
	api := storeroutes.API(fn)
	fn.Start(api.GatewayAudit)
}
