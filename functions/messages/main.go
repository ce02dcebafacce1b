// Command messages is the Lambda function behind POST
// /api/gateways/{id}/messages and GET /api/gateways/{id}/messages/{jobId}:
// it checks a batch or a broadcast, stores it as a job for the sender,
// and reports a job's progress. It opens no credentials and calls no
// provider: sending is message-sender's.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/messagesapi"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnMessages)
	api := messagesapi.API(fn)
	fn.Start(api.Messages)
}
