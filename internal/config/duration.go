package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Quay's day and week units; time has neither because their length in
// wall-clock terms varies, but Quay means exactly 24h and 7×24h.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration parses Quay duration strings: "<int><unit>" with unit s, m, h, d, w (and a bare "0").
// It accepts exactly what Quay's schema pattern ^[0-9]+(w|m|d|h|s)$ accepts
// (no sign, no spaces, no fractions, no combined units like "1h30m"), and
// refuses values that do not fit in a time.Duration instead of wrapping.
func ParseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: want <integer><unit> with unit s, m, h, d or w, e.g. \"2w\"", s)
	}
	if len(s) < 2 {
		return bad()
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = day
	case 'w':
		unit = week
	default:
		return bad()
	}
	digits := s[:len(s)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return bad() // also refuses the "+" and "-" that ParseUint would take
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > uint64(math.MaxInt64/int64(unit)) {
		return 0, fmt.Errorf("invalid duration %q: too long", s)
	}
	return time.Duration(n) * unit, nil
}
