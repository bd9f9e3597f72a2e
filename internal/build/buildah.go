package build

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Buildah is the executor for Dockerfiles with RUN steps: it runs
// `buildah bud --isolation=chroot` (no daemon, no user namespaces) with
// storage private to the build, then `buildah push` to each tag.
type Buildah struct {
	// Path is the buildah binary ("buildah" = looked up in PATH).
	Path string
}

// Name implements Executor.
func (Buildah) Name() string { return "buildah" }

// Available reports whether the buildah binary can be found.
func (e Buildah) Available() error {
	_, err := exec.LookPath(e.binary())
	return err
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
	conf := filepath.Join(job.ScratchDir, "registries.conf")
	if err := os.WriteFile(conf, []byte(registriesConf(reg)), 0o600); err != nil {
		return wharf.Wrap(err, "write registries.conf")
	}
	image := "localhost/wharf-build:" + job.Build.UUID
	global := []string{"--root", filepath.Join(job.ScratchDir, "storage"), "--runroot", filepath.Join(job.ScratchDir, "run"),
		"--storage-driver", "vfs"}
	creds := reg.Username + ":" + reg.Password
	bud := append(append([]string{}, global...), "bud", "--isolation", "chroot", "--layers=false",
		"--creds", creds, "--tls-verify="+fmt.Sprint(!reg.Insecure), "-f", job.Dockerfile, "-t", image, job.ContextDir)
	building := false
	if err := e.run(ctx, job, conf, bud, func(line string) {
		if stepLine.MatchString(line) {
			if !building && !strings.Contains(line, ": FROM ") {
				building = true
				job.Phase(wharf.PhaseBuilding)
			}
			job.Log.Command(line)
			return
		}
		job.Log.Output(line)
	}); err != nil {
		return wharf.Errorf(wharf.Invalid, "buildah bud failed: %v", err)
	}
	if err := job.Phase(wharf.PhasePushing); err != nil {
		return err
	}
	for _, target := range reg.Targets() {
		job.Log.Output("Pushing " + target)
		push := append(append([]string{}, global...), "push", "--creds", creds, "--tls-verify="+fmt.Sprint(!reg.Insecure),
			image, "docker://"+target)
		if err := e.run(ctx, job, conf, push, job.Log.Output); err != nil {
			return wharf.Errorf(wharf.Invalid, "buildah push %s failed: %v", target, err)
		}
	}
	return nil
}

// registriesConf makes unqualified FROM names and SERVER_HOSTNAME
// references resolve to this registry.
func registriesConf(reg Registry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "unqualified-search-registries = [%q]\nshort-name-mode = \"permissive\"\n\n", reg.Host)
	fmt.Fprintf(&b, "[[registry]]\nlocation = %q\ninsecure = %t\n", reg.Host, reg.Insecure)
	if reg.ServerHostname != "" && reg.ServerHostname != reg.Host {
		fmt.Fprintf(&b, "\n[[registry]]\nprefix = %q\nlocation = %q\ninsecure = %t\n", reg.ServerHostname, reg.Host, reg.Insecure)
	}
	return b.String()
}

// run runs buildah with args, feeding every output line to line; the
// error names the exit status and the last line (buildah's reason).
func (e Buildah) run(ctx context.Context, job *Job, conf string, args []string, line func(string)) error {
	cmd := exec.CommandContext(ctx, e.binary(), args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_REGISTRIES_CONF="+conf, "BUILDAH_ISOLATION=chroot",
		"TMPDIR="+job.ScratchDir, "HOME="+job.ScratchDir, "XDG_RUNTIME_DIR="+filepath.Join(job.ScratchDir, "run"))
	cmd.Dir = job.ScratchDir
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var last string
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			text := strings.ReplaceAll(sc.Text(), job.Registry.Password, "***")
			if strings.TrimSpace(text) != "" {
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
