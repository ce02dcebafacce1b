package envelope

import (
	"bytes"
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// FuzzOpen feeds arbitrary bytes to the parser and to Open. Neither may
// panic; a blob that parses must re-encode to the same bytes; Open must
// either fail as unreadable or return the one plaintext that was sealed.
func FuzzOpen(f *testing.F) {
	kms := newFakeKMS(f)
	e := New(kms, "alias/gatehouse")
	valid := mustSeal(f, e, secret, bindingA)
	empty := mustSeal(f, e, nil, bindingA)
	sealed := map[string][]byte{string(valid): secret, string(empty): {}}

	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(empty)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{2})
	f.Add([]byte{1, 0xff, 0xff})
	f.Add([]byte{1, 0, 1, 'k', 0, 1, 'e'})
	f.Add(append(appendHeader(nil, "k", []byte("e"), make([]byte, nonceSize)), make([]byte, tagSize)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := parseBlob(data); err == nil {
			re := appendHeader(nil, b.keyID, b.encryptedKey, b.nonce)
			if !bytes.Equal(re, b.header) {
				t.Fatal("header does not re-encode to the parsed bytes")
			}
			if !bytes.Equal(append(re, b.ciphertext...), data) {
				t.Fatal("blob does not re-encode to the parsed bytes")
			}
		}
		got, err := e.Open(context.Background(), data, bindingA)
		if err != nil {
			if code := gateway.ErrorCode(err); code != gateway.CodeCredentialsUnreadable {
				t.Fatalf("error code = %q, want %q (err: %v)", code, gateway.CodeCredentialsUnreadable, err)
			}
			return
		}
		if want, ok := sealed[string(data)]; !ok || !bytes.Equal(got, want) {
			t.Fatalf("Open of a blob that was never sealed returned %d bytes", len(got))
		}
	})
}
