package envelope

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
)

const (
	// formatV1 is the only blob format so far. A new format gets a new
	// number so that blobs already stored keep opening.
	formatV1 = 1

	nonceSize = 12 // the standard GCM nonce
	tagSize   = 16 // the standard GCM tag
	keySize   = 32 // AES-256

	// KMS caps a KeyId at 2048 characters and a CiphertextBlob at 6144
	// bytes; anything longer did not come from KMS.
	maxKeyID        = 2048
	maxEncryptedKey = 6144
)

// Parse errors. They name what is wrong, never the bytes, so that they can be
// logged.
var (
	errEmpty        = errors.New("envelope: empty blob")
	errVersion      = errors.New("envelope: unknown blob format version")
	errTruncated    = errors.New("envelope: blob truncated")
	errKeyID        = errors.New("envelope: malformed key id")
	errEncryptedKey = errors.New("envelope: malformed encrypted data key")
)

// blob is a parsed format-1 blob. Its slices alias the bytes it was parsed
// from.
type blob struct {
	keyID        string
	encryptedKey []byte
	nonce        []byte
	// header is everything before the ciphertext (version, key id, encrypted
	// data key, nonce); GCM authenticates it.
	header     []byte
	ciphertext []byte // includes the tag
}

// parseBlob splits a blob into its fields. It checks every length against
// what remains before slicing, so no input can make it panic.
func parseBlob(b []byte) (*blob, error) {
	if len(b) == 0 {
		return nil, errEmpty
	}
	if b[0] != formatV1 {
		return nil, errVersion
	}
	rest := b[1:]

	keyID, rest, ok := readPrefixed(rest)
	if !ok {
		return nil, errTruncated
	}
	if !validKeyID(keyID) {
		return nil, errKeyID
	}
	edk, rest, ok := readPrefixed(rest)
	if !ok {
		return nil, errTruncated
	}
	if len(edk) == 0 || len(edk) > maxEncryptedKey {
		return nil, errEncryptedKey
	}
	if len(rest) < nonceSize+tagSize {
		return nil, errTruncated
	}
	headerLen := len(b) - len(rest) + nonceSize
	return &blob{
		keyID:        string(keyID),
		encryptedKey: edk,
		nonce:        rest[:nonceSize],
		header:       b[:headerLen],
		ciphertext:   rest[nonceSize:],
	}, nil
}

// readPrefixed reads a big-endian uint16 length and that many bytes.
func readPrefixed(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < n {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

// validKeyID accepts what KMS returns as a KeyId (an ARN): printable ASCII
// without spaces. Rejecting anything else early means a corrupted key id
// fails as unreadable here instead of as an odd KMS error.
func validKeyID(id []byte) bool {
	if len(id) == 0 || len(id) > maxKeyID {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// appendHeader appends the format-1 header (everything GCM authenticates
// besides the binding) to dst. Callers have checked the field lengths.
func appendHeader(dst []byte, keyID string, encryptedKey, nonce []byte) []byte {
	dst = append(dst, formatV1)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(keyID)))
	dst = append(dst, keyID...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(encryptedKey)))
	dst = append(dst, encryptedKey...)
	return append(dst, nonce...)
}

// canonicalBinding encodes a binding so that equal maps give equal bytes and
// different maps different bytes: the pair count, then each pair sorted by
// key, every string prefixed by its uint32 length. Length prefixes (rather
// than "k=v" joined by a separator) keep keys or values that contain "=" or
// the separator from colliding.
func canonicalBinding(binding map[string]string) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(binding)))
	for _, k := range slices.Sorted(maps.Keys(binding)) {
		v := binding[k]
		out = binary.BigEndian.AppendUint32(out, uint32(len(k)))
		out = append(out, k...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out
}

// cacheID names a plaintext data key in the cache. It covers the binding as
// well as the encrypted data key because KMS only releases a key for the
// context it was sealed under; a cache keyed on the encrypted key alone would
// open a blob copied into another gateway.
func cacheID(encryptedKey, canonical []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(encryptedKey)))
	h.Write(n[:])
	h.Write(encryptedKey)
	h.Write(canonical)
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}
