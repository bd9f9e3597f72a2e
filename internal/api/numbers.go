package api

import (
	"strconv"
	"strings"
)

// maxNumberLen bounds every numeric literal of a request before it is
// parsed: an int64 needs 19 digits and a float64 17 significant ones, so
// 64 characters leave room for signs, fractions and exponents, while a
// body-sized run of digits would cost math/big seconds and gigabytes.
const maxNumberLen = 64

// maxIntegerExponent bounds the exponent of an integer literal before any
// big-number arithmetic: 1e600000000 is a short literal whose value takes
// math/big 250 MB to build (and minutes to print). Within maxNumberLen
// characters a nonzero mantissa is at least 1e-62, so an exponent beyond
// ±100 can only write zero or a value far outside int64.
const maxIntegerExponent = 100

// boundedInteger reports whether s, a JSON number literal, is short enough
// and its exponent small enough for math/big to turn into an integer
// cheaply.
func boundedInteger(s string) bool {
	if len(s) > maxNumberLen {
		return false
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	exp, err := strconv.Atoi(s[i+1:])
	return err == nil && -maxIntegerExponent <= exp && exp <= maxIntegerExponent
}
