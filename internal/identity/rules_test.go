package identity

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"newuser", true}, {"a.b-c_d", true}, {"ab", true}, {"a", false}, {"Upper", false},
		{"trailing-", false}, {"-lead", false}, {"dou..ble", false}, {"sp ace", false}, {"ünï", false},
		{"", false}, {string(make([]byte, 256)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateName(tt.name); (err == nil) != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		email string
		ok    bool
	}{
		{"a@example.com", true}, {"a@b.c", true}, {"a@localhost", false}, {"@example.com", false},
		{"a@@example.com", false}, {"a@example..com", false}, {"a b@example.com", false}, {"", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			err := ValidateEmail(tt.email)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateEmail(%q) = %v, want ok=%v", tt.email, err, tt.ok)
			}
			if err != nil && wharf.ErrorMessage(err) != "Invalid email address: "+tt.email {
				t.Fatalf("message %q", wharf.ErrorMessage(err))
			}
		})
	}
}

func TestAvatarMatchesQuay(t *testing.T) {
	// Expected values are Quay's own, from its documented examples.
	tests := []struct {
		name, email string
		kind        wharf.AccountKind
		hash, color string
	}{
		{"quayadmin", "quayadmin@example.com", wharf.KindUser, "3e82e9cbf62d25dec0ed1b4c66ca7c5d47ab9f1f271958298dea856fb26adc4c", "#e7ba52"},
		{"newuser", "newuser@example.com", wharf.KindUser, "f338a2c83bfdde84abe2d3348994d70c34185a234cfbf32f9e323e3578e7e771", "#9edae5"},
		{"acme", "acme@example.com", wharf.KindOrg, "4d422ac9aaabde4adbf99f387b90be363633fb7ce7411bea5437f95bd46f1640", "#f7b6d2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AvatarFor(tt.name, tt.email, tt.kind)
			if got.Hash != tt.hash || got.Color != tt.color || got.Kind != string(tt.kind) || got.Name != tt.name {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p := GeneratePassword()
		if len(p) != 32 || !namePatternUpper(p) || seen[p] {
			t.Fatalf("bad password %q", p)
		}
		seen[p] = true
	}
}

func namePatternUpper(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// TestCheckPasswordCost: a refusal costs one bcrypt comparison at the cost
// real hashes have, whether or not there was a hash to compare with.
func TestCheckPasswordCost(t *testing.T) {
	if cost, err := bcrypt.Cost([]byte(unknownHash)); err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("unknownHash cost %d (%v), want bcrypt.DefaultCost %d", cost, err, bcrypt.DefaultCost)
	}
	real, err := HashPassword("password123")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, hash, password string
		ok                   bool
	}{
		{"right password", real, "password123", true},
		{"wrong password", real, "password124", false},
		{"no hash", "", "password123", false},
		{"no hash, empty password", "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := PasswordChecks()
			if got := CheckPassword(tt.hash, tt.password); got != tt.ok {
				t.Errorf("CheckPassword = %v, want %v", got, tt.ok)
			}
			if n := PasswordChecks() - before; n != 1 {
				t.Errorf("%d bcrypt comparisons, want 1", n)
			}
		})
	}
}
