// Package identity is wharf's user and organization domain: Quay's rules
// for names, e-mails and passwords, who counts as a superuser, the avatar
// block, and the operations administrators perform on accounts. It knows
// nothing of HTTP; storage is behind the Store interface it declares.
package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"sync/atomic"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/wharf-registry/wharf/internal/wharf"
)

var namePattern = regexp.MustCompile(`^([a-z0-9]+(?:[._-][a-z0-9]+)*)$`)

// ValidateName applies Quay's namespace rules, shared by users and organizations.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return wharf.Errorf(wharf.Invalid, "Invalid namespace %s: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$", name)
	}
	if len(name) < 2 || len(name) > 255 {
		return wharf.Errorf(wharf.Invalid, "Invalid namespace %s: Namespace must be between 2 and 255 characters in length", name)
	}
	return nil
}

// ValidateEmail applies Quay's e-mail rule: at most 254 characters, one @,
// a non-empty local part and a domain of at least two non-empty labels.
func ValidateEmail(email string) error {
	bad := wharf.Errorf(wharf.Invalid, "Invalid email address: %s", email)
	if email == "" || len(email) > 254 || strings.Count(email, "@") != 1 || strings.ContainsFunc(email, unicode.IsSpace) {
		return bad
	}
	local, domain, _ := strings.Cut(email, "@")
	if local == "" {
		return bad
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad
	}
	for _, l := range labels {
		if l == "" {
			return bad
		}
	}
	return nil
}

// ValidatePassword applies Quay's password rule.
func ValidatePassword(password string) error {
	if len(password) < 8 || strings.ContainsFunc(password, unicode.IsSpace) {
		return wharf.Errorf(wharf.Invalid, "Invalid password, password must be at least 8 characters and contain no whitespace.")
	}
	if len(password) > 72 {
		// bcrypt reads 72 bytes; longer passwords would be silently truncated.
		return wharf.Errorf(wharf.Invalid, "Invalid password, password must be at most 72 characters.")
	}
	return nil
}

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", wharf.Wrap(err, "hash password")
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash. An empty hash never
// matches but costs the same bcrypt comparison, against unknownHash: login
// checks pass "" for a name that is no user (unknown, an organization, an
// account without a password) so that the answer's timing does not tell.
func CheckPassword(hash, password string) bool {
	passwordChecks.Add(1)
	if hash == "" {
		bcrypt.CompareHashAndPassword([]byte(unknownHash), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// unknownHash is the bcrypt hash, at bcrypt.DefaultCost like every hash
// HashPassword makes, of a random password nobody kept.
const unknownHash = "$2a$10$PLIBp3UMkIc/jRc4co97VOui2CIfYKks/swlUA0gTIH58.1bt4lJG"

var passwordChecks atomic.Uint64

// PasswordChecks is how many bcrypt comparisons CheckPassword has made in
// this process: tests prove with it that every refused login pays one.
func PasswordChecks() uint64 { return passwordChecks.Load() }

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// RandomString returns n characters drawn uniformly from alphabet with a CSPRNG.
func RandomString(n int, alphabet string) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	for i := 0; i < n; {
		rand.Read(buf)
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}

// GeneratePassword returns a password as Quay's createInstallUser makes
// one: 32 characters of [A-Z0-9].
func GeneratePassword() string { return RandomString(32, upperAlnum) }

// Avatar is Quay's avatar block, embedded in every account view.
type Avatar struct {
	Name  string `json:"name"`
	Hash  string `json:"hash"`
	Color string `json:"color"`
	Kind  string `json:"kind"`
}

// avatarColors is Quay's default AVATAR_COLORS list; clients show these.
var avatarColors = []string{"#969696", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
	"#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#1f77b4",
	"#17becf", "#9edae5", "#393b79", "#5254a3", "#6b6ecf", "#9c9ede", "#9ecae1", "#31a354", "#b5cf6b", "#a1d99b",
	"#8c6d31", "#ad494a", "#e7ba52", "#a55194"}

// AvatarFor computes the avatar block: the hash is SHA-256 of the trimmed,
// lower-cased e-mail (or the name when there is none); the colour is picked
// by the hash's first two hex digits.
func AvatarFor(name, email string, kind wharf.AccountKind) Avatar {
	source := strings.ToLower(strings.TrimSpace(email))
	if source == "" {
		source = name
	}
	sum := sha256.Sum256([]byte(source))
	var hash [2 * sha256.Size]byte
	hex.Encode(hash[:], sum[:]) // one allocation (the string) where EncodeToString makes two
	return Avatar{Name: name, Hash: string(hash[:]), Color: avatarColors[int(sum[0])%len(avatarColors)], Kind: string(kind)}
}
