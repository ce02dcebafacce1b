// Command health-history is the Lambda function behind its route in template.yaml.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() { bootstrap.Start(httpapi.FnHealthHistory) }
