package dockerfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// MaxSize is the largest Dockerfile Parse accepts. Real ones are a few KiB;
// the bound keeps a hostile build context from exhausting memory, and it
// bounds every logical line too.
const MaxSize = 1 << 20

// maxInstructions bounds the instructions of a Dockerfile, so the work a
// builder does per instruction stays bounded too.
const maxInstructions = 10000

// SyntaxError reports a malformed Dockerfile. Line is the 1-based line the
// offending instruction starts on, 0 when the problem is the whole file.
type SyntaxError struct {
	Line int
	Msg  string
}

// Error returns Msg, prefixed with "line N: " when the line is known.
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// flagSpec lists the flags an instruction accepts; the value says whether
// the flag is boolean (`--link` alone means true).
type flagSpec map[string]bool

// instructionFlags holds every supported instruction, lower-cased, and the
// flags it accepts. Docker splits leading --flags off every instruction, so
// one on an instruction that takes none is an error rather than an argument.
var instructionFlags = map[string]flagSpec{
	"from":        {"platform": false},
	"copy":        {"from": false, "chown": false, "chmod": false, "link": true},
	"add":         {"from": false, "chown": false, "chmod": false, "link": true},
	"healthcheck": {"interval": false, "timeout": false, "start-period": false, "start-interval": false, "retries": false},
	// The rest take no flags.
	"env": nil, "label": nil, "arg": nil, "workdir": nil, "user": nil, "expose": nil, "volume": nil,
	"cmd": nil, "entrypoint": nil, "run": nil, "shell": nil, "stopsignal": nil, "maintainer": nil, "onbuild": nil,
}

var (
	// directiveRE is Docker's parser directive, `# name=value`.
	directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
	// heredocRE matches the word that opens a heredoc (`<<EOF`, `<<-"EOF"`,
	// `2<<EOF`), as Docker recognises it in RUN, COPY and ADD.
	heredocRE = regexp.MustCompile(`^[0-9]*<<-?[^<-][^<]*$`)
	// stageNameRE is what Docker allows after FROM ... AS.
	stageNameRE = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

	errNotStrings = errors.New("when using JSON array syntax, arrays must be comprised of strings only")
)

// Parse reads a Dockerfile the way Docker's parser does and returns its
// stages. Instructions are pointers: *Copy, *Env, *Run and so on. Words are
// left unexpanded; see Expand. Problems with the content are *SyntaxError.
func Parse(r io.Reader) (*Dockerfile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	if len(data) > MaxSize {
		return nil, &SyntaxError{Msg: "Dockerfile is larger than 1 MiB"}
	}
	lines, escape, err := splitLines(string(data))
	if err != nil {
		return nil, err
	}
	df := &Dockerfile{Escape: escape}
	stageNames := map[string]bool{}
	for _, l := range lines {
		if err := df.add(l, stageNames); err != nil {
			return nil, err
		}
	}
	if len(df.Stages) == 0 {
		return nil, &SyntaxError{Msg: "no FROM instruction"}
	}
	return df, nil
}

// add parses one logical line into df: a new stage, a meta ARG, or an
// instruction of the current stage.
func (df *Dockerfile) add(l logicalLine, stageNames map[string]bool) error {
	keyword, rest := cutSpace(l.text)
	kw := strings.ToLower(keyword)
	inst, err := parseInstruction(kw, rest, Base{Position{l.num}, l.original}, df.Escape)
	if err != nil {
		return err
	}
	switch inst := inst.(type) {
	case *From:
		if inst.Name != "" {
			if stageNames[inst.Name] {
				return &SyntaxError{l.num, fmt.Sprintf("duplicate stage name %q", inst.Name)}
			}
			stageNames[inst.Name] = true
		}
		df.Stages = append(df.Stages, Stage{From: *inst})
		return nil
	case *Arg:
		if len(df.Stages) == 0 {
			df.MetaArgs = append(df.MetaArgs, inst.Args...)
			return nil
		}
	}
	if len(df.Stages) == 0 {
		return &SyntaxError{l.num, fmt.Sprintf("%s instruction before the first FROM", strings.ToUpper(kw))}
	}
	st := &df.Stages[len(df.Stages)-1]
	st.Instructions = append(st.Instructions, inst)
	return nil
}

// parseInstruction parses the instruction kw (lower-case) whose arguments,
// flags included, are rest.
func parseInstruction(kw, rest string, b Base, escape rune) (Instruction, error) {
	spec, ok := instructionFlags[kw]
	if !ok {
		return nil, &SyntaxError{b.Position.Line, "unknown instruction: " + clip(strings.ToUpper(kw))}
	}
	flagWords, rest := extractFlags(rest)
	rest = strings.TrimSpace(rest)
	flags, err := parseFlags(flagWords, spec)
	if err == nil && rest == "" {
		err = fmt.Errorf("%s requires at least one argument", strings.ToUpper(kw))
	}
	var inst Instruction
	if err == nil {
		inst, err = parseArgs(kw, rest, flags, b, escape)
	}
	if err != nil {
		return nil, &SyntaxError{b.Position.Line, err.Error()}
	}
	return inst, nil
}

// parseArgs builds the instruction kw from its non-empty arguments.
func parseArgs(kw, rest string, flags map[string]string, b Base, escape rune) (Instruction, error) {
	switch kw {
	case "from":
		return parseFrom(b, flags, rest)
	case "copy", "add":
		return parseCopy(b, kw, flags, rest, escape)
	case "env":
		pairs, err := parsePairs("ENV", rest, escape)
		return &Env{Base: b, Pairs: pairs}, err
	case "label":
		pairs, err := parsePairs("LABEL", rest, escape)
		return &Label{Base: b, Pairs: pairs}, err
	case "arg":
		args, err := parseArgDecls(rest, escape)
		return &Arg{Base: b, Args: args}, err
	case "workdir":
		return &Workdir{Base: b, Path: rest}, nil
	case "user":
		return &User{Base: b, User: rest}, nil
	case "stopsignal":
		return &Stopsignal{Base: b, Signal: rest}, nil
	case "maintainer":
		return &Maintainer{Base: b, Name: rest}, nil
	case "expose":
		ports, err := requireWords("EXPOSE", rest, escape)
		return &Expose{Base: b, Ports: ports}, err
	case "volume":
		return parseVolume(b, rest, escape)
	case "cmd":
		cmd, err := parseCommand(rest)
		return &Cmd{Base: b, Command: cmd}, err
	case "entrypoint":
		cmd, err := parseCommand(rest)
		return &Entrypoint{Base: b, Command: cmd}, err
	case "run":
		return parseRun(b, rest, escape)
	case "shell":
		return parseShell(b, rest)
	case "healthcheck":
		return parseHealthcheck(b, flags, rest)
	default: // onbuild; parseInstruction let only known keywords through
		return parseOnbuild(b, rest, escape)
	}
}

func parseFrom(b Base, flags map[string]string, rest string) (*From, error) {
	args := strings.Fields(rest)
	f := &From{Base: b, Image: args[0], Platform: flags["platform"]}
	switch {
	case len(args) == 1:
	case len(args) == 3 && strings.EqualFold(args[1], "AS"):
		f.Name = strings.ToLower(args[2])
		if !stageNameRE.MatchString(f.Name) {
			return nil, fmt.Errorf("invalid name for build stage: %q, name can't start with a number or contain symbols", clip(args[2]))
		}
	default:
		return nil, errors.New("FROM requires either one or three arguments")
	}
	return f, nil
}

func parseCopy(b Base, kw string, flags map[string]string, rest string, escape rune) (*Copy, error) {
	words, isJSON, err := parseJSON(rest)
	if err != nil {
		return nil, err
	}
	if !isJSON {
		if words, err = shellWords(rest, escape); err != nil {
			return nil, err
		}
	}
	if len(words) < 2 {
		return nil, fmt.Errorf("%s requires at least two arguments, a source and a destination", strings.ToUpper(kw))
	}
	n := len(words) - 1
	return &Copy{
		Base:    b,
		Add:     kw == "add",
		Sources: words[:n:n],
		Dest:    words[n],
		From:    flags["from"],
		Chown:   flags["chown"],
		Chmod:   flags["chmod"],
	}, nil
}

// parsePairs parses the arguments of ENV or LABEL: `k=v ...`, or the
// legacy `k v` where v is the rest of the line. Values keep their quotes.
func parsePairs(name, rest string, escape rune) ([]KeyValue, error) {
	words, err := requireWords(name, rest, escape)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(words[0], "=") {
		key, value := cutSpace(rest)
		if value == "" {
			return nil, fmt.Errorf("%s must have two arguments", name)
		}
		return []KeyValue{{Key: key, Value: value}}, nil
	}
	pairs := make([]KeyValue, 0, len(words))
	for _, w := range words {
		key, value, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("syntax error - can't find = in %q. Must be of the form: name=value", clip(w))
		}
		if key == "" {
			return nil, fmt.Errorf("%s names can not be blank", name)
		}
		pairs = append(pairs, KeyValue{Key: key, Value: value})
	}
	return pairs, nil
}

func parseArgDecls(rest string, escape rune) ([]ArgDecl, error) {
	words, err := requireWords("ARG", rest, escape)
	if err != nil {
		return nil, err
	}
	args := make([]ArgDecl, 0, len(words))
	for _, w := range words {
		name, def, hasDefault := strings.Cut(w, "=")
		if name == "" {
			return nil, errors.New("ARG names can not be blank")
		}
		a := ArgDecl{Name: name}
		if hasDefault {
			a.Default = &def
		}
		args = append(args, a)
	}
	return args, nil
}

func parseVolume(b Base, rest string, escape rune) (*Volume, error) {
	paths, isJSON, err := parseJSON(rest)
	if err != nil {
		return nil, err
	}
	if !isJSON {
		paths = splitWords(rest, escape)
	}
	if len(paths) == 0 {
		return nil, errors.New("VOLUME requires at least one argument")
	}
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return nil, errors.New("VOLUME specified can not be an empty string")
		}
	}
	return &Volume{Base: b, Paths: paths}, nil
}

func parseRun(b Base, rest string, escape rune) (*Run, error) {
	cmd, err := parseCommand(rest)
	if err != nil {
		return nil, err
	}
	if cmd.Shell {
		if _, err := shellWords(rest, escape); err != nil {
			return nil, err
		}
	} else if len(cmd.Args) == 0 {
		return nil, errors.New("RUN requires at least one argument")
	}
	return &Run{Base: b, Command: cmd}, nil
}

func parseShell(b Base, rest string) (*Shell, error) {
	args, isJSON, err := parseJSON(rest)
	switch {
	case err != nil:
		return nil, err
	case !isJSON:
		return nil, errors.New("SHELL requires the arguments to be in JSON form")
	case len(args) == 0:
		return nil, errors.New("SHELL requires at least one argument")
	}
	return &Shell{Base: b, Shell: args}, nil
}

func parseHealthcheck(b Base, flags map[string]string, rest string) (*Healthcheck, error) {
	typ, cmdLine := cutSpace(rest)
	h := &Healthcheck{Base: b}
	switch strings.ToUpper(typ) {
	case "NONE":
		if cmdLine != "" {
			return nil, errors.New("HEALTHCHECK NONE takes no arguments")
		}
		if len(flags) > 0 {
			return nil, errors.New("HEALTHCHECK NONE takes no flags")
		}
		h.Test = []string{"NONE"}
		return h, nil
	case "CMD":
	default:
		return nil, fmt.Errorf("unknown type %q in HEALTHCHECK (try CMD)", clip(typ))
	}
	cmd, err := parseCommand(cmdLine)
	switch {
	case err != nil:
		return nil, err
	case cmdLine == "" || len(cmd.Args) == 0:
		return nil, errors.New("missing command after HEALTHCHECK CMD")
	case cmd.Shell:
		h.Test = []string{"CMD-SHELL", cmdLine}
	default:
		h.Test = append([]string{"CMD"}, cmd.Args...)
	}
	for _, d := range []struct {
		flag string
		dst  *time.Duration
	}{
		{"interval", &h.Interval},
		{"timeout", &h.Timeout},
		{"start-period", &h.StartPeriod},
		{"start-interval", &h.StartInterval},
	} {
		if v := flags[d.flag]; v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst < 0 {
				return nil, fmt.Errorf("--%s: %q is not a non-negative duration", d.flag, clip(v))
			}
		}
	}
	if v := flags["retries"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--retries: %q is not a non-negative integer", clip(v))
		}
		h.Retries = int(n)
	}
	return h, nil
}

// parseOnbuild checks the trigger's keyword only: the trigger runs in
// builds that use the image as a base, whose builder may support flags
// and forms this one does not.
func parseOnbuild(b Base, rest string, escape rune) (*Onbuild, error) {
	keyword, args := cutSpace(rest)
	switch kw := strings.ToLower(keyword); kw {
	case "onbuild":
		return nil, errors.New("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "from", "maintainer":
		return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(kw))
	case "run", "copy", "add":
		// A heredoc body would follow on the next lines and be misparsed.
		if _, err := shellWords(args, escape); err != nil {
			return nil, err
		}
	default:
		if _, ok := instructionFlags[kw]; !ok {
			return nil, errors.New("unknown instruction in ONBUILD: " + clip(strings.ToUpper(kw)))
		}
	}
	return &Onbuild{Base: b, Expression: rest}, nil
}

// parseCommand parses CMD, ENTRYPOINT and RUN: a JSON array of strings is
// exec form, anything else the shell form.
func parseCommand(rest string) (Command, error) {
	args, isJSON, err := parseJSON(rest)
	if err != nil {
		return Command{}, err
	}
	if isJSON {
		return Command{Args: args}, nil
	}
	return Command{Args: []string{rest}, Shell: true}, nil
}

// parseJSON reports whether rest is a JSON array (exec form) and returns
// its strings. As in Docker, an array holding anything but strings is an
// error rather than shell form.
func parseJSON(rest string) (args []string, isJSON bool, err error) {
	if !strings.HasPrefix(rest, "[") {
		return nil, false, nil
	}
	var raw []any
	if json.Unmarshal([]byte(rest), &raw) != nil {
		return nil, false, nil
	}
	args = make([]string, 0, len(raw))
	for _, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, true, errNotStrings
		}
		args = append(args, s)
	}
	return args, true, nil
}

// requireWords splits rest with splitWords. rest is never blank, but it
// can still hold no word: a lone escape character escapes nothing.
func requireWords(name, rest string, escape rune) ([]string, error) {
	words := splitWords(rest, escape)
	if len(words) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", name)
	}
	return words, nil
}

// shellWords splits the shell form of RUN, COPY and ADD into words,
// refusing heredocs: their body is on the following lines.
func shellWords(rest string, escape rune) ([]string, error) {
	words := splitWords(rest, escape)
	for _, w := range words {
		if heredocRE.MatchString(w) {
			return nil, errors.New("heredocs are not supported")
		}
	}
	return words, nil
}

// cutSpace splits s at its first run of whitespace, trimming both parts.
func cutSpace(s string) (first, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// logicalLine is one instruction with its continuation lines joined.
type logicalLine struct {
	num      int    // first physical line, 1-based
	text     string // pieces concatenated as Docker does, for parsing
	original string // pieces trimmed and joined by single spaces, for Source
}

// splitLines reads the parser directives and joins continuation lines,
// skipping comments and blank lines, and returns the escape character.
func splitLines(src string) ([]logicalLine, rune, error) {
	src = strings.TrimPrefix(src, "\ufeff")
	num := 0 // physical lines read
	// next returns the next physical line; like bufio.ScanLines it drops
	// a trailing "\r".
	next := func() (line string, ok bool) {
		if src == "" {
			return "", false
		}
		num++
		line, src, _ = strings.Cut(src, "\n")
		return strings.TrimSuffix(line, "\r"), true
	}
	d := directives{escape: '\\', seen: map[string]bool{}}
	var lines []logicalLine
	for {
		raw, ok := next()
		if !ok {
			return lines, d.escape, nil
		}
		line := strings.TrimLeftFunc(raw, unicode.IsSpace)
		if !d.done {
			if err := d.parse(line, num); err != nil {
				return nil, 0, err
			}
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		text, more := trimContinuation(line, d.escape)
		if text == "" && !more {
			continue
		}
		if len(lines) == maxInstructions {
			return nil, 0, &SyntaxError{num, fmt.Sprintf("more than %d instructions", maxInstructions)}
		}
		l := logicalLine{num: num}
		var joined, original strings.Builder
		addPiece := func(piece string) {
			joined.WriteString(piece)
			if t := strings.TrimSpace(piece); t != "" {
				if original.Len() > 0 {
					original.WriteByte(' ')
				}
				original.WriteString(t)
			}
		}
		addPiece(text)
		for more {
			if raw, ok = next(); !ok {
				break
			}
			// Docker skips comments and blank lines inside a continuation,
			// so a commented-out line in a long RUN does not end it.
			t := strings.TrimLeftFunc(raw, unicode.IsSpace)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			text, more = trimContinuation(raw, d.escape)
			addPiece(text)
		}
		l.text, l.original = joined.String(), original.String()
		lines = append(lines, l)
	}
}

// trimContinuation removes a trailing escape character (spaces and tabs may
// follow it) and reports whether it was there: the line continues.
func trimContinuation(line string, escape rune) (string, bool) {
	t := strings.TrimRight(line, " \t")
	if e := string(escape); strings.HasSuffix(t, e) {
		return t[:len(t)-len(e)], true
	}
	return line, false
}

// directives parses the parser directives at the top of a Dockerfile. As
// in Docker, the first line that is not a known directive ends them, so a
// directive after a comment or an unknown directive is just a comment.
type directives struct {
	done   bool
	escape rune
	seen   map[string]bool
}

func (d *directives) parse(line string, num int) error {
	m := directiveRE.FindStringSubmatch(line)
	if m == nil {
		d.done = true
		return nil
	}
	name := strings.ToLower(m[1])
	switch name {
	case "escape", "syntax", "check":
	default:
		d.done = true
		return nil
	}
	if d.seen[name] {
		return &SyntaxError{num, fmt.Sprintf("only one %s parser directive can be used", name)}
	}
	d.seen[name] = true
	if name != "escape" {
		return nil // syntax picks a BuildKit frontend, check its linter: neither applies here
	}
	switch m[2] {
	case "`":
		d.escape = '`'
	case `\`:
		d.escape = '\\'
	default:
		return &SyntaxError{num, fmt.Sprintf("invalid escape token %q does not match ` or \\", clip(m[2]))}
	}
	return nil
}

// extractFlags splits the leading `--name[=value]` words off an
// instruction's arguments, as Docker does for every instruction: quotes in
// a flag are removed, a backslash escapes the next byte, and a lone "--"
// ends the flags.
func extractFlags(s string) (flags []string, rest string) {
	i := 0
	for {
		for i < len(s) && isSpaceByte(s[i]) {
			i++
		}
		if !strings.HasPrefix(s[i:], "--") {
			return flags, s[i:]
		}
		var word []byte
		var quote byte
		for ; i < len(s) && (quote != 0 || !isSpaceByte(s[i])); i++ {
			c := s[i]
			switch {
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			case c == '\\' && i+1 < len(s):
				i++
				c = s[i]
			case c == '\\':
				continue
			}
			word = append(word, c)
		}
		if string(word) == "--" {
			return flags, s[i:]
		}
		flags = append(flags, string(word))
	}
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseFlags checks flag words against spec and returns their values.
func parseFlags(words []string, spec flagSpec) (map[string]string, error) {
	values := make(map[string]string, len(words))
	for _, w := range words {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		isBool, ok := spec[name]
		if !ok {
			return nil, fmt.Errorf("unknown flag: --%s", clip(name))
		}
		if _, dup := values[name]; dup {
			return nil, fmt.Errorf("duplicate flag specified: --%s", name)
		}
		switch {
		case isBool && !hasValue:
			value = "true"
		case isBool && value != "true" && value != "false":
			return nil, fmt.Errorf("expecting boolean value for flag --%s, not: %q", name, clip(value))
		case !hasValue:
			return nil, fmt.Errorf("missing a value on flag: --%s", name)
		}
		values[name] = value
	}
	return values, nil
}
