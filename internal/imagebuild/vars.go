package imagebuild

import (
	"strings"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// declareMetaArgs computes the ARGs before the first FROM: the platform
// ARGs BuildKit predefines, then each declaration, a --build-arg beating
// its default. A default may use the meta ARGs declared before it.
func (b *builder) declareMetaArgs() error {
	p := b.opts.Platform
	b.meta = map[string]string{}
	// Nothing is ever executed, so the build platform is the target one;
	// `FROM --platform=$BUILDPLATFORM` then pulls what the target needs.
	for _, prefix := range []string{"TARGET", "BUILD"} {
		b.meta[prefix+"PLATFORM"] = platformString(p)
		b.meta[prefix+"OS"] = p.OS
		b.meta[prefix+"ARCH"] = p.Architecture
		b.meta[prefix+"VARIANT"] = p.Variant
	}
	for _, a := range b.df.MetaArgs {
		v, ok := b.opts.BuildArgs[a.Name]
		if ok {
			b.usedArgs[a.Name] = true
		} else if a.Default != nil {
			var err error
			if v, err = dockerfile.Expand(*a.Default, b.escape, b.metaLookup); err != nil {
				return err
			}
			ok = true
		}
		if ok {
			b.meta[a.Name] = v
		}
	}
	return nil
}

func (b *builder) metaLookup(name string) (string, bool) {
	v, ok := b.meta[name]
	return v, ok
}

// lookup is the stage's environment for Expand: ENV (the base image's
// included) beats ARG, as in Docker.
func (s *stage) lookup(name string) (string, bool) {
	for i := len(s.cfg.Env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(s.cfg.Env[i], "="); k == name {
			return v, true
		}
	}
	v, ok := s.args[name]
	return v, ok
}

func (s *stage) expand(word string) (string, error) {
	return dockerfile.Expand(word, s.b.escape, s.lookup)
}

// arg declares stage ARGs. The value is the --build-arg if there is one,
// else the declaration's default, else the meta ARG of that name; a
// declaration with none of them leaves the name unset.
func (s *stage) arg(in *dockerfile.Arg) (string, error) {
	created := make([]string, 0, len(in.Args))
	for _, a := range in.Args {
		v, ok := s.b.opts.BuildArgs[a.Name]
		switch {
		case ok:
			s.b.usedArgs[a.Name] = true
		case a.Default != nil:
			var err error
			if v, err = s.expand(*a.Default); err != nil {
				return "", err
			}
			ok = true
		default:
			v, ok = s.b.meta[a.Name]
		}
		if !ok {
			created = append(created, a.Name)
			continue
		}
		s.args[a.Name] = v
		created = append(created, a.Name+"="+v)
	}
	return "ARG " + strings.Join(created, " "), nil
}

// setEnv sets name in a "K=V" list, in place if present so the order of
// the base image's variables is kept.
func setEnv(env []string, name, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}
