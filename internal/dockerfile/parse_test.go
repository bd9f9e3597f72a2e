package dockerfile

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func strptr(s string) *string { return &s }

func base(line int, original string) Base {
	return Base{Position: Position{Line: line}, Original: original}
}

func TestParseMultiStage(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
# escape=\

ARG GO=1.26
ARG BASE
from --platform=$BUILDPLATFORM golang:${GO} as Build
WORKDIR /src
COPY --chown=1000:1000 go.mod go.sum ./
RUN go mod download && \
    # fetch everything first
    go build -o /out/app .

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`
	want := &Dockerfile{
		Escape:   '\\',
		MetaArgs: []ArgDecl{{Name: "GO", Default: strptr("1.26")}, {Name: "BASE"}},
		Stages: []Stage{
			{
				From: From{
					Base:     base(6, "from --platform=$BUILDPLATFORM golang:${GO} as Build"),
					Image:    "golang:${GO}",
					Name:     "build",
					Platform: "$BUILDPLATFORM",
				},
				Instructions: []Instruction{
					&Workdir{Base: base(7, "WORKDIR /src"), Path: "/src"},
					&Copy{
						Base:    base(8, "COPY --chown=1000:1000 go.mod go.sum ./"),
						Sources: []string{"go.mod", "go.sum"},
						Dest:    "./",
						Chown:   "1000:1000",
					},
					&Run{
						Base:    base(9, "RUN go mod download && go build -o /out/app ."),
						Command: Command{Args: []string{"go mod download &&     go build -o /out/app ."}, Shell: true},
					},
				},
			},
			{
				From: From{Base: base(13, "FROM scratch"), Image: "scratch"},
				Instructions: []Instruction{
					&Copy{Base: base(14, "COPY --from=build /out/app /app"), Sources: []string{"/out/app"}, Dest: "/app", From: "build"},
					&Entrypoint{Base: base(15, `ENTRYPOINT ["/app"]`), Command: Command{Args: []string{"/app"}}},
				},
			},
		},
	}
	got, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

// parseOne parses "FROM scratch" followed by src and returns the one
// instruction src holds.
func parseOne(t *testing.T, src string) Instruction {
	t.Helper()
	df, err := Parse(strings.NewReader("FROM scratch\n" + src))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(df.Stages[0].Instructions); n != 1 {
		t.Fatalf("got %d instructions, want 1", n)
	}
	return df.Stages[0].Instructions[0]
}

func TestParseInstructions(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want Instruction
	}{
		{"copy json", `COPY ["a b", "c"]`, &Copy{Sources: []string{"a b"}, Dest: "c"}},
		{"copy quoted words", `copy "a b" 'c d' $DEST`, &Copy{Sources: []string{`"a b"`, `'c d'`}, Dest: "$DEST"}},
		{"copy flags", `COPY --link --chmod=0755 --from="0" a b c`, &Copy{Sources: []string{"a", "b"}, Dest: "c", From: "0", Chmod: "0755"}},
		{"copy link false", `COPY --link=false a b`, &Copy{Sources: []string{"a"}, Dest: "b"}},
		{"copy double dash", `COPY -- --a b`, &Copy{Sources: []string{"--a"}, Dest: "b"}},
		{"add", `ADD https://example.com/x.tgz /x/`, &Copy{Add: true, Sources: []string{"https://example.com/x.tgz"}, Dest: "/x/"}},
		{"env pairs", `ENV A=1 B="two words" C=x\ y D=`, &Env{Pairs: []KeyValue{{"A", "1"}, {"B", `"two words"`}, {"C", `x\ y`}, {"D", ""}}}},
		{"env legacy", `ENV PATH /usr/bin:$PATH  extra`, &Env{Pairs: []KeyValue{{"PATH", "/usr/bin:$PATH  extra"}}}},
		{"env value with equals", `ENV A=b=c`, &Env{Pairs: []KeyValue{{"A", "b=c"}}}},
		{"label", `LABEL org.opencontainers.image.title="Wharf" version=1`, &Label{Pairs: []KeyValue{{"org.opencontainers.image.title", `"Wharf"`}, {"version", "1"}}}},
		{"label legacy", `LABEL maintainer someone`, &Label{Pairs: []KeyValue{{"maintainer", "someone"}}}},
		{"arg", `ARG A B=2 C=`, &Arg{Args: []ArgDecl{{Name: "A"}, {Name: "B", Default: strptr("2")}, {Name: "C", Default: strptr("")}}}},
		{"workdir", `WORKDIR  /a b `, &Workdir{Path: "/a b"}},
		{"user", `USER app:app`, &User{User: "app:app"}},
		{"expose", `EXPOSE 80/tcp  443 $PORT`, &Expose{Ports: []string{"80/tcp", "443", "$PORT"}}},
		{"volume words", `VOLUME /a "/b c"`, &Volume{Paths: []string{"/a", `"/b c"`}}},
		{"volume json", `VOLUME ["/a", "/b c"]`, &Volume{Paths: []string{"/a", "/b c"}}},
		{"cmd exec", `CMD ["echo", "hi"]`, &Cmd{Command: Command{Args: []string{"echo", "hi"}}}},
		{"cmd empty exec", `CMD []`, &Cmd{Command: Command{Args: []string{}}}},
		{"cmd shell", `CMD echo "hi"  `, &Cmd{Command: Command{Args: []string{`echo "hi"`}, Shell: true}}},
		{"cmd bad json is shell", `CMD ["echo", hi]`, &Cmd{Command: Command{Args: []string{`["echo", hi]`}, Shell: true}}},
		{"entrypoint shell", `ENTRYPOINT exec /app`, &Entrypoint{Command: Command{Args: []string{"exec /app"}, Shell: true}}},
		{"run exec", `RUN ["/bin/sh", "-c", "true"]`, &Run{Command: Command{Args: []string{"/bin/sh", "-c", "true"}}}},
		{"run lone heredoc operator", `RUN cat << <<-`, &Run{Command: Command{Args: []string{`cat << <<-`}, Shell: true}}},
		{"run here-string is not a heredoc", `RUN cat <<< "x"`, &Run{Command: Command{Args: []string{`cat <<< "x"`}, Shell: true}}},
		{"shell", `SHELL ["powershell", "-command"]`, &Shell{Shell: []string{"powershell", "-command"}}},
		{"stopsignal", `STOPSIGNAL SIGKILL`, &Stopsignal{Signal: "SIGKILL"}},
		{"maintainer", `MAINTAINER A. Person <a@example.com>`, &Maintainer{Name: "A. Person <a@example.com>"}},
		{"healthcheck none", `HEALTHCHECK none`, &Healthcheck{Test: []string{"NONE"}}},
		{"healthcheck shell", `HEALTHCHECK CMD curl -f http://localhost/ || exit 1`, &Healthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}}},
		{
			"healthcheck exec with flags",
			`HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 cmd ["/probe", "-q"]`,
			&Healthcheck{
				Test:          []string{"CMD", "/probe", "-q"},
				Interval:      30 * time.Second,
				Timeout:       5 * time.Second,
				StartPeriod:   time.Minute,
				StartInterval: 2 * time.Second,
				Retries:       3,
			},
		},
		{"healthcheck empty flag", `HEALTHCHECK --interval= CMD true`, &Healthcheck{Test: []string{"CMD-SHELL", "true"}}},
		{"onbuild", `ONBUILD RUN --mount=type=cache,target=/c make`, &Onbuild{Expression: "RUN --mount=type=cache,target=/c make"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOne(t, tt.src)
			if got.Source() != strings.TrimSpace(tt.src) {
				t.Errorf("Source() = %q, want %q", got.Source(), strings.TrimSpace(tt.src))
			}
			if got.Pos().Line != 2 {
				t.Errorf("Pos().Line = %d, want 2", got.Pos().Line)
			}
			// The Base is checked above; compare the rest.
			ignoreBase := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Base" }, cmp.Ignore())
			if diff := cmp.Diff(tt.want, got, ignoreBase); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	for _, tt := range []struct {
		name   string
		src    string
		escape rune
		want   Instruction
	}{
		{
			name:   "continuation with comments and blank lines",
			src:    "FROM scratch\n\n  # comment\nRUN a \\\n  # inside\n\n   && b \\  \n\t&& c\n",
			escape: '\\',
			want:   &Run{Base: base(4, "RUN a && b && c"), Command: Command{Args: []string{"a    && b \t&& c"}, Shell: true}},
		},
		{
			name:   "continuation glues words",
			src:    "FROM scratch\nRUN echo foo\\\nbar",
			escape: '\\',
			want:   &Run{Base: base(2, "RUN echo foo bar"), Command: Command{Args: []string{"echo foobar"}, Shell: true}},
		},
		{
			name:   "continuation at end of file",
			src:    "FROM scratch\nRUN a \\",
			escape: '\\',
			want:   &Run{Base: base(2, "RUN a"), Command: Command{Args: []string{"a"}, Shell: true}},
		},
		{
			name:   "crlf and bom",
			src:    "\ufeffFROM scratch\r\nUSER a \\\r\n b\r\n",
			escape: '\\',
			want:   &User{Base: base(2, "USER a b"), User: "a  b"},
		},
		{
			name:   "escape directive",
			src:    "# Escape = `\nFROM windows\nCOPY C:\\src\\ `\n  C:\\dst\\\n",
			escape: '`',
			want:   &Copy{Base: base(3, `COPY C:\src\ C:\dst\`), Sources: []string{`C:\src\`}, Dest: `C:\dst\`},
		},
		{
			name:   "escape directive backslash",
			src:    "#escape=\\\nFROM scratch\nUSER a`",
			escape: '\\',
			want:   &User{Base: base(3, "USER a`"), User: "a`"},
		},
		{
			name:   "directive after comment is a comment",
			src:    "# hello\n# escape=`\nFROM scratch\nUSER a \\\n b",
			escape: '\\',
			want:   &User{Base: base(4, "USER a b"), User: "a  b"},
		},
		{
			name:   "directive after unknown directive is a comment",
			src:    "# foo=bar\n# escape=`\nFROM scratch\nUSER a \\\n b",
			escape: '\\',
			want:   &User{Base: base(4, "USER a b"), User: "a  b"},
		},
		{
			name:   "directive after blank line is a comment",
			src:    "\n# escape=`\nFROM scratch\nUSER a \\\n b",
			escape: '\\',
			want:   &User{Base: base(4, "USER a b"), User: "a  b"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			df, err := Parse(strings.NewReader(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if df.Escape != tt.escape {
				t.Errorf("Escape = %q, want %q", df.Escape, tt.escape)
			}
			if diff := cmp.Diff([]Instruction{tt.want}, df.Stages[0].Instructions); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want string
	}{
		{"empty", "", "no FROM instruction"},
		{"only meta args", "ARG A\n# FROM x\n", "no FROM instruction"},
		{"instruction before from", "ARG A\nRUN x\nFROM y", "line 2: RUN instruction before the first FROM"},
		{"unknown instruction", "FROM x\n\nFOO bar", "line 3: unknown instruction: FOO"},
		{"unknown before from", "BAR\nFROM x", "line 1: unknown instruction: BAR"},
		{"from arity", "FROM a b", "line 1: FROM requires either one or three arguments"},
		{"from as missing name", "FROM a AS", "line 1: FROM requires either one or three arguments"},
		{"from bad name", "FROM a AS 1st", `line 1: invalid name for build stage: "1st", name can't start with a number or contain symbols`},
		{"from duplicate name", "FROM a AS x\nFROM b as X", `line 2: duplicate stage name "x"`},
		{"from unknown flag", "FROM --arch=x a", "line 1: unknown flag: --arch"},
		{"from flag without value", "FROM --platform a", "line 1: missing a value on flag: --platform"},
		{"no arguments", "FROM a\nWORKDIR  ", "line 2: WORKDIR requires at least one argument"},
		{"only flags", "FROM a\nCOPY --link", "line 2: COPY requires at least one argument"},
		{"env lone escape", "FROM a\nENV \\\v", "line 2: ENV requires at least one argument"},
		{"label lone escape", "FROM a\nLABEL \\\v", "line 2: LABEL requires at least one argument"},
		{"arg lone escape", "ARG \\\v\nFROM a", "line 1: ARG requires at least one argument"},
		{"expose lone escape", "FROM a\nEXPOSE \\\v", "line 2: EXPOSE requires at least one argument"},
		{"heredoc dash", "FROM a\nRUN <<-EOF\nx\nEOF", "line 2: heredocs are not supported"},
		{"heredoc fd", "FROM a\nRUN 3<<EOF cat\nx\nEOF", "line 2: heredocs are not supported"},
		{"copy unknown flag", "FROM a\nCOPY --foo=1 a b", "line 2: unknown flag: --foo"},
		{"copy duplicate flag", "FROM a\nCOPY --from=a --from=b a b", "line 2: duplicate flag specified: --from"},
		{"copy bool flag value", "FROM a\nCOPY --link=yes a b", `line 2: expecting boolean value for flag --link, not: "yes"`},
		{"copy one word", "FROM a\nCOPY a", "line 2: COPY requires at least two arguments, a source and a destination"},
		{"add one json word", "FROM a\nADD [\"a\"]", "line 2: ADD requires at least two arguments, a source and a destination"},
		{"copy heredoc", "FROM a\nCOPY <<EOF /x\nhi\nEOF", "line 2: heredocs are not supported"},
		{"run heredoc", "FROM a\nRUN <<-\"EOF\" bash\nhi\nEOF", "line 2: heredocs are not supported"},
		{"run flag", "FROM a\nRUN --mount=type=cache,target=/c make", "line 2: unknown flag: --mount"},
		{"run empty exec", "FROM a\nRUN []", "line 2: RUN requires at least one argument"},
		{"json not strings", "FROM a\nCMD [\"a\", 1]", "line 2: when using JSON array syntax, arrays must be comprised of strings only"},
		{"env blank name", "FROM a\nENV =x", "line 2: ENV names can not be blank"},
		{"env missing equals", "FROM a\nENV a=b c", `line 2: syntax error - can't find = in "c". Must be of the form: name=value`},
		{"env legacy without value", "FROM a\nENV a", "line 2: ENV must have two arguments"},
		{"label blank name", "FROM a\nLABEL =x", "line 2: LABEL names can not be blank"},
		{"arg blank name", "ARG =x\nFROM a", "line 1: ARG names can not be blank"},
		{"volume empty json", "FROM a\nVOLUME []", "line 2: VOLUME requires at least one argument"},
		{"volume empty string", "FROM a\nVOLUME [\"\"]", "line 2: VOLUME specified can not be an empty string"},
		{"shell not json", "FROM a\nSHELL /bin/sh -c", "line 2: SHELL requires the arguments to be in JSON form"},
		{"shell empty", "FROM a\nSHELL []", "line 2: SHELL requires at least one argument"},
		{"healthcheck none args", "FROM a\nHEALTHCHECK NONE x", "line 2: HEALTHCHECK NONE takes no arguments"},
		{"healthcheck none flags", "FROM a\nHEALTHCHECK --retries=1 NONE", "line 2: HEALTHCHECK NONE takes no flags"},
		{"healthcheck type", "FROM a\nHEALTHCHECK RUN x", `line 2: unknown type "RUN" in HEALTHCHECK (try CMD)`},
		{"healthcheck missing cmd", "FROM a\nHEALTHCHECK CMD", "line 2: missing command after HEALTHCHECK CMD"},
		{"healthcheck empty exec", "FROM a\nHEALTHCHECK CMD []", "line 2: missing command after HEALTHCHECK CMD"},
		{"healthcheck bad duration", "FROM a\nHEALTHCHECK --interval=5 CMD x", `line 2: --interval: "5" is not a non-negative duration`},
		{"healthcheck negative duration", "FROM a\nHEALTHCHECK --timeout=-1s CMD x", `line 2: --timeout: "-1s" is not a non-negative duration`},
		{"healthcheck negative retries", "FROM a\nHEALTHCHECK --retries=-1 CMD x", `line 2: --retries: "-1" is not a non-negative integer`},
		{"healthcheck bad retries", "FROM a\nHEALTHCHECK --retries=many CMD x", `line 2: --retries: "many" is not a non-negative integer`},
		{"healthcheck unknown flag", "FROM a\nHEALTHCHECK --every=1s CMD x", "line 2: unknown flag: --every"},
		{"onbuild onbuild", "FROM a\nONBUILD ONBUILD RUN x", "line 2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{"onbuild from", "FROM a\nONBUILD from b", "line 2: FROM isn't allowed as an ONBUILD trigger"},
		{"onbuild maintainer", "FROM a\nONBUILD MAINTAINER b", "line 2: MAINTAINER isn't allowed as an ONBUILD trigger"},
		{"onbuild unknown", "FROM a\nONBUILD FOO b", "line 2: unknown instruction in ONBUILD: FOO"},
		{"onbuild heredoc", "FROM a\nONBUILD RUN <<EOF\nx\nEOF", "line 2: heredocs are not supported"},
		{"cmd flag", "FROM a\nCMD --help", "line 2: unknown flag: --help"},
		{"duplicate escape", "# escape=`\n# escape=\\\nFROM a", "line 2: only one escape parser directive can be used"},
		{"bad escape", "# escape=x\nFROM a", "line 1: invalid escape token \"x\" does not match ` or \\"},
		{"long keyword", "FROM a\n" + strings.Repeat("X", 200), "line 2: unknown instruction: " + strings.Repeat("X", 80) + "..."},
		{"too large", strings.Repeat("#", MaxSize+1), "Dockerfile is larger than 1 MiB"},
		{"too many instructions", strings.Repeat("FROM a\n", maxInstructions+1), "line 10001: more than 10000 instructions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			df, err := Parse(strings.NewReader(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", df)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("exactly MaxSize", func(t *testing.T) {
		src := "FROM a\n#" + strings.Repeat("x", MaxSize-9) + "\n"
		if _, err := Parse(strings.NewReader(src)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("exactly maxInstructions", func(t *testing.T) {
		df, err := Parse(strings.NewReader(strings.Repeat("FROM a\n", maxInstructions)))
		if err != nil {
			t.Fatal(err)
		}
		if len(df.Stages) != maxInstructions {
			t.Errorf("got %d stages", len(df.Stages))
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Parse(io.MultiReader(strings.NewReader("FROM a\n"), errReader{boom}))
		if !errors.Is(err, boom) {
			t.Errorf("error = %v, want it to wrap %v", err, boom)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestSplitWords(t *testing.T) {
	for _, tt := range []struct {
		name   string
		in     string
		escape rune
		want   []string
	}{
		{"spaces", " a  b\tc ", '\\', []string{"a", "b", "c"}},
		{"quotes keep spaces", `a="b c" 'd e'f`, '\\', []string{`a="b c"`, `'d e'f`}},
		{"empty quotes are a word", `"" ''`, '\\', []string{`""`, `''`}},
		{"escaped space", `a\ b c`, '\\', []string{`a\ b`, "c"}},
		{"escaped quote", `a\"b c"`, '\\', []string{`a\"b`, `c"`}},
		{"escape in double quotes", `"a\" b" c`, '\\', []string{`"a\" b"`, "c"}},
		{"no escape in single quotes", `'a\' b`, '\\', []string{`'a\'`, "b"}},
		{"trailing escape dropped", `a\`, '\\', []string{"a"}},
		{"backtick escape", "a` b c\\ d", '`', []string{"a` b", `c\`, "d"}},
		{"unterminated quote", `a "b c`, '\\', []string{"a", `"b c`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, splitWords(tt.in, tt.escape)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractFlags(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        string
		wantFlags []string
		wantRest  string
	}{
		{"none", "a b", nil, "a b"},
		{"some", "--a=1  --b a b", []string{"--a=1", "--b"}, "a b"},
		{"quoted value", `--a="x y" --b='z'\ w c`, []string{"--a=x y", "--b=z w"}, "c"},
		{"double dash ends flags", "--a -- --b c", []string{"--a"}, " --b c"},
		{"only flags", "--a --", []string{"--a"}, ""},
		{"single dash is an argument", "-a --b", nil, "-a --b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flags, rest := extractFlags(tt.in)
			if diff := cmp.Diff(tt.wantFlags, flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if rest != tt.wantRest {
				t.Errorf("rest = %q, want %q", rest, tt.wantRest)
			}
		})
	}
}
