package imagebuild

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ignoreFile, at the root of the context, hides context paths from COPY
// and ADD. It is read into memory and every path a COPY sees is matched
// against each pattern, hence the bounds.
const (
	ignoreFile        = ".dockerignore"
	maxIgnoreBytes    = 1 << 20
	maxIgnorePatterns = 10_000
)

// ignoreMatcher holds the patterns of a .dockerignore, in file order. A
// nil *ignoreMatcher excludes nothing.
//
// A context path is excluded when the last pattern that matches it, or
// one of its parent directories, is not an exception ("!"). An excluded
// directory still shows the entries below it that an exception includes
// again, as BuildKit sends such a directory with just those entries.
type ignoreMatcher struct {
	patterns []ignorePattern
}

// ignorePattern is one pattern: cleaned, relative, slash-separated.
type ignorePattern struct {
	text      string
	exception bool           // written with a leading "!"
	re        *regexp.Regexp // nil when text has no wildcards
	segs      []string       // text split at "/", for exceptions only
}

// loadIgnore reads the .dockerignore at the root of the context; it
// returns nil when there is none.
func loadIgnore(root *os.Root) (*ignoreMatcher, error) {
	f, err := root.Open(ignoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIgnoreBytes+1))
	f.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
	case len(data) > maxIgnoreBytes:
		return nil, fmt.Errorf("%s is larger than %d bytes", ignoreFile, maxIgnoreBytes)
	}
	return parseIgnore(data)
}

// parseIgnore parses .dockerignore content as Docker does: a line that
// starts with "#" is a comment; other lines are trimmed, blank ones
// skipped; "!" makes an exception; the rest is cleaned, and a leading "/"
// dropped, so "/a/./b/" and "a/b" are the same pattern.
func parseIgnore(data []byte) (*ignoreMatcher, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	m := &ignoreMatcher{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(m.patterns) == maxIgnorePatterns {
			return nil, fmt.Errorf("%s has more than %d patterns", ignoreFile, maxIgnorePatterns)
		}
		p, err := compileIgnorePattern(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", ignoreFile, i+1, err)
		}
		m.patterns = append(m.patterns, p)
	}
	return m, nil
}

func compileIgnorePattern(line string) (ignorePattern, error) {
	var p ignorePattern
	text := line
	if text[0] == '!' {
		p.exception = true
		text = strings.TrimSpace(text[1:])
		if text == "" {
			return p, errors.New(`illegal exclusion pattern: "!"`)
		}
	}
	text = path.Clean(text)
	if len(text) > 1 && text[0] == '/' {
		text = text[1:]
	}
	p.text = text
	// path.Match checks the whole pattern's syntax even when the name does
	// not match; Docker accepts exactly the patterns it accepts.
	if _, err := path.Match(text, "."); err != nil {
		return p, fmt.Errorf("invalid pattern %q: %w", line, err)
	}
	if p.exception {
		p.segs = strings.Split(text, "/")
	}
	if !hasIgnoreMeta(text) {
		return p, nil
	}
	expr, err := ignoreRegexp(text)
	if err == nil {
		p.re, err = regexp.Compile(expr)
	}
	if err != nil {
		return p, fmt.Errorf("invalid pattern %q: %w", line, err)
	}
	return p, nil
}

// hasIgnoreMeta reports whether s has anything but literal characters.
func hasIgnoreMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// ignoreRegexp translates pattern, which path.Match accepts, into an
// anchored regular expression for the whole path, with Docker's meaning:
//
//   - "*" is any run of characters but "/", "?" any one but "/";
//     "[...]" and "\" escapes are as in path.Match.
//   - "**/" is any number of whole directories, none included, so
//     "**/x" matches x at any depth and "a/**/b" matches a/b.
//   - A trailing "**" is anything at all: "a/**" is everything below a.
//   - A leading "**" followed by literal text, as in "**.log", matches
//     every path ending in that text.
func ignoreRegexp(pattern string) (string, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	if rest, ok := strings.CutPrefix(pattern, "**"); ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(rest, `*?[]\`) {
		b.WriteString(".*" + regexp.QuoteMeta(rest) + "$")
		return b.String(), nil
	}
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; {
		case strings.HasPrefix(pattern[i:], "**"):
			i += 2
			if i < len(pattern) && pattern[i] == '/' {
				i++
			}
			if i == len(pattern) {
				b.WriteString(".*")
			} else {
				b.WriteString("(.*/)?")
			}
		case c == '*':
			b.WriteString("[^/]*")
			i++
		case c == '?':
			b.WriteString("[^/]")
			i++
		case c == '[':
			n, err := writeClass(&b, pattern[i+1:])
			if err != nil {
				return "", err
			}
			i += 1 + n
		default:
			if c == '\\' {
				i++
			}
			if i == len(pattern) {
				return "", path.ErrBadPattern
			}
			r, n := utf8.DecodeRuneInString(pattern[i:])
			if r == utf8.RuneError {
				// regexp reads invalid UTF-8, in patterns and names, as U+FFFD.
				b.WriteString(`\x{fffd}`)
			} else {
				b.WriteString(regexp.QuoteMeta(pattern[i : i+n]))
			}
			i += n
		}
	}
	b.WriteString("$")
	return b.String(), nil
}

// writeClass writes the character class whose text follows "[" in s, as
// path.Match reads it, and returns how much of s it took, "]" included.
func writeClass(b *strings.Builder, s string) (int, error) {
	i := 0
	negated := strings.HasPrefix(s, "^")
	if negated {
		i++
	}
	char := func() (rune, error) {
		if i < len(s) && (s[i] == '-' || s[i] == ']') {
			return 0, path.ErrBadPattern
		}
		if i < len(s) && s[i] == '\\' {
			i++
		}
		if i == len(s) {
			return 0, path.ErrBadPattern
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		return r, nil
	}
	var body strings.Builder
	for items := 0; i == len(s) || s[i] != ']' || items == 0; items++ {
		lo, err := char()
		if err != nil {
			return 0, err
		}
		hi := lo
		if i < len(s) && s[i] == '-' {
			i++
			if hi, err = char(); err != nil {
				return 0, err
			}
		}
		// path.Match accepts a range such as z-a, which matches nothing;
		// regexp refuses it, so it is left out.
		if lo <= hi {
			fmt.Fprintf(&body, `\x{%x}-\x{%x}`, lo, hi)
		}
	}
	if body.Len() == 0 {
		// Only empty ranges: the class matches nothing, negated anything.
		negated = !negated
		body.WriteString(`\x{0}-\x{10ffff}`)
	}
	b.WriteString("[")
	if negated {
		b.WriteString("^")
	}
	b.WriteString(body.String() + "]")
	return i + 1, nil
}

// match reports whether the pattern matches p or one of its parent
// directories.
func (pt *ignorePattern) match(p string) bool {
	if pt.re == nil {
		return p == pt.text || strings.HasPrefix(p, pt.text) && p[len(pt.text)] == '/'
	}
	if pt.re.MatchString(p) {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && pt.re.MatchString(p[:i]) {
			return true
		}
	}
	return false
}

// excluded reports whether the context path p (relative, clean,
// slash-separated) is excluded. The context itself, ".", never is.
func (m *ignoreMatcher) excluded(p string) bool {
	if m == nil || p == "." || p == "" {
		return false
	}
	// The last pattern that matches decides.
	for i := len(m.patterns) - 1; i >= 0; i-- {
		if m.patterns[i].match(p) {
			return !m.patterns[i].exception
		}
	}
	return false
}

// mayReinclude reports whether an exception could match something below
// the excluded directory dir, so a walk must look inside it. It errs
// towards yes: a wildcard in an exception's path up to dir's depth
// counts as a possible match.
func (m *ignoreMatcher) mayReinclude(dir string) bool {
	dirSegs := strings.Split(dir, "/")
	for _, pt := range m.patterns {
		if !pt.exception {
			continue
		}
		could := len(pt.segs) > len(dirSegs)
		for i, seg := range pt.segs[:min(len(pt.segs), len(dirSegs))] {
			if hasIgnoreMeta(seg) {
				could = true
				break
			}
			if seg != dirSegs[i] {
				could = false
				break
			}
		}
		// An exception for dir itself or a parent cannot be what leaves
		// dir excluded; a later pattern overrides it for all below dir.
		if could {
			return true
		}
	}
	return false
}

// resolve follows the symlinks in context path p, as opening it does, and
// returns the path it leads to and whether COPY may see it: every symlink
// on the way and the path reached must not be excluded, except that an
// excluded directory holding entries an exception includes is seen. A
// path that is missing or leaves the context is returned unchanged as
// visible; reading it fails later with the usual error.
func (m *ignoreMatcher) resolve(root *os.Root, p string) (string, bool) {
	if m == nil {
		return p, true
	}
	var hidden string
	cur, err := walkLinks(".", p, func(next string, rest []string) (string, bool, error) {
		info, err := root.Lstat(filepath.FromSlash(next))
		if err != nil {
			return "", false, errStopWalk
		}
		if m.excluded(next) && (!info.IsDir() ||
			len(rest) > 0 && !m.mayReinclude(next) || len(rest) == 0 && !m.hasVisible(root, next)) {
			hidden = next
			return "", false, errStopWalk
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return "", false, nil
		}
		target, err := root.Readlink(filepath.FromSlash(next))
		if err != nil || path.IsAbs(filepath.ToSlash(target)) {
			return "", false, errStopWalk // os.Root refuses absolute symlinks
		}
		return filepath.ToSlash(target), true, nil
	})
	switch {
	case hidden != "":
		return hidden, false
	case err != nil:
		return p, true
	}
	return cur, true
}

// hasVisible reports whether the context directory dir holds an entry
// that is not excluded.
func (m *ignoreMatcher) hasVisible(root *os.Root, dir string) bool {
	errFound := errors.New("found")
	err := walkVisible(root, m, dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil && p != dir {
			return errFound
		}
		return nil
	})
	return err == errFound
}

// walkVisible walks the context directory dir as fs.WalkDir does, dir
// itself included, leaving out the entries m excludes. It enters an
// excluded directory only when an exception may include something in
// it, and then reports the directory to fn just before the first entry
// below it that fn sees, so parents still come first. fn must not return
// fs.SkipDir for a directory.
func walkVisible(root *os.Root, m *ignoreMatcher, dir string, fn fs.WalkDirFunc) error {
	if m == nil {
		return fs.WalkDir(root.FS(), dir, fn)
	}
	type held struct {
		p string
		d fs.DirEntry
	}
	var pending []held // excluded directories above p, not yet reported
	return fs.WalkDir(root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if p == dir {
			return fn(p, d, err)
		}
		for len(pending) > 0 && !within("/"+p, "/"+pending[len(pending)-1].p) {
			pending = pending[:len(pending)-1] // not a parent of p
		}
		if m.excluded(p) {
			switch {
			case err != nil:
				return nil // an unreadable directory nobody will see
			case d.IsDir() && m.mayReinclude(p):
				pending = append(pending, held{p, d})
			case d.IsDir():
				return fs.SkipDir
			}
			return nil
		}
		for _, h := range pending {
			if err := fn(h.p, h.d, nil); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return fn(p, d, err)
	})
}
