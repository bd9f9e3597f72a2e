package imagebuild

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// historyComment marks history entries the way BuildKit does, so tools
// that look for it treat these images like BuildKit's.
const historyComment = "buildkit.dockerfile.v0"

// stage is one stage being built. Config changes accumulate in cfg and
// author; layers and history entries in adds, applied to base by finish.
type stage struct {
	b     *builder
	index int
	base  v1.Image
	adds  []mutate.Addendum

	cfg    v1.Config
	author string
	args   map[string]string // stage ARGs with a value
	cmdSet bool              // CMD was set in this stage, so ENTRYPOINT keeps it

	layerType types.MediaType // media type of the layers this stage adds
	fs        *fsIndex        // the stage's directories and symlinks; nil until a COPY needs it
}

// startStage executes FROM for stage i.
func (b *builder) startStage(ctx context.Context, i int) (*stage, error) {
	base, err := b.baseImage(ctx, b.bases[i])
	if err != nil {
		return nil, err
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read the config of %s: %w", b.describe(b.bases[i]), err)
	}
	// Docker runs the base's triggers as if they were written after FROM;
	// building without them would quietly produce a different image.
	if len(cf.Config.OnBuild) > 0 {
		return nil, fmt.Errorf("ONBUILD triggers of the base image %s are not supported by the built-in executor", b.describe(b.bases[i]))
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	return &stage{
		b:         b,
		index:     i,
		base:      base,
		cfg:       cf.DeepCopy().Config,
		author:    cf.Author,
		args:      map[string]string{},
		layerType: layerType,
	}, nil
}

// exec executes one instruction after FROM.
func (s *stage) exec(ctx context.Context, in dockerfile.Instruction) error {
	if c, ok := in.(*dockerfile.Copy); ok {
		return s.copy(ctx, c)
	}
	var createdBy string
	var err error
	switch in := in.(type) {
	case *dockerfile.Env:
		createdBy, err = s.env(in)
	case *dockerfile.Label:
		createdBy, err = s.label(in)
	case *dockerfile.Arg:
		createdBy, err = s.arg(in)
	case *dockerfile.Workdir:
		createdBy, err = s.workdir(in)
	case *dockerfile.User:
		createdBy, err = s.user(in)
	case *dockerfile.Expose:
		createdBy, err = s.expose(in)
	case *dockerfile.Volume:
		createdBy, err = s.volume(in)
	case *dockerfile.Cmd:
		createdBy = s.cmd(in)
	case *dockerfile.Entrypoint:
		createdBy = s.entrypoint(in)
	case *dockerfile.Shell:
		s.cfg.Shell = append([]string(nil), in.Shell...)
		createdBy = fmt.Sprintf("SHELL %q", s.cfg.Shell)
	case *dockerfile.Stopsignal:
		createdBy, err = s.stopsignal(in)
	case *dockerfile.Healthcheck:
		createdBy = s.healthcheck(in)
	case *dockerfile.Maintainer:
		s.author = in.Name
		createdBy = "MAINTAINER " + in.Name
	case *dockerfile.Onbuild:
		s.cfg.OnBuild = append(s.cfg.OnBuild, in.Expression)
		createdBy = "ONBUILD " + in.Expression
	default:
		// plan refuses RUN; anything else is an instruction added to the
		// AST that this executor does not know yet.
		return fmt.Errorf("the built-in executor does not support %T", in)
	}
	if err != nil {
		return err
	}
	s.adds = append(s.adds, mutate.Addendum{History: s.history(createdBy, true)})
	return nil
}

func (s *stage) history(createdBy string, emptyLayer bool) v1.History {
	return v1.History{
		Created:    v1.Time{Time: s.b.now()},
		CreatedBy:  createdBy,
		Comment:    historyComment,
		EmptyLayer: emptyLayer,
	}
}

// filesystem returns the index of the stage's filesystem, reading the base
// image the first time. Only COPY and ADD add layers, and they keep the
// index up to date, so it is read once per stage.
func (s *stage) filesystem(ctx context.Context) (*fsIndex, error) {
	if s.fs == nil {
		idx, err := indexImage(ctx, s.base, s.b.source(s.b.bases[s.index]), s.b.budget, false)
		if err != nil {
			return nil, err
		}
		s.fs = idx
	}
	return s.fs, nil
}

// finish applies the stage's layers, history and config to its base. The
// stage's index is given up: later stages read the image afresh.
func (s *stage) finish() (v1.Image, error) {
	if s.fs != nil {
		s.fs.kept.release()
		s.fs = nil
	}
	img, err := mutate.Append(s.base, s.adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf.Config = s.cfg
	cf.Author = s.author
	cf.Created = v1.Time{Time: s.b.now()}
	return mutate.ConfigFile(img, cf)
}
