package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imageConfig is the part of "buildah inspect" the image test reads: the
// Docker-format configuration, which keeps the healthcheck.
type imageConfig struct {
	Docker struct {
		Config struct {
			User         string
			Volumes      map[string]struct{}
			ExposedPorts map[string]struct{}
			Entrypoint   []string
			Healthcheck  *struct{ Test []string }
		} `json:"config"`
	}
}

// TestContainerImage builds the image as operators do ("make image", into
// a private buildah store), checks its configuration (a numeric non-root
// user, the data volume, the API and metrics ports, the healthcheck, the
// entrypoint) and its files, then runs the binary inside it: "wharf
// version" names the commit, and "wharf serve" starts as that user on the
// volume and passes the image's healthcheck.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	buildah := clientTool(t, "buildah")
	if _, err := exec.LookPath("make"); err != nil {
		unavailable(t, "make is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// buildah's run root must have a short path.
	runRoot, err := os.MkdirTemp("", "wimg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runRoot) })
	global := []string{"--root", filepath.Join(t.TempDir(), "store"), "--runroot", runRoot, "--storage-driver", "vfs"}
	bah := func(args ...string) []byte {
		t.Helper()
		var stderr bytes.Buffer
		cmd := exec.Command(buildah, append(global, args...)...)
		cmd.Env, cmd.Stderr = childEnv(), &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return out
	}

	const name = "localhost/wharf-image-test:latest"
	start := time.Now()
	mk := exec.Command("make", "image", "IMAGE="+name, "BUILDAH="+strings.Join(append([]string{buildah}, global...), " "))
	mk.Dir, mk.Env = root, childEnv()
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Logf("make image: %v", time.Since(start).Round(time.Millisecond))

	var inspect imageConfig
	raw := bah("inspect", "--type", "image", name)
	if err := json.Unmarshal(raw, &inspect); err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	cfg := inspect.Docker.Config
	t.Logf("image config: user %s, volumes %v, ports %v, healthcheck %v, entrypoint %v",
		cfg.User, keys(cfg.Volumes), keys(cfg.ExposedPorts), cfg.Healthcheck, cfg.Entrypoint)
	uid, gid, _ := strings.Cut(cfg.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("User %q: want a numeric user other than root", cfg.User)
	}
	if _, err := strconv.Atoi(gid); err != nil {
		t.Errorf("User %q: want a numeric group", cfg.User)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("Volumes %v: want /data", keys(cfg.Volumes))
	}
	if got := keys(cfg.ExposedPorts); !slices.Equal(got, []string{"8080/tcp", "9091/tcp"}) {
		t.Errorf("ExposedPorts %v: want 8080/tcp (API and registry) and 9091/tcp (metrics)", got)
	}
	if cfg.Healthcheck == nil || !slices.Equal(cfg.Healthcheck.Test, []string{"CMD", "/usr/local/bin/wharf", "healthcheck"}) {
		t.Errorf("Healthcheck %v: want CMD wharf healthcheck", cfg.Healthcheck)
	}
	if want := []string{"/usr/local/bin/wharf", "serve", "--addr", "0.0.0.0:8080", "--data", "/data"}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("Entrypoint %v, want %v", cfg.Entrypoint, want)
	}

	ctr := strings.TrimSpace(string(bah("from", "--pull-never", name)))
	t.Cleanup(func() { exec.Command(buildah, append(global, "rm", ctr)...).Run() })
	rootfs := strings.TrimSpace(string(bah("mount", ctr)))
	checkImageFiles(t, rootfs, uid)

	// The binary runs in the image (no libc, as the image's user) and
	// knows its commit when the checkout lets Go stamp it.
	version := string(bah("run", "--isolation", "chroot", ctr, "--", "/usr/local/bin/wharf", "version"))
	t.Logf("wharf version in the image:\n%s", version)
	wantCommit := "commit unknown"
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
		head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("git rev-parse HEAD: %v", err)
		}
		wantCommit = "commit " + strings.TrimSpace(string(head)) + " ("
	}
	if !strings.HasPrefix(version, "wharf ") || !strings.Contains(version, "\n"+wantCommit) {
		t.Errorf("wharf version printed %q, want the module version and %q", version, wantCommit)
	}

	serveInImage(t, buildah, global, ctr, uid)
}

// checkImageFiles checks the image's root filesystem: the user exists,
// the volume is the user's alone, /tmp is shared and sticky, and the
// binary is static.
func checkImageFiles(t *testing.T, rootfs, uid string) {
	t.Helper()
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	if err != nil || !regexp.MustCompile(`(?m)^wharf:x:`+uid+`:`).Match(passwd) {
		t.Errorf("/etc/passwd (%v) has no wharf user with uid %s:\n%s", err, uid, passwd)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
		uid  string
	}{
		{"data", os.ModeDir | 0o700, uid},
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, "0"},
		{"usr/local/bin/wharf", 0o755, "0"},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, "0"},
	} {
		fi, err := os.Stat(filepath.Join(rootfs, c.path))
		if err != nil {
			t.Errorf("/%s: %v", c.path, err)
			continue
		}
		owner := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid))
		if fi.Mode() != c.mode || owner != c.uid {
			t.Errorf("/%s: mode %v owner %s, want %v owner %s", c.path, fi.Mode(), owner, c.mode, c.uid)
		}
	}
	bin, err := elf.Open(filepath.Join(rootfs, "usr", "local", "bin", "wharf"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary in the image asks for a dynamic loader: it must be static (CGO_ENABLED=0)")
		}
	}
}

// serveInImage runs "wharf serve" in the image's container, checks that it
// runs as the image's user (on the /data volume buildah run mounts), and
// that the image's healthcheck passes.
func serveInImage(t *testing.T, buildah string, global []string, ctr, uid string) {
	t.Helper()
	srv := exec.Command(buildah, append(global, "run", "--isolation", "chroot", ctr, "--",
		"/usr/local/bin/wharf", "serve", "--addr", "127.0.0.1:0", "--data", "/data")...)
	srv.Env = childEnv()
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	srv.Stderr = stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		// buildah run ends the server with itself; the group holds only
		// what this test started.
		syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
	}()
	var url string
	select {
	case line := <-ready:
		m := readyLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("wharf serve in the image printed %q; stderr:\n%s", line, stderr)
		}
		url = m[1]
	case <-time.After(60 * time.Second):
		t.Fatalf("wharf serve in the image was not ready within 60s; stderr:\n%s", stderr)
	}
	if got := processUID(t, srv.Process.Pid, "wharf"); got != uid {
		t.Errorf("wharf serve runs in the image as uid %s, want the image's user %s", got, uid)
	}
	var hcErr bytes.Buffer
	hc := exec.Command(buildah, append(global, "run", "--isolation", "chroot", ctr, "--",
		"/usr/local/bin/wharf", "healthcheck", "--url", url+"/health/instance")...)
	hc.Env, hc.Stderr = childEnv(), &hcErr
	out, err := hc.Output()
	if err != nil || !strings.HasPrefix(string(out), "healthy:") {
		t.Fatalf("the healthcheck against the server in the image: %v\n%s%s\nserver stderr:\n%s", err, out, hcErr.String(), stderr)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

// processUID is the real uid of the process named comm in process group
// pgid (a group this test started), read from /proc.
func processUID(t *testing.T, pgid int, comm string) string {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // the process ended
		}
		// pid (comm) state ppid pgrp …; comm may contain spaces.
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(raw[end+1:]))
		if string(raw[open+1:end]) != comm || len(fields) < 3 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(path), "status"))
		if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(status); err == nil && m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("no process %q in process group %d", comm, pgid)
	return ""
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
