package dynamo

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TestFileLinks: a link round-trips; its item is keyed by the hash, holds
// no link id and expires by TTL at the link's expiry; a hash put twice is
// refused; an unknown hash is NotFound.
func TestFileLinks(t *testing.T) {
	st, client := newTestStore(t)
	links := NewFileLinks(client, st.table)
	id, hash := filelink.NewID()
	want := filelink.Link{Hash: hash, GatewayID: "gw_aaaaaaaaaaaaaaaaaaaaaaaaaa", Owner: aliceAt, FilePath: "photos/file_1.jpg", Size: 1234,
		ExpiresAt: t0.Add(time.Hour).Truncate(time.Second)}
	if err := links.PutFileLink(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got, err := links.GetFileLink(t.Context(), filelink.Hash(id))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetFileLink = %+v, want %+v", got, want)
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &st.table, Key: fileLinkKey(hash)})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, ok := out.Item[AttrTTL].(*types.AttributeValueMemberN); !ok || ttl.Value != "1741068367" {
		t.Errorf("ttl = %v, want the expiry in Unix seconds", out.Item[AttrTTL])
	}
	for name, av := range out.Item {
		if s, ok := av.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, id) {
			t.Errorf("attribute %s holds the link id", name)
		}
	}
	if err := links.PutFileLink(t.Context(), want); err == nil {
		t.Error("a second link with the same hash was stored")
	}
	if _, err := links.GetFileLink(t.Context(), filelink.Hash("other")); !gateway.IsCode(err, gateway.CodeNotFound) {
		t.Errorf("unknown link: %v, want NotFound", err)
	}
}
