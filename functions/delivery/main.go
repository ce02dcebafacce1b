// Command delivery is DeliveryFunction in template.yaml: it pushes a
// bot's new updates along its routes, fed by the table's DynamoDB Stream
// (an event source mapping), and retries what failed on a schedule.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
)

func main() {
	fn := bootstrap.FromOS(deliverer.FnDelivery)
	e := deliverer.Engine(fn, deliverer.ReadConfig(fn.Env))
	fn.Start(deliverer.Handler(e))
}
