package dockerfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testEnv is the variables the expansion tests see: EMPTY is set but empty,
// UNSET is not set at all.
var testEnv = map[string]string{
	"A":     "a",
	"EMPTY": "",
	"SP":    "x  y",
	"PATH":  "/bin",
	"ÄB":    "umlaut",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

func TestExpand(t *testing.T) {
	for _, tt := range []struct {
		name   string
		word   string
		escape rune
		want   string
	}{
		{"plain", "abc", '\\', "abc"},
		{"empty", "", '\\', ""},
		{"dollar name", "$A/$PATH", '\\', "a//bin"},
		{"braces", "${A}b", '\\', "ab"},
		{"name ends at non-name char", "$A-b", '\\', "a-b"},
		{"name takes letters digits underscore", "$A_1x", '\\', ""},
		{"unicode name", "$ÄB", '\\', "umlaut"},
		{"unset", "[$UNSET]", '\\', "[]"},
		{"lone dollar", "a$", '\\', "a$"},
		{"dollar before non-name", "$/ $. $%", '\\', "$/ $. $%"},
		{"special parameters are unset", "[$$][$1][$@][${#}][$12x]", '\\', "[][][][][x]"},
		{"default unset", "${UNSET:-d}", '\\', "d"},
		{"default empty", "${EMPTY:-d}", '\\', "d"},
		{"default set", "${A:-d}", '\\', "a"},
		{"dash default only when unset", "${EMPTY-d}|${UNSET-d}", '\\', "|d"},
		{"alternative set", "${A:+alt}", '\\', "alt"},
		{"alternative empty", "${EMPTY:+alt}|${EMPTY+alt}", '\\', "|alt"},
		{"alternative unset", "${UNSET+alt}", '\\', ""},
		{"required set", "${A:?must}|${EMPTY?must}", '\\', "a|"},
		{"nested default", "${UNSET:-${ALSO:-$A}}", '\\', "a"},
		{"default with quotes and spaces", `${UNSET:-"x }" 'y'}`, '\\', "x } y"},
		{"default with escaped brace", `${UNSET:-a\}b}`, '\\', "a}b"},
		{"single quotes literal", `'$A \" ${'`, '\\', `$A \" ${`},
		{"double quotes expand", `"$A ${A} '$A'"`, '\\', "a a 'a'"},
		{"double quote escapes", `"\" \$A \\ \n"`, '\\', `" $A \ \n`},
		{"escape outside quotes", `\$A \"a\" a\ b \\`, '\\', `$A "a" a b \`},
		{"trailing escape dropped", `a\`, '\\', "a"},
		{"quotes join", `a"b"'c'`, '\\', "abc"},
		{"backtick escape", "`$A `\" C:\\dir\\", '`', `$A " C:\dir\`},
		{"backtick in double quotes", "\"`$A `` `n\"", '`', "$A ` `n"},
		{"invalid utf8 passes through", "a\xffb$A", '\\', "a\xffba"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.word, tt.escape, lookupTestEnv)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestExpandNilLookup(t *testing.T) {
	got, err := Expand("[$A${B:-b}]", '\\', nil)
	if err != nil || got != "[b]" {
		t.Errorf("Expand = %q, %v; want %q", got, err, "[b]")
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		word string
		want string
	}{
		{"unterminated double quote", `"abc`, `expand "\"abc": unexpected end of statement while looking for matching double-quote`},
		{"unterminated escaped double quote", `"abc\"`, `expand "\"abc\\\"": unexpected end of statement while looking for matching double-quote`},
		{"unterminated single quote", `'abc`, `expand "'abc": unexpected end of statement while looking for matching single-quote`},
		{"unterminated brace", `${A`, `expand "${A": syntax error: missing '}'`},
		{"brace at end", `${`, `expand "${": syntax error: missing '}'`},
		{"unterminated default", `${A:-b`, `expand "${A:-b": syntax error: missing '}'`},
		{"colon at end", `${A:`, `expand "${A:": syntax error: missing '}'`},
		{"empty braces", `${}`, `expand "${}": syntax error: bad substitution`},
		{"colon first", `${:-a}`, `expand "${:-a}": syntax error: bad substitution`},
		{"double brace", `${{A}}`, `expand "${{A}}": syntax error: bad substitution`},
		{"unsupported modifier", `${A#a}`, `expand "${A#a}": unsupported modifier (#) in substitution`},
		{"unsupported colon modifier", `${A:=a}`, `expand "${A:=a}": unsupported modifier (:=) in substitution`},
		{"space in name", `${A B}`, `expand "${A B}": unsupported modifier ( ) in substitution`},
		{"required unset", `${UNSET?}`, `expand "${UNSET?}": UNSET: is not allowed to be unset`},
		{"required empty", `${EMPTY:?}`, `expand "${EMPTY:?}": EMPTY: is not allowed to be empty`},
		{"required message", `${UNSET:?set $A please}`, `expand "${UNSET:?set $A please}": UNSET: set a please`},
		{"error in unused default", `${A:-"}`, `expand "${A:-\"}": unexpected end of statement while looking for matching double-quote`},
		{"too deep", strings.Repeat("${A:-", maxNesting+1) + strings.Repeat("}", maxNesting+1), "substitutions nested more than 64 deep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.word, '\\', lookupTestEnv)
			if err == nil {
				t.Fatalf("Expand(%q) = %q, want an error", tt.word, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestExpandSizeLimit(t *testing.T) {
	big := strings.Repeat("x", MaxExpandSize/2+1)
	lookup := func(string) (string, bool) { return big, true }
	for _, word := range []string{"$A$A", `"$A$A"`, "${A:+$A$A}", "x${UNSET-$A}$A"} {
		t.Run(word, func(t *testing.T) {
			if _, err := Expand(word, '\\', lookup); err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Errorf("Expand error = %v, want a size error", err)
			}
			if _, err := ExpandFields(word, '\\', lookup); err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Errorf("ExpandFields error = %v, want a size error", err)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		half := strings.Repeat("x", MaxExpandSize/2)
		got, err := Expand("$A$A", '\\', func(string) (string, bool) { return half, true })
		if err != nil || len(got) != MaxExpandSize {
			t.Errorf("Expand = %d bytes, %v; want %d bytes", len(got), err, MaxExpandSize)
		}
	})
}

func TestExpandFields(t *testing.T) {
	for _, tt := range []struct {
		name string
		line string
		want []string
	}{
		{"words", "  80/tcp\t443 ", []string{"80/tcp", "443"}},
		{"empty", "", nil},
		{"unquoted expansion splits", "$SP z", []string{"x", "y", "z"}},
		{"quoted expansion does not split", `"$SP" z`, []string{"x  y", "z"}},
		{"braced default splits", "${UNSET:-p q}", []string{"p", "q"}},
		{"quotes group", `"a b" 'c d'e`, []string{"a b", "c de"}},
		{"escaped space", `a\ b c`, []string{"a b", "c"}},
		{"empty words dropped", `"" a $EMPTY`, []string{"a"}},
		{"adjacent expansion joins", "x$A", []string{"xa"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandFields(tt.line, '\\', lookupTestEnv)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpandFieldsError(t *testing.T) {
	if got, err := ExpandFields(`a "b`, '\\', nil); err == nil {
		t.Errorf("ExpandFields = %q, want an error", got)
	}
}

// TestExpandParsedWords checks the parser and the expander agree: words the
// parser kept with their quotes expand to what the Dockerfile meant.
func TestExpandParsedWords(t *testing.T) {
	df, err := Parse(strings.NewReader("# escape=`\nFROM a\nENV P=\"C:\\Program Files\" Q=`$A\nCOPY \"a b\" 'c' $A\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, inst := range df.Stages[0].Instructions {
		var words []string
		switch inst := inst.(type) {
		case *Env:
			for _, kv := range inst.Pairs {
				words = append(words, kv.Value)
			}
		case *Copy:
			words = append(inst.Sources, inst.Dest)
		}
		for _, w := range words {
			v, err := Expand(w, df.Escape, lookupTestEnv)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
	}
	want := []string{`C:\Program Files`, "$A", "a b", "c", "a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
