// Package dockerfile parses Dockerfiles into typed instructions and expands
// their variables the way Docker's builder does.
//
// A Dockerfile comes from a build context, which is untrusted input: Parse
// never panics, bounds what it reads, and reports every problem as an error
// naming the line.
//
// Words inside instructions are kept as written (quotes and $VARs intact);
// the builder expands them with Expand, because what a variable means
// depends on the ENV and ARG instructions executed before it.
package dockerfile

import "time"

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	// Escape is the escape character, '\\' unless a `# escape=` parser
	// directive chose '`'; Expand needs it.
	Escape rune
	// MetaArgs are the ARG declarations before the first FROM; only FROM
	// lines can use them (and stages that redeclare them).
	MetaArgs []ArgDecl
	Stages   []Stage
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	From         From
	Instructions []Instruction
}

// Position is where an instruction starts in the Dockerfile (1-based).
type Position struct {
	Line int
}

// Instruction is one parsed instruction after FROM.
type Instruction interface {
	// Pos is where the instruction starts.
	Pos() Position
	// Source is the instruction as written, continuation lines joined
	// with single spaces, e.g. `COPY --from=build /out /app`; builders log it.
	Source() string
}

// Base holds what every instruction carries.
type Base struct {
	Position Position
	Original string
}

// Pos implements Instruction.
func (b Base) Pos() Position { return b.Position }

// Source implements Instruction.
func (b Base) Source() string { return b.Original }

// From is `FROM [--platform=P] image [AS name]`. Image is unexpanded (meta
// args apply); Name is lower-cased, "" when there is no AS.
type From struct {
	Base
	Image    string
	Name     string
	Platform string
}

// KeyValue is one pair of ENV or LABEL; Value is unexpanded.
type KeyValue struct {
	Key   string
	Value string
}

// ArgDecl is one name of an ARG instruction; Default is nil for `ARG name`.
type ArgDecl struct {
	Name    string
	Default *string
}

// Copy is COPY or ADD: sources relative to the context (or to stage From),
// copied to Dest. All words are unexpanded.
type Copy struct {
	Base
	Add     bool // ADD (local archives are unpacked, URLs fetched) rather than COPY
	Sources []string
	Dest    string
	From    string // --from=stage|index|image, "" for the build context
	Chown   string // --chown=user[:group]
	Chmod   string // --chmod=octal
}

// Env is `ENV k=v ...` (or the legacy `ENV k v`).
type Env struct {
	Base
	Pairs []KeyValue
}

// Label is `LABEL k=v ...`.
type Label struct {
	Base
	Pairs []KeyValue
}

// Arg is `ARG name[=default] ...`.
type Arg struct {
	Base
	Args []ArgDecl
}

// Workdir is `WORKDIR path`.
type Workdir struct {
	Base
	Path string
}

// User is `USER user[:group]`.
type User struct {
	Base
	User string
}

// Expose is `EXPOSE port[/proto] ...`.
type Expose struct {
	Base
	Ports []string
}

// Volume is `VOLUME path ...` or `VOLUME ["path", ...]`.
type Volume struct {
	Base
	Paths []string
}

// Command is the argument list of CMD, ENTRYPOINT and RUN. In exec (JSON)
// form Args are the JSON strings; in shell form Args holds one element, the
// command line, which the builder prefixes with the stage's SHELL.
type Command struct {
	Args  []string
	Shell bool
}

// Cmd is `CMD ...`.
type Cmd struct {
	Base
	Command
}

// Entrypoint is `ENTRYPOINT ...`.
type Entrypoint struct {
	Base
	Command
}

// Run is `RUN ...`; builders without a container runtime refuse it.
type Run struct {
	Base
	Command
}

// Shell is `SHELL ["executable", "parameters"]` (JSON form only).
type Shell struct {
	Base
	Shell []string
}

// Stopsignal is `STOPSIGNAL signal`.
type Stopsignal struct {
	Base
	Signal string
}

// Healthcheck is `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD ...`.
// Test is the image-config form: ["NONE"], ["CMD", args...] or
// ["CMD-SHELL", line]. Zero durations and retries mean "not set".
type Healthcheck struct {
	Base
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// Maintainer is the deprecated `MAINTAINER name`; builders record it as
// the image author.
type Maintainer struct {
	Base
	Name string
}

// Onbuild is `ONBUILD instruction`: stored in the image config, run by
// builds that use the image as a base.
type Onbuild struct {
	Base
	Expression string
}
