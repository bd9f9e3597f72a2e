package dockerfile

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. A Dockerfile comes from an
// untrusted build context: Parse must answer with an error, never a panic,
// and what it accepts must be complete enough for a builder to run.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"FROM a\n",
		"# escape=`\nFROM a AS b\nCOPY --from=b C:\\x `\n  C:\\y\n",
		"# syntax=x\nARG A=1\nFROM --platform=$P a:$A as s\nRUN a \\\n # c\n\n b\nCMD [\"x\"]\n",
		"FROM a\nENV a=b c=\"d e\"\nENV f g h\nLABEL x=y\nARG z\nWORKDIR /w\nUSER u\nEXPOSE 80\nVOLUME [\"/v\"]\n",
		"FROM a\nENTRYPOINT x\nSHELL [\"sh\"]\nSTOPSIGNAL 9\nMAINTAINER m\nONBUILD RUN x\n",
		"FROM a\nHEALTHCHECK --interval=1s --retries=2 CMD [\"x\"]\nHEALTHCHECK NONE\n",
		"FROM a\nRUN <<EOF\nx\nEOF\n",
		"FROM a\nCOPY -- --x \"'y\\\" z\n",
		"\ufeffFROM a\r\nADD \\\r\n",
		"FROM a\nENV \\\v\nARG `\v\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			if df != nil {
				t.Fatalf("Parse returned both a Dockerfile and %v", err)
			}
			return
		}
		if df.Escape != '\\' && df.Escape != '`' {
			t.Fatalf("Escape = %q", df.Escape)
		}
		if len(df.Stages) == 0 {
			t.Fatal("no stages")
		}
		for _, st := range df.Stages {
			if st.From.Image == "" || st.From.Source() == "" || st.From.Pos().Line < 1 {
				t.Fatalf("incomplete FROM: %+v", st.From)
			}
			for _, inst := range st.Instructions {
				if inst.Source() == "" || inst.Pos().Line < st.From.Pos().Line {
					t.Fatalf("bad instruction %#v", inst)
				}
			}
		}
	})
}

// FuzzExpand feeds arbitrary words to Expand and ExpandFields with
// variables whose values are themselves expansions, as ENV chains make
// them: never a panic, never more than MaxExpandSize.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"", "$A", "${A:-b}", `"$A ${B:+x} '$C'"`, `'x'\ "y`, "${A:?oops}",
		"${A:-${B:-${C}}}", "$$ $1 ${#} ${:}", "a`b c\\d", "${A#x}",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, word string, backtick bool) {
		escape := '\\'
		if backtick {
			escape = '`'
		}
		big := strings.Repeat(word, 1+MaxExpandSize/(len(word)+1)/4)
		lookup := func(name string) (string, bool) {
			switch name {
			case "A":
				return word, true
			case "B":
				return big, true
			case "E":
				return "", true
			}
			return "", false
		}
		if got, err := Expand(word, escape, lookup); err == nil && len(got) > MaxExpandSize {
			t.Fatalf("Expand returned %d bytes", len(got))
		}
		words, err := ExpandFields(word, escape, lookup)
		if err != nil {
			return
		}
		n := 0
		for _, w := range words {
			if w == "" {
				t.Fatal("ExpandFields returned an empty word")
			}
			n += len(w)
		}
		if n > MaxExpandSize {
			t.Fatalf("ExpandFields returned %d bytes", n)
		}
	})
}
