package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxExpandSize bounds what Expand and ExpandFields produce. `ENV a=$a$a`
// repeated doubles a value per line, so without a bound a small Dockerfile
// could make the builder allocate gigabytes.
const MaxExpandSize = 1 << 20

// maxNesting bounds ${a:-${b:-...}} nesting so hostile input cannot recurse
// deeply; real Dockerfiles nest two or three levels.
const maxNesting = 64

// eof is what peek returns past the end of the word.
const eof rune = -1

var (
	errTooLarge     = fmt.Errorf("result is larger than %d bytes", MaxExpandSize)
	errMissingBrace = errors.New("syntax error: missing '}'")
)

// Expand returns word with its quotes removed, escapes resolved and
// variables substituted, as Docker's shell lexer does for ADD, COPY, ENV,
// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR.
//
// Single quotes keep everything literal. Double quotes keep everything but
// $ expansion, and there escape may precede `"`, `$` or escape itself.
// Outside quotes escape makes the next character literal; with escape '`'
// a backslash is an ordinary character, which is what Windows paths need.
// $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word},
// ${NAME:?word} and ${NAME?word} behave as in sh; word is itself expanded.
// An unset variable expands to "", and so do the special parameters ($1,
// $@, $$, ...) unless lookup knows them, as in Docker; a $ before any other
// character stays literal. lookup may be nil when no variable is set.
func Expand(word string, escape rune, lookup func(name string) (string, bool)) (string, error) {
	out := &sink{}
	if err := newExpander(word, escape, lookup).until(eof, out); err != nil {
		return "", fmt.Errorf("expand %q: %w", clip(word), err)
	}
	return string(out.buf), nil
}

// ExpandFields expands line like Expand and splits the result into words
// on whitespace that was neither quoted, escaped nor inside a quoted
// expansion, as Docker does for EXPOSE and VOLUME: `"a b" $X` is two words
// when X is "c", three when it is "c d". Empty words are dropped.
func ExpandFields(line string, escape rune, lookup func(name string) (string, bool)) ([]string, error) {
	out := &sink{split: true}
	if err := newExpander(line, escape, lookup).until(eof, out); err != nil {
		return nil, fmt.Errorf("expand %q: %w", clip(line), err)
	}
	out.flush()
	return out.words, nil
}

// sink collects expanded text: one string, or words when split is set.
type sink struct {
	split bool
	buf   []byte // the result, or the current word when split is set
	words []string
	size  int // bytes written, bounded by MaxExpandSize
}

// write appends s. Splittable text came from outside quotes, so in split
// mode its whitespace separates words.
func (s *sink) write(str string, splittable bool) error {
	s.size += len(str)
	if s.size > MaxExpandSize {
		return errTooLarge
	}
	if !s.split || !splittable {
		s.buf = append(s.buf, str...)
		return nil
	}
	for i := 0; i < len(str); {
		r, w := utf8.DecodeRuneInString(str[i:])
		if unicode.IsSpace(r) {
			s.flush()
		} else {
			s.buf = append(s.buf, str[i:i+w]...)
		}
		i += w
	}
	return nil
}

// flush ends the current word.
func (s *sink) flush() {
	if len(s.buf) > 0 {
		s.words = append(s.words, string(s.buf))
		s.buf = s.buf[:0]
	}
}

// expander walks one word. It copies input bytes rather than decoded runes
// so invalid UTF-8 passes through unchanged.
type expander struct {
	src    string
	pos    int
	escape rune
	lookup func(string) (string, bool)
	depth  int
}

func newExpander(src string, escape rune, lookup func(string) (string, bool)) *expander {
	return &expander{src: src, escape: escape, lookup: lookup}
}

// peek returns the rune at pos and its width, or eof.
func (e *expander) peek() (rune, int) {
	if e.pos >= len(e.src) {
		return eof, 0
	}
	return utf8.DecodeRuneInString(e.src[e.pos:])
}

func (e *expander) get(name string) (string, bool) {
	if e.lookup == nil {
		return "", false
	}
	return e.lookup(name)
}

// until expands into out up to stop, which it consumes; stop is eof for a
// whole word and '}' for the word of ${NAME:-word}.
func (e *expander) until(stop rune, out *sink) error {
	for {
		r, w := e.peek()
		var err error
		switch {
		case r == eof:
			if stop != eof {
				return errMissingBrace
			}
			return nil
		case r == stop:
			e.pos += w
			return nil
		case r == '$':
			var v string
			if v, err = e.dollar(); err == nil {
				err = out.write(v, true)
			}
		case r == '\'':
			var v string
			if v, err = e.singleQuote(); err == nil {
				err = out.write(v, false)
			}
		case r == '"':
			var v string
			if v, err = e.doubleQuote(); err == nil {
				err = out.write(v, false)
			}
		case r == e.escape:
			// A trailing escape escapes nothing and disappears, as in Docker.
			e.pos += w
			if r, w = e.peek(); r != eof {
				err = out.write(e.src[e.pos:e.pos+w], false)
				e.pos += w
			}
		default:
			err = out.write(e.src[e.pos:e.pos+w], true)
			e.pos += w
		}
		if err != nil {
			return err
		}
	}
}

// singleQuote returns the text up to the closing quote, literally.
func (e *expander) singleQuote() (string, error) {
	start := e.pos + 1
	n := strings.IndexByte(e.src[start:], '\'')
	if n < 0 {
		return "", errors.New("unexpected end of statement while looking for matching single-quote")
	}
	e.pos = start + n + 1
	return e.src[start : start+n], nil
}

// doubleQuote returns the text up to the closing quote with variables
// expanded. The escape character only escapes `"`, `$` and itself; before
// anything else it is literal, like a backslash in sh.
func (e *expander) doubleQuote() (string, error) {
	e.pos++
	var b []byte
	for {
		r, w := e.peek()
		switch {
		case r == eof:
			return "", errors.New("unexpected end of statement while looking for matching double-quote")
		case r == '"':
			e.pos += w
			return string(b), nil
		case r == '$':
			v, err := e.dollar()
			if err != nil {
				return "", err
			}
			if len(b)+len(v) > MaxExpandSize {
				return "", errTooLarge
			}
			b = append(b, v...)
			continue
		case r == e.escape:
			if next, nw := utf8.DecodeRuneInString(e.src[e.pos+w:]); next == '"' || next == '$' || next == e.escape {
				e.pos += w
				w = nw
			}
		}
		b = append(b, e.src[e.pos:e.pos+w]...)
		e.pos += w
	}
}

// dollar expands the $NAME or ${...} at pos.
func (e *expander) dollar() (string, error) {
	e.pos++
	if r, _ := e.peek(); r != '{' {
		name := e.name()
		if name == "" {
			return "$", nil
		}
		v, _ := e.get(name)
		return v, nil
	}
	e.pos++
	switch r, _ := e.peek(); r {
	case eof:
		return "", errMissingBrace
	case '{', '}', ':':
		return "", errors.New("syntax error: bad substitution")
	}
	name := e.name()
	op, w := e.peek()
	if op == eof {
		return "", errMissingBrace
	}
	e.pos += w
	if op == '}' {
		v, _ := e.get(name)
		return v, nil
	}
	modifier := string(op)
	nullIsUnset := op == ':'
	if nullIsUnset {
		if op, w = e.peek(); op == eof {
			return "", errMissingBrace
		}
		e.pos += w
		modifier += string(op)
	}
	if op != '-' && op != '+' && op != '?' {
		return "", fmt.Errorf("unsupported modifier (%s) in substitution", modifier)
	}
	if e.depth >= maxNesting {
		return "", fmt.Errorf("substitutions nested more than %d deep", maxNesting)
	}
	e.depth++
	word := &sink{}
	err := e.until('}', word)
	e.depth--
	if err != nil {
		return "", err
	}
	value, set := e.get(name)
	unset := !set || (nullIsUnset && value == "")
	switch {
	case op == '-' && unset:
		return string(word.buf), nil
	case op == '+' && unset:
		return "", nil
	case op == '+':
		return string(word.buf), nil
	case op == '?' && unset:
		msg := string(word.buf)
		switch {
		case msg != "":
		case !set:
			msg = "is not allowed to be unset"
		default:
			msg = "is not allowed to be empty"
		}
		return "", fmt.Errorf("%s: %s", name, clip(msg))
	}
	return value, nil
}

// name reads a variable name at pos: letters, digits and '_' not starting
// with a digit, or a positional parameter (digits), or one of sh's special
// parameters. It returns "" when there is none.
func (e *expander) name() string {
	start := e.pos
	r, w := e.peek()
	switch {
	case unicode.IsDigit(r):
		for ; unicode.IsDigit(r); r, w = e.peek() {
			e.pos += w
		}
		return e.src[start:e.pos]
	case strings.ContainsRune("@*#?-$!", r):
		e.pos += w
		return e.src[start:e.pos]
	}
	for ; r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r); r, w = e.peek() {
		e.pos += w
	}
	return e.src[start:e.pos]
}

// clip shortens input quoted in error messages, so a hostile Dockerfile
// cannot turn one error into a megabyte-long log line.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// splitWords splits the arguments of ENV, LABEL, ARG, EXPOSE, VOLUME, COPY
// and ADD on whitespace outside quotes, as Docker's parser does. Quotes and
// escapes stay in the words because Expand, run later with the variables
// of the moment, removes them.
func splitWords(s string, escape rune) []string {
	var words []string
	var word []byte
	var quote rune     // the open quote, 0 outside quotes
	keepEmpty := false // the word had quotes, so `""` is a word
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case quote == 0 && unicode.IsSpace(r):
			if keepEmpty || len(word) > 0 {
				words = append(words, string(word))
			}
			word, keepEmpty = word[:0], false
			i += w
			continue
		case quote == 0 && (r == '\'' || r == '"'):
			quote, keepEmpty = r, true
		case quote != 0 && r == quote:
			quote = 0
		case r == escape && (quote == 0 || quote == '"'):
			// An escape keeps the next character, quote or space, in
			// the word; a trailing one escapes nothing and is dropped.
			if i+w == len(s) {
				i += w
				continue
			}
			word = append(word, s[i:i+w]...)
			i += w
			_, w = utf8.DecodeRuneInString(s[i:])
		}
		word = append(word, s[i:i+w]...)
		i += w
	}
	if keepEmpty || len(word) > 0 {
		words = append(words, string(word))
	}
	return words
}
