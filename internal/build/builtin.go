package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wharf-registry/wharf/internal/imagebuild"
	"github.com/wharf-registry/wharf/internal/outbound"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Builtin is the pure-Go executor: it needs no container runtime, and so
// cannot run RUN steps (see imagebuild).
type Builtin struct {
	// URLs vets remote registries of FROM lines and ADD URLs.
	URLs URLPolicy
	// MaxBytes bounds one ADD download (BUILD_CONTEXT_MAX_BYTES); the
	// build's new layers may hold twice that.
	MaxBytes int64
}

// Name implements Executor.
func (Builtin) Name() string { return "builtin" }

// Run implements Executor.
func (e Builtin) Run(ctx context.Context, job *Job) error {
	df, err := job.parseDockerfile()
	if err != nil {
		return err
	}
	reg := job.Registry
	local := remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password})
	// One vetted client per build for everything fetched from outside.
	client := e.URLs.Client(0)
	defer client.CloseIdleConnections()
	outside := remote.WithTransport(client.Transport)
	building := false
	img, err := imagebuild.Build(ctx, df, imagebuild.Options{
		ContextDir: job.ContextDir,
		Base: func(ctx context.Context, ref string) (v1.Image, error) {
			n, isLocal, err := reg.Resolve(ref)
			if err != nil {
				return nil, err
			}
			job.Log.Output("Pulling " + n.String())
			opts := []remote.Option{remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})}
			if isLocal {
				opts = append(opts, local)
			} else {
				opts = append(opts, outside)
			}
			img, err := remote.Image(n, opts...)
			if err != nil {
				return nil, wharf.Errorf(wharf.Invalid, "cannot pull %s: %s", ref, outboundReason(err))
			}
			return img, nil
		},
		Fetch: func(ctx context.Context, url string) (io.ReadCloser, error) {
			if _, err := e.URLs.Check(ctx, url); err != nil {
				return nil, err
			}
			req, err := newGet(ctx, url)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, wharf.Errorf(wharf.Invalid, "ADD %s: %s", url, outboundReason(err))
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				return nil, wharf.Errorf(wharf.Invalid, "ADD %s: the server answered %s", url, resp.Status)
			}
			return &cappedBody{ReadCloser: resp.Body, left: e.MaxBytes, url: url}, nil
		},
		Log:           stepLog{job: job, building: &building},
		ScratchDir:    job.ScratchDir,
		MaxLayerBytes: 2 * e.MaxBytes,
	})
	if err != nil {
		return err
	}
	return pushImage(ctx, job, img, local)
}

// outboundReason is what a build's owner is told about a failed fetch: a
// refusal by the outbound policy says why without the address the name
// resolved to (which would map internal names to addresses); other errors
// as they are.
func outboundReason(err error) string {
	var refused *outbound.RefusedError
	if errors.As(err, &refused) {
		return wharf.ErrorMessage(refused)
	}
	return err.Error()
}

// cappedBody fails a download once it passes its byte budget.
type cappedBody struct {
	io.ReadCloser
	left int64
	url  string
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, wharf.Errorf(wharf.Invalid, "ADD %s: the download is larger than BUILD_CONTEXT_MAX_BYTES", c.url)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

// stepLog writes imagebuild's progress into the build log and moves the
// build to building at its first step after the FROM lines.
type stepLog struct {
	job      *Job
	building *bool
}

func (l stepLog) Step(n, total int, source string) {
	if !*l.building && !strings.HasPrefix(strings.ToUpper(source), "FROM") {
		*l.building = true
		// A failure here (cancelled, taken over) is noticed by the worker's
		// heartbeat, which cancels the build's context within a third of a
		// lease; until then Phase(pushing) refuses, so nothing is pushed.
		l.job.Phase(wharf.PhaseBuilding)
	}
	l.job.Log.Command(fmt.Sprintf("Step %d/%d : %s", n, total, source))
}

func (l stepLog) Output(line string) { l.job.Log.Output(line) }

// pushImage moves the build to pushing (past which it cannot be
// cancelled) and pushes img to every target tag.
func pushImage(ctx context.Context, job *Job, img v1.Image, auth remote.Option) error {
	if err := job.Phase(wharf.PhasePushing); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return wharf.Wrap(err, "digest the built image")
	}
	for _, target := range job.Registry.Targets() {
		ref, _, err := job.Registry.Resolve(target)
		if err != nil {
			return err
		}
		job.Log.Output(fmt.Sprintf("Pushing %s (%s)", target, digest))
		if err := remote.Write(ref, img, remote.WithContext(ctx), auth); err != nil {
			return wharf.Errorf(wharf.Invalid, "push %s: %v", target, err)
		}
	}
	return nil
}
