package quota

import (
	"strings"
	"testing"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true}, {"5G", 5_000_000_000, true}, {"5 GB", 5_000_000_000, true}, {"10 GiB", 10 << 30, true},
		{"10Gi", 10 << 30, true}, {"1KiB", 1024, true}, {"1K", 1000, true}, {"2 EiB", 2 << 60, true},
		{"100B", 0, false}, {"1ZiB", 0, false}, {"1YiB", 0, false}, {"abc", 0, false}, {"-5", 0, false},
		{"1.5G", 0, false}, {"9Y", 0, false}, {"99999999999999999999", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLimit(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{500, "500.0 Byte"}, {5000, "4.9 KiB"}, {10 << 30, "10.0 GiB"}, {10485760, "10.0 MiB"}, {1 << 62, "4.0 EiB"}}
	for _, tt := range tests {
		if got := Human(tt.in); got != tt.want {
			t.Errorf("Human(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"1024", "5G", "10 GiB", "100B", "1ZiB", "9Y", "99999999999999999999", " 1G", "1 G",
		strings.Repeat("9", 1<<16) + " GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseLimit(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseLimit(%q) = %d", s, n)
		}
	})
}
