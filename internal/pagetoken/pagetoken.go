// Package pagetoken turns keyset cursors into the opaque next_page tokens of
// the /api/v1 list endpoints, and back.
//
// Quay silently serves the first page for a token it cannot read, so a client
// holding a broken token can loop forever. Wharf refuses such a token instead,
// which means a token must be unforgeable: it is sealed with AES-256-GCM under
// a key derived from the server secret, bound to the list it belongs to, and
// stamped with its issue time so that it expires.
//
// Token layout (base64url without padding):
//
//	nonce (12 bytes) || AES-256-GCM(key, nonce, payload, additional data = purpose)
//	payload = {"iat": <unix seconds>, "c": <cursor as JSON>}
package pagetoken

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

const (
	// keyInfo separates this key from any other key derived from the same
	// secret; bump the version if the token format ever changes.
	keyInfo = "wharf page token v1"
	// maxTokenLen is the longest token Open accepts. It bounds the work an
	// attacker can make us do per request; real cursors are a few dozen bytes.
	maxTokenLen = 4096
	// maxSkew tolerates clocks of several replicas that disagree slightly.
	maxSkew = time.Minute
)

// Causes kept in the Err field of the Invalid error: logged for operators,
// never shown to clients, who only ever see "Invalid page token".
var (
	errTooLong   = errors.New("token too long")
	errEncoding  = errors.New("token is not canonical base64url")
	errTooShort  = errors.New("token too short")
	errAuth      = errors.New("token fails authentication (tampered, other key or other purpose)")
	errPayload   = errors.New("token payload is malformed")
	errExpired   = errors.New("token expired")
	errFromAhead = errors.New("token issued in the future")
)

// Sealer seals keyset cursors into opaque page tokens and opens them again.
// It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	ttl  time.Duration
	now  func() time.Time
}

// payload is what a token carries. IAT lets Open expire tokens without any
// server-side state.
type payload struct {
	IAT int64           `json:"iat"`
	C   json.RawMessage `json:"c"`
}

// New derives the AEAD key from secret with HKDF-SHA256 (info "wharf page token v1"); secret must be non-empty.
// Tokens older than ttl (which must be positive) are refused. now is the
// clock; nil means time.Now.
func New(secret []byte, ttl time.Duration, now func() time.Time) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("pagetoken: secret must be non-empty")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("pagetoken: ttl must be positive, got %v", ttl)
	}
	if now == nil {
		now = time.Now
	}
	key, err := hkdf.Key(sha256.New, secret, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("pagetoken: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pagetoken: %w", err)
	}
	// NewGCMWithRandomNonce draws a fresh 12-byte nonce per Seal and
	// prepends it to the ciphertext, which is exactly our wire layout, so no
	// nonce handling of our own can go wrong.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("pagetoken: %w", err)
	}
	return &Sealer{aead: aead, ttl: ttl, now: now}, nil
}

// Seal encodes cursor (any JSON-marshalable value) bound to purpose (e.g. "users", "orgs", "logs").
// The purpose is authenticated but not stored, so a token issued for one list
// cannot be replayed against another. Seal fails only if cursor does not
// marshal or the token would exceed maxTokenLen; both are programming errors.
func (s *Sealer) Seal(purpose string, cursor any) (string, error) {
	c, err := json.Marshal(cursor)
	if err != nil {
		return "", fmt.Errorf("pagetoken: marshal cursor: %w", err)
	}
	plain, err := json.Marshal(payload{IAT: s.now().Unix(), C: c})
	if err != nil {
		return "", fmt.Errorf("pagetoken: marshal payload: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(s.aead.Seal(nil, nil, plain, []byte(purpose)))
	if len(token) > maxTokenLen {
		// Open would refuse it; fail here where the bug is.
		return "", fmt.Errorf("pagetoken: token of %d chars exceeds %d", len(token), maxTokenLen)
	}
	return token, nil
}

// Open decodes token into cursor (a pointer). Any problem — not base64url, too short, tampered,
// sealed with another key, other purpose, older than ttl (or issued in the future beyond 1 min
// skew), payload that does not unmarshal into cursor — returns wharf.Errorf(wharf.Invalid, "Invalid page token").
// The Invalid error's Err field names the reason for the log; on any error
// *cursor is left unchanged. A cursor that is not a non-nil pointer is the
// caller's bug, not the client's, and yields an Internal error.
func (s *Sealer) Open(purpose string, token string, cursor any) error {
	dst := reflect.ValueOf(cursor)
	if dst.Kind() != reflect.Pointer || dst.IsNil() {
		return wharf.Wrap(fmt.Errorf("cursor must be a non-nil pointer, got %T", cursor), "pagetoken: open")
	}
	if len(token) > maxTokenLen {
		return invalid(errTooLong)
	}
	raw, err := decode(token)
	if err != nil {
		return invalid(errEncoding)
	}
	if len(raw) < s.aead.Overhead() {
		return invalid(errTooShort)
	}
	plain, err := s.aead.Open(nil, nil, raw, []byte(purpose))
	if err != nil {
		return invalid(errAuth)
	}
	var p payload
	if err := json.Unmarshal(plain, &p); err != nil {
		return invalid(errPayload)
	}
	now := s.now()
	issued := time.Unix(p.IAT, 0)
	// Sub saturates instead of overflowing, so absurd iat values still
	// compare correctly.
	if now.Sub(issued) > s.ttl {
		return invalid(errExpired)
	}
	if issued.Sub(now) > maxSkew {
		return invalid(errFromAhead)
	}
	// Unknown fields mean the token was sealed for another cursor shape
	// (an older release, or a caller mixing up cursor types); decoding it
	// partially would silently restart or skip rows.
	// Decoding into a fresh value leaves *cursor untouched on failure, so a
	// caller never sees half a cursor.
	fresh := reflect.New(dst.Elem().Type())
	dec := json.NewDecoder(bytes.NewReader(p.C))
	dec.DisallowUnknownFields()
	if err := dec.Decode(fresh.Interface()); err != nil {
		return invalid(fmt.Errorf("%w: cursor: %v", errPayload, err))
	}
	dst.Elem().Set(fresh.Elem())
	return nil
}

// decode accepts only the exact alphabet and canonical form Seal produces.
// encoding/base64 silently skips '\r' and '\n' and, unless strict, ignores
// stray trailing bits; either would let many strings name one token.
func decode(token string) ([]byte, error) {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, errEncoding
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(token)
}

func invalid(cause error) error {
	return &wharf.Error{Code: wharf.Invalid, Message: "Invalid page token", Err: cause}
}
