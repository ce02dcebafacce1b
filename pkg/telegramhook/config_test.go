package telegramhook_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// TestTemplatePolicy: in template.yaml the function's role may read and
// write table items and nothing else besides its own logs — no KMS action at
// all — and the table has the stream the inbox's consumers read. (The full
// check of every role is infra/template's TestPermissions.)
func TestTemplatePolicy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fn := resource(string(data), "TelegramWebhookFunction")
	if fn == "" {
		t.Fatal("template.yaml has no TelegramWebhookFunction")
	}
	role := resource(string(data), "TelegramWebhookRole")
	if role == "" || !strings.Contains(fn, "Role: !GetAtt TelegramWebhookRole.Arn") {
		t.Fatal("TelegramWebhookFunction does not have the role TelegramWebhookRole")
	}
	var actions []string
	for _, line := range strings.Split(role, "\n") {
		list, ok := strings.CutPrefix(strings.TrimSpace(line), "Action: [")
		if !ok {
			continue
		}
		for _, a := range strings.Split(strings.TrimSuffix(list, "]"), ",") {
			if a = strings.TrimSpace(a); !strings.HasPrefix(a, "logs:") {
				actions = append(actions, a)
			}
		}
	}
	// Several statements may grant one action, each on other attributes.
	slices.Sort(actions)
	actions = slices.Compact(actions)
	if want := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}; !slices.Equal(actions, want) {
		t.Errorf("actions %v, want %v", actions, want)
	}
	for name, def := range map[string]string{"function": fn, "role": role} {
		if strings.Contains(strings.ToLower(def), "kms") {
			t.Errorf("the %s's definition mentions KMS:\n%s", name, def)
		}
	}
	if !strings.Contains(fn, "CodeUri: functions/"+telegramhook.FnTelegramWebhook+"/") {
		t.Errorf("CodeUri is not functions/%s/", telegramhook.FnTelegramWebhook)
	}
	if table := resource(string(data), "Table"); !strings.Contains(table, "StreamViewType: NEW_IMAGE") && !strings.Contains(table, "StreamViewType: NEW_AND_OLD_IMAGES") {
		t.Error("the table has no stream with new images")
	}
}

// resource returns the lines of the resource named name in a template laid
// out as SAM templates are: resources at two spaces, their body deeper.
func resource(template, name string) string {
	lines := strings.Split(template, "\n")
	for i, l := range lines {
		if l != "  "+name+":" {
			continue
		}
		end := i + 1
		for end < len(lines) && (lines[end] == "" || strings.HasPrefix(lines[end], "    ") || strings.HasPrefix(lines[end], "   #")) {
			end++
		}
		return strings.Join(lines[i:end], "\n")
	}
	return ""
}
