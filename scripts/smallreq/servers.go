package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// target is one server under measurement: its process (whose CPU time is
// read), its base URL, how to prepare it, and the requests it serves.
type target struct {
	name     string
	base     string
	cmd      *exec.Cmd
	client   *http.Client
	prepare  func(t *target) error
	requests map[string]func() (*http.Request, error)
}

func (t *target) setup() error { return t.prepare(t) }

func (t *target) stop() {
	if t.cmd != nil && t.cmd.Process != nil {
		t.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { t.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.cmd.Process.Kill()
		}
	}
}

func newTarget(name string, cmd *exec.Cmd, base string) *target {
	return &target{name: name, cmd: cmd, base: base, requests: map[string]func() (*http.Request, error){},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

var listening = regexp.MustCompile(`^wharf listening on (http://\S+)`)

// startWharf runs "wharf serve" on SQLite under work, or on dbURI, with
// its pprof server on debugAddr unless that is empty.
func startWharf(bin, work, dbURI, debugAddr string) (*target, error) {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(work, "wharf"))
	if debugAddr != "" {
		cmd.Args = append(cmd.Args, "--debug-addr", debugAddr)
	}
	cmd.Env = append(os.Environ(), "WHARF_BUILD_WORKERS=0")
	if dbURI != "" {
		cmd.Env = append(cmd.Env, "WHARF_DB_URI="+dbURI)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Its log (a line per request) goes to a file, not between the results.
	logFile, err := os.Create(filepath.Join(work, "wharf.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	m := listening.FindStringSubmatch(line)
	if err != nil || m == nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("wharf did not start: %q %v", line, err)
	}
	t := newTarget("wharf", cmd, m[1])
	t.prepare = prepareWharf
	return t, nil
}

// startDistribution runs CNCF Distribution on a filesystem under work.
func startDistribution(bin, work string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "distribution")
	config := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp: {addr: %s}\n", dir, addr)
	path := filepath.Join(work, "distribution.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", path)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := newTarget("distribution", cmd, "http://"+addr)
	t.prepare = prepareDistribution
	return t, waitUp(t.base + "/v2/")
}

// startFloor runs this program as the floor: a static Go handler serving
// the same manifest and blob from memory and disk (http.ServeFile).
func startFloor(work string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "floor")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-floor", addr, "-floor-dir", dir, "-wharf", "unused")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := newTarget("floor", cmd, "http://"+addr)
	t.prepare = prepareFloor
	return t, waitUp(t.base + "/ready")
}

func waitUp(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 15 s", url)
}

// serveFloor is the floor process: the manifest from memory, the blob
// with http.ServeFile, nothing else.
func serveFloor(addr, dir string) error {
	img := sampleImage()
	blobPath := filepath.Join(dir, "blob")
	if err := os.WriteFile(blobPath, img.layer, 0o600); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", mediaManifest)
			w.Write(img.manifest)
		case strings.Contains(r.URL.Path, "/blobs/"):
			http.ServeFile(w, r, blobPath)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context {
		return context.Background()
	}}
	return srv.ListenAndServe()
}
