// Command create-gateway is the Lambda function behind its route in template.yaml:
// it seals or opens credentials with KMS and calls the gateway's provider.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/liveroutes"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnCreateGateway)
	api := liveroutes.API(fn, liveroutes.ReadLimits(fn.Env), liveroutes.WithGatewayQuota(liveroutes.ReadGatewayQuota(fn.Env)))
	fn.Start(api.CreateGateway)
}
