// Command telegram-webhook is the Lambda function behind POST and GET
// /api/webhooks/telegram/{gatewayId} in template.yaml. It has its own
// assembly: it needs no KMS key and builds no KMS client.
package main

import "github.com/gatehouse/gatehouse/pkg/bootstrap"

func main() { bootstrap.StartTelegramWebhook() }
