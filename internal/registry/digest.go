package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"github.com/wharf-registry/wharf/internal/blobgc"
	"hash"
	"strings"
)

// Digest is a validated content digest "<algorithm>:<hex>".
type Digest string

// digestAlgorithms are the algorithms wharf accepts, with their hex lengths.
var digestAlgorithms = map[string]int{"sha256": 64, "sha512": 128}

// ParseDigest validates s as an OCI digest of a supported algorithm, with
// lower-case hex of the algorithm's length.
func ParseDigest(s string) (Digest, error) {
	alg, hexPart, ok := strings.Cut(s, ":")
	n, known := digestAlgorithms[alg]
	if !ok || !known {
		return "", ociError(errDigestInvalid, "unsupported or malformed digest %q", truncate(s))
	}
	if len(hexPart) != n {
		return "", ociError(errDigestInvalid, "digest %q has the wrong length for %s", truncate(s), alg)
	}
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", ociError(errDigestInvalid, "digest %q is not lower-case hex", truncate(s))
		}
	}
	return Digest(s), nil
}

// Algorithm returns the digest's algorithm name.
func (d Digest) Algorithm() string { a, _, _ := strings.Cut(string(d), ":"); return a }

// Hex returns the digest's hex part.
func (d Digest) Hex() string { _, h, _ := strings.Cut(string(d), ":"); return h }

func (d Digest) String() string { return string(d) }

// newHash returns a fresh hash for algorithm (sha256 when unknown).
func newHash(algorithm string) hash.Hash {
	if algorithm == "sha512" {
		return sha512.New()
	}
	return sha256.New()
}

// digestOf returns the digest of b with algorithm.
func digestOf(algorithm string, b []byte) Digest {
	h := newHash(algorithm)
	h.Write(b)
	return Digest(algorithm + ":" + hex.EncodeToString(h.Sum(nil)))
}

// blobKey is where a blob's content lives in the storage driver.
func blobKey(d Digest) string {
	key, _ := blobgc.BlobKey(d.String())
	return key
}

// uploadKey is where an upload's data accumulates.
func uploadKey(id string) string { return "uploads/" + id + "/data" }

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
