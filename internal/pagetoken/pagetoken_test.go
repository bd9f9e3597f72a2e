package pagetoken

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wharf-registry/wharf/internal/wharf"
)

type userCursor struct {
	AfterID int64  `json:"after_id"`
	Page    int    `json:"page"`
	Name    string `json:"name,omitempty"`
}

// clock is a settable time source so tests can age tokens without sleeping.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2025, 2, 17, 19, 29, 14, 0, time.UTC)

func newSealer(t testing.TB, secret string, c *clock) *Sealer {
	t.Helper()
	s, err := New([]byte(secret), 48*time.Hour, c.now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func seal(t testing.TB, s *Sealer, purpose string, cursor any) string {
	t.Helper()
	tok, err := s.Seal(purpose, cursor)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return tok
}

// wantInvalid checks the one error every bad token must produce, including
// that the client-visible text never reveals why.
func wantInvalid(t testing.TB, err error) {
	t.Helper()
	var e *wharf.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want *wharf.Error", err, err)
	}
	if e.Code != wharf.Invalid || e.Message != "Invalid page token" {
		t.Fatalf("got code %q message %q, want invalid %q", e.Code, e.Message, "Invalid page token")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		ttl    time.Duration
	}{
		{"empty secret", nil, time.Hour},
		{"zero ttl", []byte("k"), 0},
		{"negative ttl", []byte("k"), -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.secret, tt.ttl, nil); err == nil {
				t.Fatal("New succeeded, want error")
			}
		})
	}
	t.Run("nil clock means time.Now", func(t *testing.T) {
		s, err := New([]byte("k"), time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got userCursor
		if err := s.Open("users", seal(t, s, "users", userCursor{AfterID: 1}), &got); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	c := &clock{t0}
	s := newSealer(t, "secret", c)
	tests := []struct {
		name    string
		purpose string
		cursor  userCursor
	}{
		{"zero cursor", "users", userCursor{}},
		{"typical", "orgs", userCursor{AfterID: 42, Page: 3}},
		{"unicode and large id", "logs", userCursor{AfterID: 1<<63 - 1, Page: -1, Name: "ünïcode/\"quoted\""}},
		{"empty purpose", "", userCursor{AfterID: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := seal(t, s, tt.purpose, tt.cursor)
			if strings.ContainsAny(tok, "+/=") {
				t.Errorf("token %q is not raw base64url", tok)
			}
			var got userCursor
			if err := s.Open(tt.purpose, tok, &got); err != nil {
				t.Fatalf("Open: %v", err)
			}
			if diff := cmp.Diff(tt.cursor, got); diff != "" {
				t.Errorf("cursor mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("other cursor kinds", func(t *testing.T) {
		var n int
		if err := s.Open("n", seal(t, s, "n", 5), &n); err != nil || n != 5 {
			t.Fatalf("got %d, %v", n, err)
		}
		var ts time.Time
		want := t0.Add(123 * time.Millisecond)
		if err := s.Open("ts", seal(t, s, "ts", want), &ts); err != nil || !ts.Equal(want) {
			t.Fatalf("got %v, %v", ts, err)
		}
	})
	t.Run("same key from same secret", func(t *testing.T) {
		// Replicas sharing SECRET_KEY must accept each other's tokens.
		other := newSealer(t, "secret", c)
		var got userCursor
		if err := other.Open("users", seal(t, s, "users", userCursor{AfterID: 9}), &got); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("nonce is random", func(t *testing.T) {
		a, b := seal(t, s, "users", userCursor{}), seal(t, s, "users", userCursor{})
		if a == b {
			t.Fatal("two seals of the same cursor gave the same token")
		}
	})
}

func TestTamperEveryPosition(t *testing.T) {
	s := newSealer(t, "secret", &clock{t0})
	tok := seal(t, s, "users", userCursor{AfterID: 42, Page: 1})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		// Every other alphabet letter at every position, including those
		// that differ only in the final character's unused bits.
		for _, r := range alphabet {
			if byte(r) == tok[i] {
				continue
			}
			bad := tok[:i] + string(r) + tok[i+1:]
			var got userCursor
			if err := s.Open("users", bad, &got); err == nil {
				t.Fatalf("position %d → %q: Open accepted a tampered token", i, r)
			} else {
				wantInvalid(t, err)
			}
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		// Flipping a single bit of the decoded bytes, too.
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		var got userCursor
		wantInvalid(t, s.Open("users", base64.RawURLEncoding.EncodeToString(b), &got))
	}
}

func TestOpenRejects(t *testing.T) {
	c := &clock{t0}
	s := newSealer(t, "secret", c)
	good := seal(t, s, "users", userCursor{AfterID: 42})
	otherKey := seal(t, newSealer(t, "another secret", c), "users", userCursor{AfterID: 42})

	tests := []struct {
		name    string
		purpose string
		token   string
	}{
		{"empty string", "users", ""},
		{"garbage", "users", "not a token at all"},
		{"quay fernet token", "users", "gAAAAABntN-K0123456789abcdef"},
		{"standard base64 alphabet", "users", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/"},
		{"padded", "users", good + "=="},
		{"embedded newline", "users", good[:10] + "\n" + good[10:]},
		{"too short", "users", base64.RawURLEncoding.EncodeToString(make([]byte, 27))},
		{"truncated", "users", good[:len(good)-1]},
		{"extended", "users", good + "A"},
		{"wrong purpose", "orgs", good},
		{"other key", "users", otherKey},
		{"over length cap", "users", strings.Repeat("A", maxTokenLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := userCursor{AfterID: -5}
			wantInvalid(t, s.Open(tt.purpose, tt.token, &got))
			if got.AfterID != -5 {
				t.Errorf("cursor changed to %+v on error", got)
			}
		})
	}
}

func TestOpenAge(t *testing.T) {
	c := &clock{t0}
	s := newSealer(t, "secret", c) // ttl 48h
	tok := seal(t, s, "logs", userCursor{AfterID: 1})
	tests := []struct {
		name  string
		at    time.Time
		valid bool
	}{
		{"just issued", t0, true},
		{"at ttl", t0.Add(48 * time.Hour), true},
		{"one second past ttl", t0.Add(48*time.Hour + time.Second), false},
		{"long expired", t0.AddDate(1, 0, 0), false},
		{"clock behind within skew", t0.Add(-time.Minute), true},
		{"issued in the future", t0.Add(-time.Minute - time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = tt.at
			var got userCursor
			err := s.Open("logs", tok, &got)
			if tt.valid && err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !tt.valid {
				wantInvalid(t, err)
			}
		})
	}
}

func TestOpenCursorMismatch(t *testing.T) {
	s := newSealer(t, "secret", &clock{t0})
	type logCursor struct {
		Before time.Time `json:"before"`
		ID     int64     `json:"id"`
	}
	tests := []struct {
		name   string
		sealed any
		into   any
	}{
		{"string into struct", "hello", &userCursor{}},
		{"struct into int", userCursor{AfterID: 1}, new(int)},
		{"wrong field type", map[string]any{"after_id": "x"}, &userCursor{}},
		{"other cursor shape", logCursor{Before: t0, ID: 1}, &userCursor{}},
		{"unknown extra field", map[string]any{"after_id": 1, "extra": true}, &userCursor{}},
		{"fraction into int", 1.5, new(int)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, s.Open("p", seal(t, s, "p", tt.sealed), tt.into))
		})
	}
}

func TestOpenBadCursorArgument(t *testing.T) {
	// A non-pointer destination is the caller's bug: it must not be
	// reported to the client as a bad token.
	s := newSealer(t, "secret", &clock{t0})
	tok := seal(t, s, "p", 1)
	var nilPtr *int
	for name, dst := range map[string]any{"nil": nil, "non-pointer": 0, "nil pointer": nilPtr} {
		t.Run(name, func(t *testing.T) {
			if err := s.Open("p", tok, dst); !wharf.IsCode(err, wharf.Internal) {
				t.Fatalf("got %v, want Internal", err)
			}
		})
	}
}

func TestSealErrors(t *testing.T) {
	s := newSealer(t, "secret", &clock{t0})
	tests := []struct {
		name   string
		cursor any
	}{
		{"not marshalable", make(chan int)},
		{"too long for Open", strings.Repeat("x", maxTokenLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := s.Seal("p", tt.cursor); err == nil {
				t.Fatalf("Seal gave %d-char token, want error", len(tok))
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f, "fuzz secret", &clock{t0})
	valid := seal(f, s, "users", userCursor{AfterID: 42, Page: 2})
	f.Add("users", valid)
	f.Add("orgs", valid)
	f.Add("users", valid[:len(valid)-2])
	f.Add("users", "")
	f.Add("users", "gAAAAABntN-K")
	f.Add("users", "%%%\x00\xff")
	f.Add("users", strings.Repeat("A", 40))
	f.Fuzz(func(t *testing.T, purpose, token string) {
		var got userCursor
		err := s.Open(purpose, token, &got)
		if err == nil {
			return
		}
		var e *wharf.Error
		if !errors.As(err, &e) || e.Code != wharf.Invalid || e.Message != "Invalid page token" {
			t.Fatalf("Open(%q, %q) = %v, want nil or Invalid page token", purpose, token, err)
		}
	})
}
