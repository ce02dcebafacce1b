// Command telegram-webhook is the Lambda function behind POST and GET
// /api/webhooks/telegram/{gatewayId} in template.yaml. It needs no KMS key
// and links no KMS client.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/receiver"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

func main() {
	fn := bootstrap.FromOS(telegramhook.FnTelegramWebhook)
	h := receiver.Handler(fn, receiver.ReadUpdateTTL(fn.Env),
		telegramhook.WithSourceRanges(receiver.ReadSourceRanges(fn.Env)))
	fn.Start(h.Handle)
}
