package telegram

import (
	"strings"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

var (
	_ provider.CredentialChecker    = (*Provider)(nil)
	_ provider.CredentialSummarizer = (*Provider)(nil)
)

// CheckCredentials checks that the bot token is present and has a bot
// token's shape (TokenPattern). It makes no call.
func (p *Provider) CheckCredentials(creds gateway.Credentials) []gateway.FieldError {
	var fe provider.FieldErrors
	if fe.Required("credentials.botToken", creds.BotToken) && !ValidToken(creds.BotToken) {
		fe.Add("credentials.botToken", "must look like a Bot API token: <bot id>:<secret> (from @BotFather)")
	}
	return fe
}

// CredentialInfo returns the bot's id, which is the token's part before the
// colon and public (it is in every update), and the token's last four
// characters.
func (p *Provider) CredentialInfo(creds gateway.Credentials) map[string]any {
	info := map[string]any{}
	if id, _, ok := strings.Cut(creds.BotToken, ":"); ok && id != "" {
		info["botId"] = id
	}
	info["tokenLast4"] = provider.Last4(creds.BotToken)
	return info
}
