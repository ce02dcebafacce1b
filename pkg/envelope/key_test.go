package envelope

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// fakeAdmin keeps keys and aliases in maps. beforeAlias, when set, runs just
// before CreateAlias, so a test can let a rival win the alias.
type fakeAdmin struct {
	mu          sync.Mutex
	keys        map[string]types.KeyMetadata // by key id
	aliases     map[string]string            // alias -> key id
	creates     int
	err         error
	beforeAlias func()
}

func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{keys: map[string]types.KeyMetadata{}, aliases: map[string]string{}}
}

func (f *fakeAdmin) addKey(md types.KeyMetadata) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("key-%d", len(f.keys)+1)
	md.KeyId = aws.String(id)
	md.Arn = aws.String("arn:aws:kms:us-east-1:111122223333:key/" + id)
	f.keys[id] = md
	return id
}

func (f *fakeAdmin) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.aliases[aws.ToString(in.KeyId)]
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("alias not found")}
	}
	md := f.keys[id]
	return &kms.DescribeKeyOutput{KeyMetadata: &md}, nil
}

func (f *fakeAdmin) CreateKey(_ context.Context, in *kms.CreateKeyInput, _ ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	f.mu.Lock()
	f.creates++
	f.mu.Unlock()
	id := f.addKey(types.KeyMetadata{
		Description: in.Description, KeySpec: in.KeySpec, KeyUsage: in.KeyUsage, KeyState: types.KeyStateEnabled,
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	md := f.keys[id]
	return &kms.CreateKeyOutput{KeyMetadata: &md}, nil
}

func (f *fakeAdmin) CreateAlias(_ context.Context, in *kms.CreateAliasInput, _ ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	if f.beforeAlias != nil {
		f.beforeAlias()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.aliases[*in.AliasName]; ok {
		return nil, &types.AlreadyExistsException{}
	}
	f.aliases[*in.AliasName] = *in.TargetKeyId
	return &kms.CreateAliasOutput{}, nil
}

func TestEnsureKeyCreatesOnce(t *testing.T) {
	f := newFakeAdmin()
	ctx := context.Background()
	first, err := EnsureKey(ctx, f, "alias/gatehouse")
	if err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	second, err := EnsureKey(ctx, f, "alias/gatehouse")
	if err != nil {
		t.Fatalf("EnsureKey again: %v", err)
	}
	if first != second {
		t.Errorf("EnsureKey returned %q then %q", first, second)
	}
	if got, want := f.creates, 1; got != want {
		t.Errorf("CreateKey calls = %d, want %d", got, want)
	}
	md := f.keys[f.aliases["alias/gatehouse"]]
	if got, want := aws.ToString(md.Description), "Gatehouse credentials"; got != want {
		t.Errorf("description = %q, want %q", got, want)
	}
	if md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
		t.Errorf("key is %s/%s, want SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT", md.KeySpec, md.KeyUsage)
	}
}

func TestEnsureKeyLosesRace(t *testing.T) {
	f := newFakeAdmin()
	rival := f.addKey(types.KeyMetadata{KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt, KeyState: types.KeyStateEnabled})
	f.beforeAlias = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.aliases["alias/gatehouse"] = rival
	}
	got, err := EnsureKey(context.Background(), f, "alias/gatehouse")
	if err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	if want := *f.keys[rival].Arn; got != want {
		t.Errorf("EnsureKey = %q, want the rival's %q", got, want)
	}
}

func TestEnsureKeyErrors(t *testing.T) {
	tests := []struct {
		name  string
		alias string
		key   *types.KeyMetadata // the key the alias names, if any
		err   error
		want  string
	}{
		{"not an alias", "gatehouse", nil, nil, gateway.CodeInvalid},
		{"bare prefix", "alias/", nil, nil, gateway.CodeInvalid},
		{"KMS down", "alias/g", nil, errors.New("connection refused"), gateway.CodeUnavailable},
		{"signing key", "alias/g", &types.KeyMetadata{KeyUsage: types.KeyUsageTypeSignVerify}, nil, gateway.CodeConflict},
		{"asymmetric key", "alias/g", &types.KeyMetadata{KeySpec: types.KeySpecRsa2048}, nil, gateway.CodeConflict},
		{"disabled key", "alias/g", &types.KeyMetadata{KeyState: types.KeyStateDisabled}, nil, gateway.CodeConflict},
		{"pending deletion", "alias/g", &types.KeyMetadata{KeyState: types.KeyStatePendingDeletion}, nil, gateway.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAdmin()
			f.err = tt.err
			if tt.key != nil {
				f.aliases[tt.alias] = f.addKey(*tt.key)
			}
			_, err := EnsureKey(context.Background(), f, tt.alias)
			if got := gateway.ErrorCode(err); got != tt.want {
				t.Fatalf("error code = %q, want %q (err: %v)", got, tt.want, err)
			}
		})
	}
}
