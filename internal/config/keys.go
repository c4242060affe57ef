package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// KeySet checks keys presented by HTTP clients against configured Secrets.
// It holds only their SHA-256 digests and compares in constant time.
type KeySet struct{ sums [][sha256.Size]byte }

// NewKeySet accepts every key of every list.
func NewKeySet(lists ...[]Secret) KeySet {
	var k KeySet
	for _, l := range lists {
		for _, s := range l {
			k.sums = append(k.sums, sha256.Sum256([]byte(s.Value())))
		}
	}
	return k
}

// Len is the number of keys; an empty set allows nothing.
func (k KeySet) Len() int { return len(k.sums) }

// Allows reports whether r carries one of the keys, as "X-API-Key: KEY" or
// "Authorization: Bearer KEY".
func (k KeySet) Allows(r *http.Request) bool {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			key = strings.TrimSpace(v)
		}
	}
	if key == "" {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for _, s := range k.sums {
		match |= subtle.ConstantTimeCompare(sum[:], s[:])
	}
	return match == 1
}
