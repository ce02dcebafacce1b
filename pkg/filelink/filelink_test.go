package filelink_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/filelink/filelinktest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, hash := filelink.NewID()
		if !filelink.ValidID(id) || len(id) != 43 || seen[id] {
			t.Fatalf("id %q: valid %v, repeated %v", id, filelink.ValidID(id), seen[id])
		}
		seen[id] = true
		if !bytes.Equal(hash, filelink.Hash(id)) || len(hash) != 32 {
			t.Fatalf("hash of %q", id)
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("/", 43), strings.Repeat("=", 43)} {
		if filelink.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// TestMinter: a link under the public URL, stored by its hash with the
// gateway, its owner and the expiry.
func TestMinter(t *testing.T) {
	store := filelinktest.NewStore()
	m := filelink.NewMinter(store, "https://gatehouse.example.com/", 10*time.Minute)
	g := &gateway.Gateway{ID: "gw_aaaaaaaaaaaaaaaaaaaaaaaaaa", UserID: "alice", OrganizationID: "acme"}
	before := time.Now()
	url, exp, err := m.MintFileLink(context.Background(), g, "photos/file_1.jpg", 99)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(url, "https://gatehouse.example.com/api/files/")
	if !ok || !filelink.ValidID(id) {
		t.Fatalf("url %q", url)
	}
	if d := exp.Sub(before); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("expires in %v", d)
	}
	l, err := store.GetFileLink(context.Background(), filelink.Hash(id))
	if err != nil {
		t.Fatal(err)
	}
	if l.GatewayID != g.ID || l.Owner != g.Owner() || l.FilePath != "photos/file_1.jpg" || l.Size != 99 || !l.ExpiresAt.Equal(exp) {
		t.Errorf("stored %+v", l)
	}
}
