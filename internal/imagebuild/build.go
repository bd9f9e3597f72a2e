package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// ErrRunUnsupported is returned, unwrapped, when a stage the build needs
// contains RUN: without a container runtime there is nothing to run it in.
var ErrRunUnsupported = errors.New("RUN is not supported by the built-in executor (it has no container runtime): set BUILD_EXECUTOR: buildah in the configuration to build Dockerfiles with RUN steps")

// Options configures Build.
type Options struct {
	// ContextDir is the build context directory, already extracted and
	// checked. COPY and ADD read it only through os.OpenRoot, so symlinks
	// cannot escape it. A .dockerignore at its root hides the paths it
	// excludes from them, as in Docker. "" means the build has no context.
	ContextDir string
	// BuildArgs are the --build-arg values.
	BuildArgs map[string]string
	// Target is the name of the stage to build; "" means the last stage.
	Target string
	// Platform is the platform scratch stages get and FROM --platform must
	// match; the zero value means linux/amd64.
	Platform v1.Platform
	// Base returns the image a FROM or COPY --from names. ref is expanded
	// and is neither "scratch" nor a stage name; the caller pulls it,
	// choosing the image for Platform from an index.
	Base func(ctx context.Context, ref string) (v1.Image, error)
	// Fetch downloads the source of ADD <url> under the caller's policy for
	// outbound URLs; nil refuses ADD of URLs.
	Fetch func(ctx context.Context, url string) (io.ReadCloser, error)
	// Log receives the build's progress; nil discards it.
	Log Log
	// ScratchDir receives the layer tarballs (and downloads while they are
	// added); nothing else is written to disk. The returned image reads its
	// new layers from there, so the caller removes the directory once it
	// is done with the image, or after a failed build. Required.
	ScratchDir string
	// MaxLayerBytes bounds the bytes all of the build's new layers hold
	// together (COPY . /x ten times writes the context ten times): their
	// files' contents, and their entries' names, link targets and extended
	// attributes; 0 means no bound.
	MaxLayerBytes int64
	// Limits bounds the entries and attributes the build handles and the
	// memory it keeps about them; the zero value means DefaultLimits.
	Limits Limits
	// Now gives the created timestamps; nil means time.Now.
	Now func() time.Time
}

// Log receives a build's progress as Docker prints it.
type Log interface {
	// Step reports that instruction n of total, FROM lines included, starts;
	// source is the instruction as written. The caller formats
	// "Step n/total : source".
	Step(n, total int, source string)
	// Output reports one progress line, such as " ---> 3f2a1b0c9d8e" or
	// "Copied 3 files (1.2 kB)".
	Output(line string)
}

type discardLog struct{}

func (discardLog) Step(int, int, string) {}
func (discardLog) Output(string)         {}

// defaultPlatform is what Docker builds for when nothing says otherwise.
var defaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Build executes the stages of df that Options.Target needs and returns
// the target stage's image. Its new layers live in opts.ScratchDir.
//
// An error about an instruction names its line ("line 7: COPY failed:
// ..."); one that breaks a limit (Options.Limits, MaxLayerBytes) is a
// wharf.Invalid error whose message is all of that text. A needed stage with RUN fails with ErrRunUnsupported before
// anything is pulled, and a cancelled ctx fails the build with ctx's error.
func Build(ctx context.Context, df *dockerfile.Dockerfile, opts Options) (v1.Image, error) {
	b, err := newBuilder(df, opts)
	if err != nil {
		return nil, err
	}
	if opts.ContextDir != "" {
		if b.buildContext, err = os.OpenRoot(opts.ContextDir); err != nil {
			return nil, fmt.Errorf("open build context: %w", err)
		}
		defer b.buildContext.Close()
		if b.ignore, err = loadIgnore(b.buildContext); err != nil {
			return nil, err
		}
	}
	order, err := b.plan()
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		if b.results[i], err = b.buildStage(ctx, i); err != nil {
			return nil, invalidIfLimit(err)
		}
	}
	b.warnUnusedArgs()
	return b.results[b.target], nil
}

// ref is what a FROM or COPY --from names: an earlier stage or an image.
type ref struct {
	stage int    // index of the stage, -1 for an image
	image string // the image reference when stage is -1
}

// builder holds one Build.
type builder struct {
	df           *dockerfile.Dockerfile
	opts         Options
	escape       rune
	buildContext *os.Root       // nil when the build has no context
	ignore       *ignoreMatcher // the context's .dockerignore; nil: none

	meta     map[string]string // meta ARG values, for FROM and --from
	usedArgs map[string]bool   // BuildArgs some ARG declared
	target   int

	bases   []ref                    // per stage, what its FROM names
	copies  map[*dockerfile.Copy]ref // what each needed COPY --from names
	results []v1.Image               // per stage, once built
	images  map[string]v1.Image      // pulled images by reference
	indexes map[ref]*fsIndex         // the filesystems COPY --from read
	step    int
	total   int
	// budget counts what the build has read and written against
	// Options.MaxLayerBytes and Options.Limits.
	budget *budget
	// allowRun lets plan pass RUN steps, for ExternalImages: executors
	// with a container runtime run them.
	allowRun bool
}

func newBuilder(df *dockerfile.Dockerfile, opts Options) (*builder, error) {
	if df == nil || len(df.Stages) == 0 {
		return nil, errors.New("the Dockerfile has no FROM instruction")
	}
	if opts.ScratchDir == "" {
		return nil, errors.New("imagebuild: Options.ScratchDir is required")
	}
	if opts.Platform.OS == "" && opts.Platform.Architecture == "" {
		opts.Platform = defaultPlatform
	}
	if opts.Log == nil {
		opts.Log = discardLog{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &builder{
		df:       df,
		opts:     opts,
		escape:   df.Escape,
		usedArgs: map[string]bool{},
		bases:    make([]ref, len(df.Stages)),
		copies:   map[*dockerfile.Copy]ref{},
		results:  make([]v1.Image, len(df.Stages)),
		images:   map[string]v1.Image{},
		indexes:  map[ref]*fsIndex{},
		budget:   newBudget(opts.Limits, opts.MaxLayerBytes),
	}
	if b.escape == 0 {
		b.escape = '\\'
	}
	if err := b.declareMetaArgs(); err != nil {
		return nil, err
	}
	b.target = len(df.Stages) - 1
	if opts.Target != "" {
		i := slices.IndexFunc(df.Stages, func(s dockerfile.Stage) bool {
			return s.From.Name == strings.ToLower(opts.Target)
		})
		if i < 0 {
			return nil, fmt.Errorf("target stage %q could not be found", opts.Target)
		}
		b.target = i
	}
	return b, nil
}

// plan resolves what the needed stages' FROM and COPY --from name, counts
// their steps, and returns them in build order. It refuses RUN here, before
// anything is pulled, because the build could never finish.
func (b *builder) plan() ([]int, error) {
	need := make([]bool, len(b.df.Stages))
	need[b.target] = true
	// A stage depends only on earlier stages, so one pass from the target
	// backwards reaches every stage it needs.
	for i := b.target; i >= 0; i-- {
		if !need[i] {
			continue
		}
		st := &b.df.Stages[i]
		if err := b.checkPlatform(st.From); err != nil {
			return nil, lineError(st.From.Pos(), err)
		}
		base, err := b.resolveRef(st.From.Image, i)
		if err != nil {
			return nil, lineError(st.From.Pos(), fmt.Errorf("FROM: %w", err))
		}
		b.bases[i] = base
		if base.stage >= 0 {
			need[base.stage] = true
		}
		for _, in := range st.Instructions {
			switch in := in.(type) {
			case *dockerfile.Run:
				if !b.allowRun {
					return nil, ErrRunUnsupported
				}
			case *dockerfile.Copy:
				if in.From == "" {
					continue
				}
				r, err := b.resolveRef(in.From, i)
				if err != nil {
					return nil, lineError(in.Pos(), fmt.Errorf("--from: %w", err))
				}
				b.copies[in] = r
				if r.stage >= 0 {
					need[r.stage] = true
				}
			}
		}
		b.total += 1 + len(st.Instructions)
	}
	var order []int
	for i, n := range need {
		if n {
			order = append(order, i)
		}
	}
	return order, nil
}

// ExternalImages returns the images, not scratch and not stages, that the
// stages needed for opts.Target name in FROM or COPY --from, expanded as
// Build expands them, each once, in the order the Dockerfile names them.
// Executors that pull with other tools use it to vet and fetch bases;
// RUN steps are no obstacle here.
func ExternalImages(df *dockerfile.Dockerfile, opts Options) ([]string, error) {
	opts.ScratchDir = os.TempDir() // required by newBuilder, never written here
	b, err := newBuilder(df, opts)
	if err != nil {
		return nil, err
	}
	b.allowRun = true
	order, err := b.plan()
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(r ref) {
		if r.stage < 0 && r.image != "scratch" && !slices.Contains(out, r.image) {
			out = append(out, r.image)
		}
	}
	for _, i := range order {
		add(b.bases[i])
		for _, in := range df.Stages[i].Instructions {
			if c, ok := in.(*dockerfile.Copy); ok && c.From != "" {
				add(b.copies[c])
			}
		}
	}
	return out, nil
}

// resolveRef expands word with the meta ARGs, like Docker's FROM, and
// says which stage before stage `before` or which image it names. COPY
// --from is expanded the same way, because the stage graph must be known
// before any stage runs.
func (b *builder) resolveRef(word string, before int) (ref, error) {
	v, err := dockerfile.Expand(word, b.escape, b.metaLookup)
	if err != nil {
		return ref{}, err
	}
	if v == "" {
		return ref{}, fmt.Errorf("%q expands to an empty name", word)
	}
	name := strings.ToLower(v)
	for j, st := range b.df.Stages {
		if st.From.Name != name {
			continue
		}
		if j >= before {
			return ref{}, fmt.Errorf("stage %q is not defined before it is used", name)
		}
		return ref{stage: j}, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n >= before {
			return ref{}, fmt.Errorf("invalid stage index %d", n)
		}
		return ref{stage: n}, nil
	}
	return ref{stage: -1, image: v}, nil
}

// checkPlatform refuses FROM --platform for another platform: Base pulls
// for Options.Platform only, and silently building from a different
// platform's files would be worse than failing.
func (b *builder) checkPlatform(from dockerfile.From) error {
	if from.Platform == "" {
		return nil
	}
	v, err := dockerfile.Expand(from.Platform, b.escape, b.metaLookup)
	if err != nil {
		return fmt.Errorf("FROM --platform: %w", err)
	}
	p, err := v1.ParsePlatform(v)
	if err != nil {
		return fmt.Errorf("FROM --platform: %w", err)
	}
	want := b.opts.Platform
	if p.OS != want.OS || p.Architecture != want.Architecture ||
		(p.Variant != "" && want.Variant != "" && p.Variant != want.Variant) {
		return fmt.Errorf("FROM --platform=%s: the built-in executor builds only for %s", v, platformString(want))
	}
	return nil
}

// buildStage runs stage i: FROM, then each instruction, one Log step each.
func (b *builder) buildStage(ctx context.Context, i int) (v1.Image, error) {
	st := &b.df.Stages[i]
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.logStep(st.From.Source())
	s, err := b.startStage(ctx, i)
	if err != nil {
		return nil, lineError(st.From.Pos(), err)
	}
	for _, in := range st.Instructions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.logStep(in.Source())
		if err := s.exec(ctx, in); err != nil {
			return nil, lineError(in.Pos(), err)
		}
	}
	img, err := s.finish()
	if err != nil {
		return nil, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	b.opts.Log.Output(" ---> " + shortID(id))
	return img, nil
}

// baseImage returns the image r names.
func (b *builder) baseImage(ctx context.Context, r ref) (v1.Image, error) {
	switch {
	case r.stage >= 0:
		return b.results[r.stage], nil
	case r.image == "scratch":
		return b.scratch()
	}
	if img, ok := b.images[r.image]; ok {
		return img, nil
	}
	if b.opts.Base == nil {
		return nil, fmt.Errorf("cannot pull %s: no image source is configured", r.image)
	}
	img, err := b.opts.Base(ctx, r.image)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", r.image, err)
	}
	b.images[r.image] = img
	return img, nil
}

// describe names what r refers to, for messages.
func (b *builder) describe(r ref) string {
	if r.stage < 0 {
		return r.image
	}
	if name := b.df.Stages[r.stage].From.Name; name != "" {
		return "stage " + name
	}
	return fmt.Sprintf("stage %d", r.stage)
}

// source names what r refers to as a source of files, for messages:
// "image alpine:3", "stage build".
func (b *builder) source(r ref) string {
	if r.stage < 0 {
		return "image " + r.image
	}
	return b.describe(r)
}

// scratch is the empty OCI image for the build's platform.
func (b *builder) scratch() (v1.Image, error) {
	p := b.opts.Platform
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS:           p.OS,
		Architecture: p.Architecture,
		Variant:      p.Variant,
		OSVersion:    p.OSVersion,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

func (b *builder) logStep(source string) {
	b.step++
	b.opts.Log.Step(b.step, b.total, source)
}

// warnUnusedArgs prints Docker's warning for build args no ARG declared,
// which usually means a typo in the build trigger.
func (b *builder) warnUnusedArgs() {
	var unused []string
	for name := range b.opts.BuildArgs {
		if !b.usedArgs[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		b.opts.Log.Output(fmt.Sprintf("[Warning] One or more build-args %v were not consumed", unused))
	}
}

func (b *builder) now() time.Time { return b.opts.Now().UTC() }

func lineError(pos dockerfile.Position, err error) error {
	return fmt.Errorf("line %d: %w", pos.Line, err)
}

// shortID is the 12 hex digits Docker shows for an image or layer.
func shortID(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
