package telegramhook_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// TestWebhookConfigFromEnv: the function starts from TABLE_NAME alone (no
// KMS_KEY_ID), and UPDATE_TTL_DAYS sets how long updates are kept.
func TestWebhookConfigFromEnv(t *testing.T) {
	tests := []struct {
		table, days string
		want        time.Duration
		wantErr     bool
	}{
		{"gatehouse", "", 7 * 24 * time.Hour, false},
		{"gatehouse", "1", 24 * time.Hour, false},
		{"gatehouse", "30", 30 * 24 * time.Hour, false},
		{"gatehouse", "365", 365 * 24 * time.Hour, false},
		{"gatehouse", "0", 0, true},
		{"gatehouse", "366", 0, true},
		{"gatehouse", "7d", 0, true},
		{"gatehouse", "-1", 0, true},
		{"", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.days, func(t *testing.T) {
			t.Setenv("TABLE_NAME", tt.table)
			t.Setenv("UPDATE_TTL_DAYS", tt.days)
			t.Setenv("KMS_KEY_ID", "")
			cfg, err := bootstrap.WebhookConfigFromEnv()
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (cfg.Table != tt.table || cfg.UpdateTTL != tt.want) {
				t.Fatalf("config %+v, want table %q and TTL %s", cfg, tt.table, tt.want)
			}
		})
	}
}

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
