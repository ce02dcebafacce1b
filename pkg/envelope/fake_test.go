package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
)

const fakeKeyARN = "arn:aws:kms:us-east-1:111122223333:key/fake"

// fakeKMS behaves like KMS for the two calls an Envelope makes: it wraps data
// keys under a master key with the encryption context as additional data, so
// that another context, another key id or a corrupted blob fails as KMS
// would.
type fakeKMS struct {
	master cipher.AEAD
	// err, when set, is what both calls return.
	err error
	// shortKey makes GenerateDataKey return a 16-byte key.
	shortKey bool

	generates atomic.Int64
	decrypts  atomic.Int64
}

func newFakeKMS(tb testing.TB) *fakeKMS {
	tb.Helper()
	k := make([]byte, keySize)
	rand.Read(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	return &fakeKMS{master: aead}
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.generates.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	if in.KeySpec != types.DataKeySpecAes256 {
		return nil, &types.InvalidKeyUsageException{Message: aws.String("want AES_256")}
	}
	dk := make([]byte, keySize)
	if f.shortKey {
		dk = dk[:16]
	}
	rand.Read(dk)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	edk := f.master.Seal(nonce, nonce, dk, canonicalBinding(in.EncryptionContext))
	return &kms.GenerateDataKeyOutput{KeyId: aws.String(fakeKeyARN), Plaintext: dk, CiphertextBlob: edk}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.decrypts.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	if in.KeyId != nil && *in.KeyId != fakeKeyARN {
		return nil, &types.IncorrectKeyException{Message: aws.String("wrong key")}
	}
	if len(in.CiphertextBlob) < nonceSize {
		return nil, &types.InvalidCiphertextException{}
	}
	dk, err := f.master.Open(nil, in.CiphertextBlob[:nonceSize], in.CiphertextBlob[nonceSize:], canonicalBinding(in.EncryptionContext))
	if err != nil {
		return nil, &types.InvalidCiphertextException{}
	}
	return &kms.DecryptOutput{KeyId: aws.String(fakeKeyARN), Plaintext: dk}, nil
}

// counts returns how many times each call was made since the last counts.
func (f *fakeKMS) counts() (generates, decrypts int64) {
	return f.generates.Swap(0), f.decrypts.Swap(0)
}

func newTestClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
}
