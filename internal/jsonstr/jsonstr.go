// Package jsonstr writes a Go string as a quoted JSON string, byte for byte
// as one of the standard library's encoders would, without reflection: the
// API's typed views (encoding/json's bytes) and the request log line
// (log/slog's JSON handler's bytes) share it.
package jsonstr

import "unicode/utf8"

// Escaping names whose bytes Append writes. Both escape quotes,
// backslashes, control characters and U+2028/U+2029, and write invalid
// UTF-8 as U+FFFD; they differ in the rest.
type Escaping int

const (
	// EncodingJSON is encoding/json's: '<', '>' and '&' escaped for HTML,
	// \b and \f in their short forms.
	EncodingJSON Escaping = iota
	// Slog is log/slog's JSON handler's: no HTML escaping, \b and \f as
	// \u0008 and \u000c.
	Slog
)

// plain marks the ASCII bytes each escaping writes as they are, bit
// 1<<Escaping: one table load per byte on the common path instead of a
// chain of comparisons.
var plain = func() (t [utf8.RuneSelf]uint8) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\':
		case '<', '>', '&':
			t[c] = 1 << Slog
		default:
			t[c] = 1<<Slog | 1<<EncodingJSON
		}
	}
	return t
}()

// Append appends s to b as a quoted JSON string escaped as e says.
func Append(b []byte, s string, e Escaping) []byte {
	const hex = "0123456789abcdef"
	html := e == EncodingJSON
	mask := uint8(1) << e
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c]&mask != 0 {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && html:
				b = append(b, '\\', 'b')
			case c == '\f' && html:
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
