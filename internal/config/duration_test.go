package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "30s", want: 30 * time.Second},
		{in: "10m", want: 10 * time.Minute},
		{in: "12h", want: 12 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "30d", want: 30 * 24 * time.Hour},
		{in: "1w", want: 7 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "4w", want: 28 * 24 * time.Hour},
		{in: "007d", want: 7 * 24 * time.Hour},
		{in: "15250w", want: 15250 * 7 * 24 * time.Hour},
		{in: "", wantErr: "invalid duration"},
		{in: "abc", wantErr: "invalid duration"},
		{in: "-1d", wantErr: "invalid duration"},
		{in: "+1d", wantErr: "invalid duration"},
		{in: "5x", wantErr: "invalid duration"},
		{in: "d", wantErr: "invalid duration"},
		{in: "1", wantErr: "invalid duration"},
		{in: "1.5h", wantErr: "invalid duration"},
		{in: "1h30m", wantErr: "invalid duration"},
		{in: " 1d", wantErr: "invalid duration"},
		{in: "1D", wantErr: "invalid duration"},
		{in: "1ms", wantErr: "invalid duration"},
		{in: "15251w", wantErr: "too long"},
		{in: "99999999999999999999s", wantErr: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
