package build

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wharf-registry/wharf/internal/dockerfile"
	"github.com/wharf-registry/wharf/internal/imagebuild"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Buildah is the executor for Dockerfiles with RUN steps. It works in
// three steps, each a buildah process with storage private to the build:
//
//  1. pull every base image the Dockerfile names (vetted: remote
//     registries through the outbound URL policy), with credentials for
//     this registry only;
//  2. `buildah bud --isolation=chroot --pull=never` inside fresh network,
//     PID, IPC, UTS and mount namespaces (unshare): RUN steps have no
//     network at all and see no other process, and no credential is in
//     reach of the build;
//  3. `buildah push` to each tag.
//
// Chroot isolation shares the host's user namespace: RUN steps run as
// root on the host's kernel. Offer it to tenants you trust, or run the
// workers (`wharf worker`) on a machine of their own.
type Buildah struct {
	// Path is the buildah binary ("" = "buildah" from PATH).
	Path string
	// URLs vets the registries of remote base images.
	URLs URLPolicy
}

// Name implements Executor.
func (Buildah) Name() string { return "buildah" }

// Available reports whether buildah and unshare can be found.
func (e Buildah) Available() error {
	for _, bin := range []string{e.binary(), "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			return err
		}
	}
	return nil
}

func (e Buildah) binary() string {
	if e.Path == "" {
		return "buildah"
	}
	return e.Path
}

// stepLine is how buildah announces a Dockerfile step.
var stepLine = regexp.MustCompile(`^STEP \d+/\d+: `)

// Run implements Executor.
func (e Buildah) Run(ctx context.Context, job *Job) error {
	reg := job.Registry
	bases, err := e.plan(ctx, job)
	if err != nil {
		return err
	}
	run := buildahRun{bin: e.binary(), job: job, global: []string{"--root", filepath.Join(job.ScratchDir, "storage"),
		"--runroot", filepath.Join(job.ScratchDir, "run"), "--storage-driver", "vfs"}}
	if err := run.setup(); err != nil {
		return err
	}
	for _, b := range bases {
		job.Log.Output("Pulling " + b.pull)
		if err := run.buildah(ctx, job.Log.Output, "pull", "--authfile", run.authFile, "--tls-verify="+fmt.Sprint(!b.insecure), b.pull); err != nil {
			return wharf.Errorf(wharf.Invalid, "cannot pull %s: %v", b.name, err)
		}
		if b.alias != "" {
			if err := run.buildah(ctx, job.Log.Output, "tag", b.pull, b.alias); err != nil {
				return wharf.Errorf(wharf.Invalid, "cannot name %s as %s: %v", b.pull, b.alias, err)
			}
		}
	}
	image := "localhost/wharf-build:" + job.Build.UUID
	building := false
	bud := []string{"bud", "--isolation", "chroot", "--pull=never", "--layers=false", "-f", job.Dockerfile, "-t", image, job.ContextDir}
	if err := run.confined(ctx, func(line string) {
		if stepLine.MatchString(line) {
			if !building && !strings.Contains(line, ": FROM ") {
				building = true
				job.Phase(wharf.PhaseBuilding)
			}
			job.Log.Command(line)
			return
		}
		job.Log.Output(line)
	}, bud...); err != nil {
		return wharf.Errorf(wharf.Invalid, "buildah bud failed: %v", err)
	}
	if err := job.Phase(wharf.PhasePushing); err != nil {
		return err
	}
	for _, target := range reg.Targets() {
		job.Log.Output("Pushing " + target)
		if err := run.buildah(ctx, job.Log.Output, "push", "--authfile", run.authFile, "--tls-verify="+fmt.Sprint(!reg.Insecure),
			image, "docker://"+target); err != nil {
			return wharf.Errorf(wharf.Invalid, "buildah push %s failed: %v", target, err)
		}
	}
	return nil
}

// baseImage is one image the build starts from: the reference to pull and,
// when the Dockerfile names it otherwise (by SERVER_HOSTNAME), the name to
// give it so the offline build finds it.
type baseImage struct {
	name, pull, alias string
	insecure          bool
}

// plan reads the Dockerfile for what the build fetches: the base images,
// vetted, and no ADD of a URL (the build runs without network).
func (e Buildah) plan(ctx context.Context, job *Job) ([]baseImage, error) {
	df, err := job.parseDockerfile()
	if err != nil {
		return nil, err
	}
	for _, st := range df.Stages {
		for _, in := range st.Instructions {
			if c, ok := in.(*dockerfile.Copy); ok && c.Add {
				for _, src := range c.Sources {
					if strings.Contains(src, "://") {
						return nil, wharf.Errorf(wharf.Invalid, "line %d: ADD of a URL is not available with the buildah executor: builds run without network (fetch it into the context instead)", c.Pos().Line)
					}
				}
			}
		}
	}
	names, err := imagebuild.ExternalImages(df, imagebuild.Options{})
	if err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "Dockerfile: %v", err)
	}
	var out []baseImage
	for _, n := range names {
		ref, local, err := job.Registry.Resolve(n)
		if err != nil {
			return nil, err
		}
		b := baseImage{name: n, pull: ref.Name(), insecure: local && job.Registry.Insecure}
		if !local {
			if _, err := e.URLs.Check(ctx, "https://"+ref.Context().RegistryStr()+"/v2/"); err != nil {
				return nil, err
			}
		} else if hasRegistry(n) && ref.Name() != n {
			b.alias = n
		}
		out = append(out, b)
	}
	return out, nil
}

// buildahRun runs the buildah processes of one build.
type buildahRun struct {
	bin      string
	job      *Job
	global   []string
	authFile string
	conf     string
}

// setup writes the build's registries.conf (unqualified names and
// SERVER_HOSTNAME resolve to this registry) and its auth file, which holds
// the build token for this registry only: never on a command line, never
// sent to another registry.
func (r *buildahRun) setup() error {
	reg := r.job.Registry
	var conf strings.Builder
	fmt.Fprintf(&conf, "unqualified-search-registries = [%q]\nshort-name-mode = \"permissive\"\n\n", reg.Host)
	fmt.Fprintf(&conf, "[[registry]]\nlocation = %q\ninsecure = %t\n", reg.Host, reg.Insecure)
	if reg.ServerHostname != "" && reg.ServerHostname != reg.Host {
		fmt.Fprintf(&conf, "\n[[registry]]\nprefix = %q\nlocation = %q\ninsecure = %t\n", reg.ServerHostname, reg.Host, reg.Insecure)
	}
	r.conf = filepath.Join(r.job.ScratchDir, "registries.conf")
	if err := os.WriteFile(r.conf, []byte(conf.String()), 0o600); err != nil {
		return wharf.Wrap(err, "write registries.conf")
	}
	auth, err := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))}}})
	if err != nil {
		return wharf.Wrap(err, "encode auth file")
	}
	r.authFile = filepath.Join(r.job.ScratchDir, "auth.json")
	return wharf.Wrap(os.WriteFile(r.authFile, auth, 0o600), "write auth file")
}

// buildah runs one buildah command with the build's storage.
func (r *buildahRun) buildah(ctx context.Context, line func(string), args ...string) error {
	return r.run(ctx, line, r.bin, append(append([]string{}, r.global...), args...)...)
}

// confined runs buildah in new namespaces without network; --kill-child
// makes the whole namespace die with unshare.
func (r *buildahRun) confined(ctx context.Context, line func(string), args ...string) error {
	ns := []string{"--net", "--pid", "--ipc", "--uts", "--mount", "--fork", "--kill-child", "--mount-proc", r.bin}
	return r.run(ctx, line, "unshare", append(append(ns, r.global...), args...)...)
}

// run runs a command with only the environment it needs, in its own
// process group (killed whole on cancel), feeding every output line to
// line; the error names the exit status and the last line (the reason).
func (r *buildahRun) run(ctx context.Context, line func(string), name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	scratch := r.job.ScratchDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + scratch, "TMPDIR=" + scratch,
		"XDG_RUNTIME_DIR=" + filepath.Join(scratch, "run"), "CONTAINERS_REGISTRIES_CONF=" + r.conf, "BUILDAH_ISOLATION=chroot"}
	cmd.Dir = scratch
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var last string
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if text := sc.Text(); strings.TrimSpace(text) != "" {
				last = text
				line(text)
			}
		}
		io.Copy(io.Discard, pr)
	})
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err != nil {
		return fmt.Errorf("%v: %s", err, last)
	}
	return nil
}
