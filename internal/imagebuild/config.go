package imagebuild

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// defaultShell prefixes shell-form CMD and ENTRYPOINT until SHELL (or the
// base image's config) says otherwise.
var defaultShell = []string{"/bin/sh", "-c"}

// expandPairs expands every key and value before any is applied: Docker
// substitutes an instruction's words with the environment from before it,
// so `ENV A=1 B=$A` sees the old A.
func (s *stage) expandPairs(name string, pairs []dockerfile.KeyValue) ([]dockerfile.KeyValue, string, error) {
	out := make([]dockerfile.KeyValue, 0, len(pairs))
	created := make([]string, 0, len(pairs))
	for _, p := range pairs {
		k, err := s.expand(p.Key)
		if err != nil {
			return nil, "", err
		}
		v, err := s.expand(p.Value)
		if err != nil {
			return nil, "", err
		}
		if k == "" {
			return nil, "", fmt.Errorf("%s names can not be blank", name)
		}
		out = append(out, dockerfile.KeyValue{Key: k, Value: v})
		created = append(created, k+"="+v)
	}
	return out, name + " " + strings.Join(created, " "), nil
}

func (s *stage) env(in *dockerfile.Env) (string, error) {
	pairs, created, err := s.expandPairs("ENV", in.Pairs)
	if err != nil {
		return "", err
	}
	for _, p := range pairs {
		s.cfg.Env = setEnv(s.cfg.Env, p.Key, p.Value)
	}
	return created, nil
}

func (s *stage) label(in *dockerfile.Label) (string, error) {
	pairs, created, err := s.expandPairs("LABEL", in.Pairs)
	if err != nil {
		return "", err
	}
	if s.cfg.Labels == nil {
		s.cfg.Labels = map[string]string{}
	}
	for _, p := range pairs {
		s.cfg.Labels[p.Key] = p.Value
	}
	return created, nil
}

// workdir sets the working directory, relative to the previous one. The
// directory itself is created by the first COPY that writes into it, as
// no layer is added for WORKDIR alone.
func (s *stage) workdir(in *dockerfile.Workdir) (string, error) {
	p, err := s.expand(in.Path)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", errors.New("WORKDIR can not be empty")
	}
	s.cfg.WorkingDir = s.abs(p)
	return "WORKDIR " + s.cfg.WorkingDir, nil
}

// abs resolves p against the working directory.
func (s *stage) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join("/", s.cfg.WorkingDir, p)
}

func (s *stage) user(in *dockerfile.User) (string, error) {
	u, err := s.expand(in.User)
	if err != nil {
		return "", err
	}
	if u == "" {
		return "", errors.New("USER can not be empty")
	}
	s.cfg.User = u
	return "USER " + u, nil
}

// expose adds ports as port/proto; a word may expand to several ports and
// a range such as 8000-8002 to each port in it, as in Docker.
func (s *stage) expose(in *dockerfile.Expose) (string, error) {
	var specs, ports []string
	for _, w := range in.Ports {
		fields, err := dockerfile.ExpandFields(w, s.b.escape, s.lookup)
		if err != nil {
			return "", err
		}
		for _, f := range fields {
			ps, err := parsePorts(f)
			if err != nil {
				return "", err
			}
			specs = append(specs, f)
			ports = append(ports, ps...)
		}
	}
	if s.cfg.ExposedPorts == nil {
		s.cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		s.cfg.ExposedPorts[p] = struct{}{}
	}
	// The specs as written keep the history line short for a wide range.
	return "EXPOSE " + strings.Join(specs, " "), nil
}

// parsePorts parses port[-port][/proto] into port/proto keys.
func parsePorts(spec string) ([]string, error) {
	portRange, proto, _ := strings.Cut(spec, "/")
	proto = strings.ToLower(proto)
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid proto %q in EXPOSE %s", proto, spec)
	}
	lo, hi, isRange := strings.Cut(portRange, "-")
	first, err1 := strconv.ParseUint(lo, 10, 16)
	last, err2 := first, error(nil)
	if isRange {
		last, err2 = strconv.ParseUint(hi, 10, 16)
	}
	if err1 != nil || err2 != nil || last < first {
		return nil, fmt.Errorf("invalid port %q in EXPOSE", spec)
	}
	ports := make([]string, 0, last-first+1)
	for p := first; p <= last; p++ {
		ports = append(ports, fmt.Sprintf("%d/%s", p, proto))
	}
	return ports, nil
}

func (s *stage) volume(in *dockerfile.Volume) (string, error) {
	paths := make([]string, 0, len(in.Paths))
	for _, w := range in.Paths {
		p, err := s.expand(w)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(p) == "" {
			return "", errors.New("VOLUME specified can not be an empty string")
		}
		paths = append(paths, p)
	}
	if s.cfg.Volumes == nil {
		s.cfg.Volumes = map[string]struct{}{}
	}
	for _, p := range paths {
		s.cfg.Volumes[p] = struct{}{}
	}
	return "VOLUME " + strings.Join(paths, " "), nil
}

// argv is the exec form of c: as written, or the stage's SHELL followed by
// the command line for the shell form.
func (s *stage) argv(c dockerfile.Command) []string {
	if !c.Shell {
		return append([]string(nil), c.Args...)
	}
	shell := s.cfg.Shell
	if len(shell) == 0 {
		shell = defaultShell
	}
	return append(append([]string(nil), shell...), c.Args...)
}

func (s *stage) cmd(in *dockerfile.Cmd) string {
	s.cfg.Cmd = s.argv(in.Command)
	s.cmdSet = true
	return fmt.Sprintf("CMD %q", s.cfg.Cmd)
}

// entrypoint sets ENTRYPOINT and, as in Docker, drops a CMD inherited from
// the base: it was written for the old entrypoint.
func (s *stage) entrypoint(in *dockerfile.Entrypoint) string {
	s.cfg.Entrypoint = s.argv(in.Command)
	if !s.cmdSet {
		s.cfg.Cmd = nil
	}
	return fmt.Sprintf("ENTRYPOINT %q", s.cfg.Entrypoint)
}

func (s *stage) stopsignal(in *dockerfile.Stopsignal) (string, error) {
	sig, err := s.expand(in.Signal)
	if err != nil {
		return "", err
	}
	if sig == "" {
		return "", errors.New("STOPSIGNAL can not be empty")
	}
	s.cfg.StopSignal = sig
	return "STOPSIGNAL " + sig, nil
}

// healthcheck replaces the health check as a whole, as Docker does; its
// --start-interval has no field in the image config this package writes.
func (s *stage) healthcheck(in *dockerfile.Healthcheck) string {
	s.cfg.Healthcheck = &v1.HealthConfig{
		Test:        append([]string(nil), in.Test...),
		Interval:    in.Interval,
		Timeout:     in.Timeout,
		StartPeriod: in.StartPeriod,
		Retries:     in.Retries,
	}
	return in.Source()
}
