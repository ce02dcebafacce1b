// Command list-providers is the Lambda function behind GET /api/providers:
// it describes the provider registry and touches no AWS service at all.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnProviders)
	api := httpapi.New(lifecycle.New(nil, providers.Registry(fn.Config)),
		httpapi.WithSettings(fn.Log, fn.Config.OrgsClaim, fn.Config.Timeouts.Request))
	fn.Start(api.Providers)
}
