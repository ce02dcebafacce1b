package envelope

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// KeyAdmin is the part of the KMS API that EnsureKey uses. *kms.Client
// satisfies it.
type KeyAdmin interface {
	DescribeKey(ctx context.Context, params *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateKey(ctx context.Context, params *kms.CreateKeyInput, optFns ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(ctx context.Context, params *kms.CreateAliasInput, optFns ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
}

// KeyDescription is the description EnsureKey gives a key it creates.
const KeyDescription = "Gatehouse credentials"

// EnsureKey returns the ARN of the key that alias (such as "alias/gatehouse")
// names, first creating a symmetric encrypt/decrypt key and the alias if the
// alias does not exist. Calling it again returns the same key. The local
// runner uses it; deployed stacks create the key in the template.
//
// If another caller creates the alias between our DescribeKey and
// CreateAlias, EnsureKey returns that caller's key and the key it created
// itself stays unused.
//
// Errors: CodeInvalid when alias does not start with "alias/"; CodeConflict
// when the alias names a key that cannot seal credentials (not symmetric,
// not for encryption, or not enabled); CodeUnavailable when KMS fails.
func EnsureKey(ctx context.Context, client KeyAdmin, alias string) (keyID string, err error) {
	const op = "envelope.EnsureKey"
	if !strings.HasPrefix(alias, "alias/") || len(alias) == len("alias/") {
		return "", &gateway.Error{Code: gateway.CodeInvalid, Message: "A KMS alias must start with \"alias/\".", Op: op}
	}

	id, err := describeAlias(ctx, client, alias)
	if err == nil || !isNotFound(err) {
		return id, wrapEnsure(op, err)
	}

	created, err := client.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String(KeyDescription),
		KeySpec:     types.KeySpecSymmetricDefault,
		KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
	})
	if err != nil {
		return "", wrapEnsure(op, err)
	}
	if created.KeyMetadata == nil || created.KeyMetadata.KeyId == nil {
		return "", gateway.Internal(op, errors.New("envelope: CreateKey returned no key id"))
	}
	_, err = client.CreateAlias(ctx, &kms.CreateAliasInput{
		AliasName:   aws.String(alias),
		TargetKeyId: created.KeyMetadata.KeyId,
	})
	var exists *types.AlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return "", wrapEnsure(op, err)
	}
	// Describe again rather than trust our own key: if we lost a race for the
	// alias, the winner's key is the one everyone seals under.
	id, err = describeAlias(ctx, client, alias)
	return id, wrapEnsure(op, err)
}

// usableKeyError is returned for a key that exists but cannot seal.
type usableKeyError struct{ reason string }

func (e *usableKeyError) Error() string { return "envelope: key " + e.reason }

// describeAlias returns the ARN (or, failing that, the id) of the key alias
// names, after checking it can seal credentials. Fields local-kms leaves
// empty are not held against the key.
func describeAlias(ctx context.Context, client KeyAdmin, alias string) (string, error) {
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		return "", err
	}
	md := out.KeyMetadata
	if md == nil || (md.Arn == nil && md.KeyId == nil) {
		return "", errors.New("envelope: DescribeKey returned no key")
	}
	switch {
	case md.KeyUsage != "" && md.KeyUsage != types.KeyUsageTypeEncryptDecrypt:
		return "", &usableKeyError{fmt.Sprintf("usage is %s, want %s", md.KeyUsage, types.KeyUsageTypeEncryptDecrypt)}
	case md.KeySpec != "" && md.KeySpec != types.KeySpecSymmetricDefault:
		return "", &usableKeyError{fmt.Sprintf("spec is %s, want %s", md.KeySpec, types.KeySpecSymmetricDefault)}
	case md.KeyState != "" && md.KeyState != types.KeyStateEnabled:
		return "", &usableKeyError{fmt.Sprintf("state is %s, want %s", md.KeyState, types.KeyStateEnabled)}
	}
	if md.Arn != nil {
		return *md.Arn, nil
	}
	return *md.KeyId, nil
}

func isNotFound(err error) bool {
	var nf *types.NotFoundException
	return errors.As(err, &nf)
}

func wrapEnsure(op string, err error) error {
	if err == nil {
		return nil
	}
	var unusable *usableKeyError
	if errors.As(err, &unusable) {
		return &gateway.Error{Code: gateway.CodeConflict, Message: "The KMS alias names a key that cannot encrypt credentials.", Op: op, Err: err}
	}
	return &gateway.Error{Code: gateway.CodeUnavailable, Message: "The key service is unavailable; try again later.", Op: op, Err: err}
}
