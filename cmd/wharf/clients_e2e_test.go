package main

// Black-box tests of issue 3's client acceptance: the registry clients people
// really use (crane, oras, regctl, skopeo, podman, buildah) push an image to
// the built wharf binary and pull it back byte-identically, with a user's
// password and with an organization robot's token; a SIGKILL in the middle of
// a 256 MiB push leaves no partial blob and a clean consistency check; two
// clients pushing the same blob at once both succeed and storage keeps one
// copy.
//
// All content is made here (random tar layers and files); no test reaches
// beyond 127.0.0.1. The clients run with a private HOME, Docker/regctl/
// containers configuration and container storage under t.TempDir(), so they
// neither read nor change the machine's credentials or image store.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
)

// ---------------------------------------------------------------------------
// Locating the clients

// clientTool returns the path of a program the tests drive: on PATH, or in
// the directory scripts/install-test-tools.sh installs into ($TOOLS_BIN,
// else <user cache dir>/wharf-tools/bin; make test puts it on PATH). A
// missing program stops the test through [unavailable].
func clientTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dir := toolsDir()
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return p
	}
	unavailable(t, fmt.Sprintf("%s is neither on PATH nor in %s (scripts/install-test-tools.sh installs it)", name, dir))
	return ""
}

// toolsDir is where scripts/install-test-tools.sh puts the programs it
// builds; keep the two in step.
func toolsDir() string {
	if d := os.Getenv("TOOLS_BIN"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir() // $XDG_CACHE_HOME, else ~/.cache
	if err != nil {
		return filepath.Join("~", ".cache", "wharf-tools", "bin")
	}
	return filepath.Join(cache, "wharf-tools", "bin")
}

// unavailable stops a test whose program, service or setting is missing.
// It fails the test, so no run passes by not running a suite; only outside
// CI (CI unset) and with WHARF_ALLOW_SKIP=1 does it skip instead, saying
// what is not running. make test installs and starts everything first.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("WHARF_ALLOW_SKIP") != "1" {
		t.Fatalf("%s: this test cannot run (outside CI, WHARF_ALLOW_SKIP=1 skips it)", why)
	}
	t.Skipf("*** NOT RUNNING (WHARF_ALLOW_SKIP=1): %s ***", why)
}

// ---------------------------------------------------------------------------
// A private configuration for the clients

// sandbox is one client run's private world: HOME, XDG directories, Docker,
// regctl and containers configuration, a signature policy and a TMPDIR, all
// below one temp directory. registries.conf knows only the wharf under test
// (plain HTTP) and has no search registries, so no name ever resolves to the
// network.
type sandbox struct {
	dir     string
	short   string // a directory with a short path, for podman's run root
	host    string // 127.0.0.1:PORT of the wharf under test
	policy  string // signature policy file
	env     []string
	secrets []string // redacted from logged command lines
}

func newSandbox(t *testing.T, host string, secrets ...string) *sandbox {
	t.Helper()
	s := &sandbox{dir: t.TempDir(), host: host, secrets: secrets}
	shortBase := "/tmp"
	if fi, err := os.Stat(shortBase); err != nil || !fi.IsDir() {
		shortBase = os.TempDir()
	}
	short, err := os.MkdirTemp(shortBase, "wharf-")
	if err != nil {
		t.Fatal(err)
	}
	s.short = short
	t.Cleanup(func() { os.RemoveAll(short) })
	mkdir := func(name string) string {
		p := filepath.Join(s.dir, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(name, content string) string {
		p := filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home, tmp, run := mkdir("home"), mkdir("tmp"), mkdir("run")
	write("docker/config.json", `{"auths":{}}`)
	s.policy = write("policy.json", `{"default":[{"type":"insecureAcceptAnything"}]}`)
	registries := write("registries.conf", fmt.Sprintf(`unqualified-search-registries = []
short-name-mode = "enforcing"

[[registry]]
location = %q
insecure = true
`, host))
	// Podman and buildah: libpod state, events, network configuration and
	// copy buffers inside the sandbox; the default storage (only used if a
	// command ignored --root) too.
	containersConf := write("containers.conf", fmt.Sprintf(`[engine]
tmp_dir = %q
events_logger = "none"
image_copy_tmp_dir = %q

[network]
network_config_dir = %q
`, mkdir("libpod-tmp"), tmp, mkdir("networks")))
	storageConf := write("storage.conf", fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, filepath.Join(s.dir, "default-storage", "root"), filepath.Join(s.short, "default")))
	s.env = []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR=" + run,
		"TMPDIR=" + tmp,
		"DOCKER_CONFIG=" + filepath.Join(s.dir, "docker"),
		"REGCTL_CONFIG=" + filepath.Join(s.dir, "regctl", "config.json"),
		"REGISTRY_AUTH_FILE=" + write("auth.json", `{"auths":{}}`),
		"CONTAINERS_REGISTRIES_CONF=" + registries,
		"CONTAINERS_CONF=" + containersConf,
		"CONTAINERS_STORAGE_CONF=" + storageConf,
	}
	return s
}

// dockerLogin stores Basic credentials for the wharf under test in the
// sandbox's Docker config (what "crane auth login" would write).
func (s *sandbox) dockerLogin(t *testing.T, user, secret string) {
	t.Helper()
	cfg := map[string]any{"auths": map[string]any{s.host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))}}}
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(s.dir, "docker", "config.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// path returns a path inside the sandbox.
func (s *sandbox) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// run runs a client with the sandbox's environment in dir (the sandbox when
// empty), feeding stdin, and returns its stdout; a failure ends the test.
func (s *sandbox) run(t *testing.T, dir, stdin, tool string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = childEnv(s.env...)
	cmd.Dir = s.dir
	if dir != "" {
		cmd.Dir = dir
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	line := s.redact(filepath.Base(tool) + " " + strings.Join(args, " "))
	if err != nil {
		t.Fatalf("$ %s\n%v after %v\nstdout:\n%s\nstderr:\n%s", line, err, time.Since(start).Round(time.Millisecond),
			s.redact(string(tail(stdout.Bytes(), 4000))), s.redact(string(tail(stderr.Bytes(), 4000))))
	}
	t.Logf("$ %s (%v)", line, time.Since(start).Round(time.Millisecond))
	return stdout.Bytes()
}

func (s *sandbox) redact(text string) string {
	for _, secret := range s.secrets {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	return text
}

// ---------------------------------------------------------------------------
// Test images, made locally

// ociDescriptor is the part of an OCI descriptor these tests use.
type ociDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// imageManifest is an OCI image manifest or a Docker schema 2 manifest.
type imageManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType,omitempty"`
	ArtifactType  string          `json:"artifactType,omitempty"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

const (
	mtOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex      = "application/vnd.oci.image.index.v1+json"
	mtOCIConfig     = "application/vnd.oci.image.config.v1+json"
	mtOCILayerGzip  = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtDockerV2      = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtDockerConfig  = "application/vnd.docker.container.image.v1+json"
	mtOCIEmpty      = "application/vnd.oci.empty.v1+json"
	annotationTitle = "org.opencontainers.image.title"
	annotationRef   = "org.opencontainers.image.ref.name"
)

// image is a pushed or pulled image as these tests compare it: the exact
// manifest and blobs, and what the layers hold.
type image struct {
	digest   string // of the manifest
	manifest []byte
	parsed   imageManifest
	blobs    map[string][]byte // config and layers by digest
	diffIDs  []string          // the config's rootfs.diff_ids
	files    map[string]string // regular file (layer path or artifact title) → sha256 hex
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tarLayer returns a tar holding files (path → content) below a "wharf/"
// directory, with fixed metadata, and the same gzip-compressed.
func tarLayer(t *testing.T, files map[string][]byte) (raw, gz []byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "wharf/", Mode: 0o755, ModTime: mtime}); err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(buf.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), zbuf.Bytes()
}

// newTestImage makes a two-layer OCI image of random files, different on
// every call: layer 1 a 1 MiB payload, layer 2 a text file and 64 KiB more.
func newTestImage(t *testing.T, label string) *image {
	t.Helper()
	layerFiles := []map[string][]byte{
		{"wharf/" + label + "-payload.bin": randomBytes(t, 1<<20)},
		{"wharf/" + label + ".txt": []byte("made by the wharf e2e test " + hex.EncodeToString(randomBytes(t, 16)) + "\n"),
			"wharf/extra.bin": randomBytes(t, 64<<10)},
	}
	img := &image{blobs: map[string][]byte{}, files: map[string]string{}}
	var layers []ociDescriptor
	for _, files := range layerFiles {
		raw, gz := tarLayer(t, files)
		img.diffIDs = append(img.diffIDs, sha256Digest(raw))
		d := sha256Digest(gz)
		img.blobs[d] = gz
		layers = append(layers, ociDescriptor{MediaType: mtOCILayerGzip, Digest: d, Size: int64(len(gz))})
		for name, data := range files {
			img.files[name] = sha256Hex(data)
		}
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux", "created": "2024-01-01T00:00:00Z",
		"config": map[string]any{"Labels": map[string]string{"wharf.e2e": label}, "WorkingDir": "/wharf"},
		"rootfs": map[string]any{"type": "layers", "diff_ids": img.diffIDs},
		"history": []map[string]string{{"created": "2024-01-01T00:00:00Z", "created_by": "wharf e2e layer 1"},
			{"created": "2024-01-01T00:00:00Z", "created_by": "wharf e2e layer 2"}},
	})
	cd := sha256Digest(config)
	img.blobs[cd] = config
	img.parsed = imageManifest{SchemaVersion: 2, MediaType: mtOCIManifest,
		Config: ociDescriptor{MediaType: mtOCIConfig, Digest: cd, Size: int64(len(config))}, Layers: layers}
	img.manifest, _ = json.Marshal(img.parsed)
	img.digest = sha256Digest(img.manifest)
	return img
}

// writeLayout writes img as an OCI image layout in dir, tagged tag.
func writeLayout(t *testing.T, dir string, img *image, tag string) {
	t.Helper()
	put := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": []ociDescriptor{{
		MediaType: mtOCIManifest, Digest: img.digest, Size: int64(len(img.manifest)),
		Annotations: map[string]string{annotationRef: tag}}}})
	put("index.json", index)
	put(blobPath(img.digest), img.manifest)
	for d, b := range img.blobs {
		put(blobPath(d), b)
	}
}

func blobPath(digest string) string {
	alg, h, _ := strings.Cut(digest, ":")
	return filepath.Join("blobs", alg, h)
}

// readLayout loads the image tagged tag (or the only one, tag "") from the
// OCI image layout in dir, verifying every blob against its digest.
func readLayout(t *testing.T, what, dir, tag string) *image {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var index struct{ Manifests []ociDescriptor }
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatalf("%s: index.json: %v", what, err)
	}
	var found []ociDescriptor
	for _, m := range index.Manifests {
		if tag == "" || m.Annotations[annotationRef] == tag {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: index.json has %d manifests tagged %q, want 1: %s", what, len(found), tag, raw)
	}
	get := func(d string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, blobPath(d))) }
	manifest, err := get(found[0].Digest)
	if err != nil {
		t.Fatalf("%s: manifest: %v", what, err)
	}
	return loadImage(t, what, manifest, found[0].Digest, get)
}

// loadImage checks manifest against digest, fetches its blobs with get,
// checks each against its descriptor and reads what the layers hold.
func loadImage(t *testing.T, what string, manifest []byte, digest string, get func(digest string) ([]byte, error)) *image {
	t.Helper()
	if got := sha256Digest(manifest); got != digest {
		t.Fatalf("%s: manifest bytes hash to %s, not %s", what, got, digest)
	}
	img := &image{digest: digest, manifest: manifest, blobs: map[string][]byte{}, files: map[string]string{}}
	if err := json.Unmarshal(manifest, &img.parsed); err != nil {
		t.Fatalf("%s: manifest: %v\n%s", what, err, manifest)
	}
	for _, desc := range append([]ociDescriptor{img.parsed.Config}, img.parsed.Layers...) {
		b, err := get(desc.Digest)
		if err != nil {
			t.Fatalf("%s: blob %s: %v", what, desc.Digest, err)
		}
		if got := sha256Digest(b); got != desc.Digest || int64(len(b)) != desc.Size {
			t.Fatalf("%s: blob %s: got %d bytes hashing to %s, want %d bytes", what, desc.Digest, len(b), got, desc.Size)
		}
		img.blobs[desc.Digest] = b
	}
	cfgType := img.parsed.Config.MediaType
	if cfgType == mtOCIConfig || cfgType == mtDockerConfig {
		var cfg struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(img.blobs[img.parsed.Config.Digest], &cfg); err != nil {
			t.Fatalf("%s: config: %v", what, err)
		}
		img.diffIDs = cfg.RootFS.DiffIDs
		if len(img.diffIDs) != len(img.parsed.Layers) {
			t.Fatalf("%s: %d diff_ids for %d layers", what, len(img.diffIDs), len(img.parsed.Layers))
		}
	}
	for i, l := range img.parsed.Layers {
		data := img.blobs[l.Digest]
		if !strings.Contains(l.MediaType, "tar") {
			if title := l.Annotations[annotationTitle]; title != "" {
				img.files[title] = sha256Hex(data)
			}
			continue
		}
		if strings.HasSuffix(l.MediaType, "gzip") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: layer %s: %v", what, l.Digest, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: layer %s: %v", what, l.Digest, err)
			}
		} else if strings.Contains(l.MediaType, "zstd") {
			t.Fatalf("%s: layer %s is %s, which this test cannot read", what, l.Digest, l.MediaType)
		}
		if img.diffIDs != nil && sha256Digest(data) != img.diffIDs[i] {
			t.Errorf("%s: layer %d (%s) uncompresses to %s, the config's diff_id is %s", what, i, l.Digest, sha256Digest(data), img.diffIDs[i])
		}
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: layer %s: %v", what, l.Digest, err)
			}
			if h.Typeflag == tar.TypeReg {
				content, _ := io.ReadAll(tr)
				img.files[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = sha256Hex(content)
			}
		}
	}
	return img
}

// sameImage asserts got holds want's content: with exact, the very same
// manifest and blobs (what a client that does not rewrite images must
// deliver); always the same uncompressed layers and files.
func sameImage(t *testing.T, what string, got, want *image, exact bool) {
	t.Helper()
	if exact {
		if got.digest != want.digest || !bytes.Equal(got.manifest, want.manifest) {
			t.Errorf("%s: manifest %s, want the pushed %s byte for byte:\n got %s\nwant %s", what, got.digest, want.digest, got.manifest, want.manifest)
		}
		for d, b := range want.blobs {
			if !bytes.Equal(got.blobs[d], b) {
				t.Errorf("%s: blob %s missing or different", what, d)
			}
		}
		if len(got.blobs) != len(want.blobs) {
			t.Errorf("%s: %d blobs, want %d", what, len(got.blobs), len(want.blobs))
		}
	}
	if want.diffIDs != nil && !slices.Equal(got.diffIDs, want.diffIDs) {
		t.Errorf("%s: layer diff_ids %v, want %v", what, got.diffIDs, want.diffIDs)
	}
	for name, sum := range want.files {
		if got.files[name] != sum {
			t.Errorf("%s: file %s has sha256 %q, want %s", what, name, got.files[name], sum)
		}
	}
}

// checkTreeFiles asserts the files below root hold want (path relative to
// root → sha256 hex).
func checkTreeFiles(t *testing.T, what, root string, want map[string]string) {
	t.Helper()
	for name, sum := range want {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if got := sha256Hex(b); got != sum {
			t.Errorf("%s: %s has sha256 %s, want %s", what, name, got, sum)
		}
	}
}

// ---------------------------------------------------------------------------
// A plain Go registry client: the Docker token flow and the /v2 calls

// registryClient speaks the distribution API as docker does: a request to
// /v2/ answers 401 with a Bearer challenge; the realm exchanges Basic
// credentials for a token scoped to a repository.
type registryClient struct {
	base         string // http://127.0.0.1:PORT
	user, secret string
	http         *http.Client
	mu           sync.Mutex
	tokens       map[string]string // repository → bearer token
}

func newRegistryClient(base, user, secret string) *registryClient {
	return &registryClient{base: base, user: user, secret: secret, tokens: map[string]string{},
		http: &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{Proxy: nil, DisableCompression: true}}}
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// token returns a pull,push token for repo (cached).
func (c *registryClient) token(repo string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok := c.tokens[repo]; tok != "" {
		return tok, nil
	}
	resp, err := c.http.Get(c.base + "/v2/")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.HasPrefix(challenge, "Bearer ") {
		return "", fmt.Errorf("GET /v2/ → %d WWW-Authenticate %q, want 401 with a Bearer challenge", resp.StatusCode, challenge)
	}
	params := map[string]string{}
	for _, m := range challengeParam.FindAllStringSubmatch(challenge, -1) {
		params[m[1]] = m[2]
	}
	u, err := url.Parse(params["realm"])
	if err != nil || params["realm"] == "" {
		return "", fmt.Errorf("challenge %q: bad realm", challenge)
	}
	q := u.Query()
	q.Set("service", params["service"])
	q.Set("scope", "repository:"+repo+":pull,push")
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest("GET", u.String(), nil)
	req.SetBasicAuth(c.user, c.secret)
	resp, err = c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct{ Token string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		return "", fmt.Errorf("GET %s as %s → %d %s", u.Path, c.user, resp.StatusCode, body)
	}
	c.tokens[repo] = tok.Token
	return tok.Token, nil
}

// do sends one authenticated request for repo. target is a path or the
// Location a previous answer gave; size is the body's length (-1: unknown,
// sent chunked).
func (c *registryClient) do(ctx context.Context, method, repo, target string, body io.Reader, size int64, header map[string]string) (*http.Response, error) {
	tok, err := c.token(repo)
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(c.base)
	ref, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, base.ResolveReference(ref).String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.http.Do(req)
}

// exchange is do plus reading the whole answer.
func (c *registryClient) exchange(ctx context.Context, method, repo, target string, body io.Reader, size int64, header map[string]string) (*response, error) {
	resp, err := c.do(ctx, method, repo, target, body, size, header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, target, err)
	}
	return &response{Method: method, Path: target, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// mustExchange is exchange that ends the test on a transport error.
func (c *registryClient) mustExchange(t *testing.T, method, repo, target string, body io.Reader, size int64, header map[string]string) *response {
	t.Helper()
	r, err := c.exchange(context.Background(), method, repo, target, body, size, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

// startUpload opens an upload session and returns its Location.
func (c *registryClient) startUpload(ctx context.Context, repo string) (string, error) {
	r, err := c.exchange(ctx, "POST", repo, "/v2/"+repo+"/blobs/uploads/", nil, 0, nil)
	if err != nil {
		return "", err
	}
	if r.Status != 202 || r.Header.Get("Location") == "" {
		return "", fmt.Errorf("%s: want 202 with a Location", r)
	}
	return r.Header.Get("Location"), nil
}

// patch streams body into the upload at location (chunked when size < 0)
// and returns the next Location.
func (c *registryClient) patch(ctx context.Context, repo, location string, body io.Reader, size int64) (string, error) {
	r, err := c.exchange(ctx, "PATCH", repo, location, body, size, map[string]string{"Content-Type": "application/octet-stream"})
	if err != nil {
		return "", err
	}
	if r.Status != 202 || r.Header.Get("Location") == "" {
		return "", fmt.Errorf("%s: want 202 with a Location", r)
	}
	return r.Header.Get("Location"), nil
}

// finish closes the upload at location with digest and returns the answer.
func (c *registryClient) finish(ctx context.Context, repo, location, digest string) (*response, error) {
	sep := "?"
	if strings.Contains(location, "?") {
		sep = "&"
	}
	return c.exchange(ctx, "PUT", repo, location+sep+"digest="+url.QueryEscape(digest), nil, 0, nil)
}

// pushBlob pushes a blob in one streamed PATCH and the closing PUT; it
// returns nil only for 201 with the right Docker-Content-Digest.
func (c *registryClient) pushBlob(ctx context.Context, repo, digest string, body io.Reader, size int64) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	if loc, err = c.patch(ctx, repo, loc, body, size); err != nil {
		return err
	}
	r, err := c.finish(ctx, repo, loc, digest)
	if err != nil {
		return err
	}
	return blobCreatedOK(r, digest)
}

func blobCreatedOK(r *response, digest string) error {
	if r.Status != 201 {
		return fmt.Errorf("%s: want 201", r)
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != digest {
		return fmt.Errorf("%s: Docker-Content-Digest %q, want %s", r, got, digest)
	}
	return nil
}

var manifestAccept = strings.Join([]string{mtOCIManifest, mtOCIIndex, mtDockerV2, mtDockerList}, ", ")

// image fetches repo:ref from the registry with its blobs and checks every
// digest: what wharf really holds, whichever client pushed it.
func (c *registryClient) image(t *testing.T, repo, ref string) *image {
	t.Helper()
	r := c.mustExchange(t, "GET", repo, "/v2/"+repo+"/manifests/"+ref, nil, 0, map[string]string{"Accept": manifestAccept})
	if r.Status != 200 {
		t.Fatalf("%s: want 200", r)
	}
	digest := r.Header.Get("Docker-Content-Digest")
	if digest != sha256Digest(r.Body) {
		t.Errorf("GET /v2/%s/manifests/%s: Docker-Content-Digest %q, the body hashes to %s", repo, ref, digest, sha256Digest(r.Body))
	}
	get := func(d string) ([]byte, error) {
		r, err := c.exchange(context.Background(), "GET", repo, "/v2/"+repo+"/blobs/"+d, nil, 0, nil)
		if err != nil {
			return nil, err
		}
		if r.Status != 200 {
			return nil, fmt.Errorf("%s: want 200", r)
		}
		return r.Body, nil
	}
	return loadImage(t, "wharf "+repo+":"+ref, r.Body, sha256Digest(r.Body), get)
}

// ---------------------------------------------------------------------------
// TestClientRoundTrips

// roundTrip is one client's push and pull with one set of credentials.
type roundTrip struct {
	host         string // 127.0.0.1:PORT
	user, secret string
	repo         string // namespace/name
	sb           *sandbox
	reg          *registryClient
}

func (rt *roundTrip) ref(tag string) string { return rt.host + "/" + rt.repo + ":" + tag }

var roundTripClients = []struct {
	name string
	run  func(rt *roundTrip, t *testing.T)
}{
	{"crane", (*roundTrip).crane},
	{"oras", (*roundTrip).oras},
	{"regctl", (*roundTrip).regctl},
	{"skopeo", (*roundTrip).skopeo},
	{"podman", (*roundTrip).podman},
	{"buildah", (*roundTrip).buildah},
}

// TestClientRoundTrips: each client pushes an image (an artifact for oras)
// to wharf and pulls it back, once as a user with the password and once as
// an organization robot with its token; what the registry holds and what
// comes back must be the pushed bytes.
func TestClientRoundTrips(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		srv := startWharf(t, engineEnv(t, engine))
		const user, password, org = "roundtrip", "roundtrip-pw-1", "clients"
		admin := srv.initialize(t, user, password, "roundtrip@example.com")
		expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
		r := admin.call("PUT", "organization/"+org+"/robots/pusher", map[string]any{"description": "client round trips"})
		expect(t, r, okCreate...)
		robot := r.object(t)
		robotName, _ := robot["name"].(string)
		robotToken, _ := robot["token"].(string)
		if robotName != org+"+pusher" || robotToken == "" {
			t.Fatalf("%s: want name %s+pusher and a token", r, org)
		}
		// A robot has only what its teams and grants give it: an admin team
		// lets it push every repository of the organization.
		expect(t, admin.call("PUT", "organization/"+org+"/team/robots", map[string]any{"role": "admin"}), 200)
		expect(t, admin.call("PUT", "organization/"+org+"/team/robots/members/"+robotName, map[string]any{}), 200)
		host := strings.TrimPrefix(srv.URL, "http://")
		creds := []struct{ kind, user, secret, namespace string }{
			{"password", user, password, user},
			{"robot", robotName, robotToken, org},
		}
		for _, client := range roundTripClients {
			for _, cr := range creds {
				t.Run(client.name+"/"+cr.kind, func(t *testing.T) {
					t.Parallel()
					start := time.Now()
					client.run(&roundTrip{host: host, user: cr.user, secret: cr.secret,
						repo: cr.namespace + "/" + client.name + "-" + cr.kind,
						sb:   newSandbox(t, host, cr.secret), reg: newRegistryClient(srv.URL, cr.user, cr.secret)}, t)
					t.Logf("%s as %s: %v", client.name, cr.user, time.Since(start).Round(time.Millisecond))
				})
			}
		}
	})
}

// crane pushes an OCI layout and pulls it into another.
func (rt *roundTrip) crane(t *testing.T) {
	crane := clientTool(t, "crane")
	rt.sb.dockerLogin(t, rt.user, rt.secret)
	img := newTestImage(t, "crane")
	in := rt.sb.path("in")
	writeLayout(t, in, img, "v1")
	out := rt.sb.run(t, "", "", crane, "push", "--insecure", in, rt.ref("v1"))
	if want := rt.host + "/" + rt.repo + "@" + img.digest; strings.TrimSpace(string(out)) != want {
		t.Errorf("crane push printed %q, want %q", out, want)
	}
	sameImage(t, "wharf after crane push", rt.reg.image(t, rt.repo, "v1"), img, true)
	if d := strings.TrimSpace(string(rt.sb.run(t, "", "", crane, "digest", "--insecure", rt.ref("v1")))); d != img.digest {
		t.Errorf("crane digest = %q, want %s", d, img.digest)
	}
	pulled := rt.sb.path("out")
	rt.sb.run(t, "", "", crane, "pull", "--insecure", "--format", "oci", rt.ref("v1"), pulled)
	sameImage(t, "crane pull", readLayout(t, "crane pull", pulled, ""), img, true)
}

var orasDigest = regexp.MustCompile(`(?m)^Digest: (sha256:[0-9a-f]{64})$`)

// oras pushes two files as an artifact with an artifactType and pulls them
// back.
func (rt *roundTrip) oras(t *testing.T) {
	oras := clientTool(t, "oras")
	const artifactType = "application/vnd.wharf.e2e.test.v1"
	work := rt.sb.path("work")
	files := map[string][]byte{"payload.bin": randomBytes(t, 2<<20), "notes.txt": []byte("oras round trip " + hex.EncodeToString(randomBytes(t, 8)) + "\n")}
	want := map[string]string{}
	for name, data := range files {
		if err := os.MkdirAll(work, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = sha256Hex(data)
	}
	login := []string{"--plain-http", "-u", rt.user, "--password-stdin"}
	exported := rt.sb.path("pushed-manifest.json")
	out := rt.sb.run(t, work, rt.secret, oras, append(append([]string{"push"}, login...), "--artifact-type", artifactType,
		"--export-manifest", exported, rt.ref("v1"), "payload.bin:application/vnd.wharf.e2e.payload", "notes.txt:text/plain")...)
	m := orasDigest.FindSubmatch(out)
	if m == nil {
		t.Fatalf("oras push printed no digest:\n%s", out)
	}
	pushedManifest, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if sha256Digest(pushedManifest) != string(m[1]) {
		t.Errorf("oras push reported %s, its exported manifest hashes to %s", m[1], sha256Digest(pushedManifest))
	}
	inWharf := rt.reg.image(t, rt.repo, "v1")
	if inWharf.digest != string(m[1]) || !bytes.Equal(inWharf.manifest, pushedManifest) {
		t.Errorf("wharf holds manifest %s, oras pushed %s:\n got %s\nwant %s", inWharf.digest, m[1], inWharf.manifest, pushedManifest)
	}
	if inWharf.parsed.ArtifactType != artifactType {
		t.Errorf("manifest artifactType %q, want %q", inWharf.parsed.ArtifactType, artifactType)
	}
	sameImage(t, "wharf after oras push", inWharf, &image{files: want}, false)
	fetched := rt.sb.run(t, "", rt.secret, oras, append(append([]string{"manifest", "fetch"}, login...), rt.ref("v1"))...)
	if !bytes.Equal(fetched, pushedManifest) {
		t.Errorf("oras manifest fetch returned %s, want the pushed %s", fetched, pushedManifest)
	}
	pulled := rt.sb.path("pulled")
	rt.sb.run(t, "", rt.secret, oras, append(append([]string{"pull"}, login...), "-o", pulled, rt.ref("v1"))...)
	checkTreeFiles(t, "oras pull", pulled, want)
}

// regctl copies an OCI layout to wharf and back to another layout, and gets
// each blob.
func (rt *roundTrip) regctl(t *testing.T) {
	regctl := clientTool(t, "regctl")
	host := []string{"--host", "reg=" + rt.host + ",tls=disabled,user=" + rt.user + ",pass=" + rt.secret}
	cmd := func(args ...string) []byte {
		return rt.sb.run(t, "", "", regctl, append(slices.Clone(host), args...)...)
	}
	img := newTestImage(t, "regctl")
	writeLayout(t, rt.sb.path("in"), img, "v1")
	cmd("image", "copy", "ocidir://"+rt.sb.path("in")+":v1", rt.ref("v1"))
	sameImage(t, "wharf after regctl image copy", rt.reg.image(t, rt.repo, "v1"), img, true)
	if d := strings.TrimSpace(string(cmd("image", "digest", rt.ref("v1")))); d != img.digest {
		t.Errorf("regctl image digest = %q, want %s", d, img.digest)
	}
	cmd("image", "copy", rt.ref("v1"), "ocidir://"+rt.sb.path("out")+":v1")
	sameImage(t, "regctl image copy out", readLayout(t, "regctl image copy out", rt.sb.path("out"), "v1"), img, true)
	for d, b := range img.blobs {
		if got := cmd("blob", "get", rt.host+"/"+rt.repo, d); !bytes.Equal(got, b) {
			t.Errorf("regctl blob get %s: %d bytes hashing to %s, want the pushed %d bytes", d, len(got), sha256Digest(got), len(b))
		}
	}
}

// skopeo copies an OCI layout to wharf and back to a new layout.
func (rt *roundTrip) skopeo(t *testing.T) {
	skopeo := clientTool(t, "skopeo")
	creds := rt.user + ":" + rt.secret
	img := newTestImage(t, "skopeo")
	writeLayout(t, rt.sb.path("in"), img, "v1")
	digestFile := rt.sb.path("pushed.digest")
	rt.sb.run(t, "", "", skopeo, "copy", "--policy", rt.sb.policy, "--dest-tls-verify=false", "--dest-creds", creds,
		"--digestfile", digestFile, "oci:"+rt.sb.path("in")+":v1", "docker://"+rt.ref("v1"))
	if d, _ := os.ReadFile(digestFile); strings.TrimSpace(string(d)) != img.digest {
		t.Errorf("skopeo copy --digestfile wrote %q, want %s", d, img.digest)
	}
	sameImage(t, "wharf after skopeo copy", rt.reg.image(t, rt.repo, "v1"), img, true)
	raw := rt.sb.run(t, "", "", skopeo, "inspect", "--tls-verify=false", "--creds", creds, "--raw", "docker://"+rt.ref("v1"))
	if !bytes.Equal(raw, img.manifest) {
		t.Errorf("skopeo inspect --raw = %s, want the pushed %s", raw, img.manifest)
	}
	rt.sb.run(t, "", "", skopeo, "copy", "--policy", rt.sb.policy, "--src-tls-verify=false", "--src-creds", creds,
		"docker://"+rt.ref("v1"), "oci:"+rt.sb.path("out")+":v1")
	sameImage(t, "skopeo copy out", readLayout(t, "skopeo copy out", rt.sb.path("out"), "v1"), img, true)
}

// storageFlags are podman's and buildah's global flags for a private vfs
// store named name in the sandbox.
// The run root lives in a short directory: podman refuses one longer than
// 50 characters, and t.TempDir() paths are longer.
func (rt *roundTrip) storageFlags(name string) []string {
	return []string{"--root", rt.sb.path(name, "root"), "--runroot", filepath.Join(rt.sb.short, name), "--storage-driver", "vfs"}
}

// lastLine returns the last non-empty line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// podman loads an OCI layout into a private store, pushes it to wharf as a
// Docker schema 2 image, pulls it into a second private store and reads the
// files from the pulled image.
func (rt *roundTrip) podman(t *testing.T) {
	podman := clientTool(t, "podman")
	creds := rt.user + ":" + rt.secret
	in := func(store string, args ...string) []byte {
		global := append(rt.storageFlags(store), "--tmpdir", rt.sb.path(store, "libpod"), "--events-backend", "none")
		return rt.sb.run(t, "", "", podman, append(global, args...)...)
	}
	img := newTestImage(t, "podman")
	// podman names the loaded image after the layout's path, which must
	// therefore be lower case; t.TempDir() paths are not.
	layout := filepath.Join(rt.sb.short, "in")
	writeLayout(t, layout, img, "v1")
	id := lastLine(in("push-store", "pull", "--signature-policy", rt.sb.policy, "oci:"+layout+":v1"))
	digestFile := rt.sb.path("pushed.digest")
	in("push-store", "push", "--signature-policy", rt.sb.policy, "--tls-verify=false", "--creds", creds,
		"--format", "v2s2", "--digestfile", digestFile, id, "docker://"+rt.ref("v1"))
	pushed, _ := os.ReadFile(digestFile)
	inWharf := rt.reg.image(t, rt.repo, "v1")
	if inWharf.digest != strings.TrimSpace(string(pushed)) {
		t.Errorf("wharf holds manifest %s, podman push --digestfile says %q", inWharf.digest, pushed)
	}
	if inWharf.parsed.MediaType != mtDockerV2 {
		t.Errorf("manifest mediaType %q, want %s (podman push --format v2s2)", inWharf.parsed.MediaType, mtDockerV2)
	}
	sameImage(t, "wharf after podman push", inWharf, img, false)

	pulledID := lastLine(in("pull-store", "pull", "--signature-policy", rt.sb.policy, "--tls-verify=false", "--creds", creds, rt.ref("v1")))
	var inspect []struct {
		Digest string
		RootFS struct{ Layers []string }
	}
	if err := json.Unmarshal(in("pull-store", "image", "inspect", pulledID), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v (%d images)", err, len(inspect))
	}
	if inspect[0].Digest != inWharf.digest {
		t.Errorf("podman pull: image digest %q, want %s", inspect[0].Digest, inWharf.digest)
	}
	if !slices.Equal(inspect[0].RootFS.Layers, img.diffIDs) {
		t.Errorf("podman pull: layers %v, want the pushed %v", inspect[0].RootFS.Layers, img.diffIDs)
	}
	root := strings.TrimSpace(string(in("pull-store", "image", "mount", pulledID)))
	checkTreeFiles(t, "podman pull, image mount", root, img.files)
	in("pull-store", "image", "unmount", pulledID)
}

// buildah builds an image from scratch with one file, pushes it, pulls it
// into a second private store and reads the file from a container's mount.
func (rt *roundTrip) buildah(t *testing.T) {
	buildah := clientTool(t, "buildah")
	creds := rt.user + ":" + rt.secret
	in := func(store string, args ...string) []byte {
		return rt.sb.run(t, "", "", buildah, append(rt.storageFlags(store), args...)...)
	}
	src := rt.sb.path("context")
	files := map[string][]byte{"payload.bin": randomBytes(t, 1<<20), "notes.txt": []byte("buildah round trip " + hex.EncodeToString(randomBytes(t, 8)) + "\n")}
	want := map[string]string{}
	for name, data := range files {
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want["wharf/"+name] = sha256Hex(data)
	}
	ctr := lastLine(in("build-store", "from", "--signature-policy", rt.sb.policy, "scratch"))
	in("build-store", "copy", ctr, src, "/wharf/")
	in("build-store", "config", "--label", "wharf.e2e=buildah", "--workingdir", "/wharf", ctr)
	const local = "localhost/wharf-e2e-buildah:v1"
	in("build-store", "commit", "--signature-policy", rt.sb.policy, "--format", "oci", ctr, local)
	in("build-store", "rm", ctr)
	digestFile := rt.sb.path("pushed.digest")
	in("build-store", "push", "--signature-policy", rt.sb.policy, "--tls-verify=false", "--creds", creds,
		"--digestfile", digestFile, local, "docker://"+rt.ref("v1"))
	pushed, _ := os.ReadFile(digestFile)
	inWharf := rt.reg.image(t, rt.repo, "v1")
	if inWharf.digest != strings.TrimSpace(string(pushed)) {
		t.Errorf("wharf holds manifest %s, buildah push --digestfile says %q", inWharf.digest, pushed)
	}
	if inWharf.parsed.MediaType != mtOCIManifest {
		t.Errorf("manifest mediaType %q, want %s", inWharf.parsed.MediaType, mtOCIManifest)
	}
	sameImage(t, "wharf after buildah push", inWharf, &image{files: want}, false)

	pulledID := lastLine(in("pull-store", "pull", "--signature-policy", rt.sb.policy, "--tls-verify=false", "--creds", creds, rt.ref("v1")))
	var inspect struct {
		FromImageDigest string
		Manifest        string
		OCIv1           struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
	}
	if err := json.Unmarshal(in("pull-store", "inspect", "--type", "image", pulledID), &inspect); err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	if inspect.FromImageDigest != inWharf.digest {
		t.Errorf("buildah pull: image digest %q, want %s", inspect.FromImageDigest, inWharf.digest)
	}
	if inspect.Manifest != string(inWharf.manifest) {
		t.Errorf("buildah pull: manifest %s, want the pushed %s", inspect.Manifest, inWharf.manifest)
	}
	if !slices.Equal(inspect.OCIv1.RootFS.DiffIDs, inWharf.diffIDs) {
		t.Errorf("buildah pull: diff_ids %v, want the pushed %v", inspect.OCIv1.RootFS.DiffIDs, inWharf.diffIDs)
	}
	ctr = lastLine(in("pull-store", "from", "--signature-policy", rt.sb.policy, "--pull-never", pulledID))
	root := strings.TrimSpace(string(in("pull-store", "mount", ctr)))
	checkTreeFiles(t, "buildah pull, mounted container", root, want)
	in("pull-store", "umount", ctr)
	in("pull-store", "rm", ctr)
}

// ---------------------------------------------------------------------------
// A wharf process on a given data directory, that can be killed

// wharfProc is a "wharf serve" on a data directory the test chooses, so a
// second process can take over the first one's data after a SIGKILL.
type wharfProc struct {
	*e2eServer
	mu    sync.Mutex
	ended bool // killed or stopped; the cleanup has nothing to do
}

// startWharfAt is startWharf on dataDir; the process is stopped gracefully
// at cleanup unless the test killed or stopped it already.
func startWharfAt(t *testing.T, dataDir string, env []string, args ...string) *wharfProc {
	t.Helper()
	p := &wharfProc{e2eServer: launchWharf(t, dataDir, env, args...)}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// kill9 ends the process with SIGKILL, as a crash would.
func (p *wharfProc) kill9(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		t.Fatal("kill9: the process already ended")
	}
	p.ended = true
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("wharf did not die within 10s of SIGKILL")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("wharf ended with %v, not by SIGKILL (it exited before the kill?); stderr:\n%s", p.cmd.ProcessState, p.stderr)
	}
}

// stop ends the process with SIGTERM and asserts a clean exit within 5 s
// and no error in its log (startWharf's cleanup, callable mid-test).
func (p *wharfProc) stop(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	if !p.exited(t) {
		p.terminate(t)
	}
}

// wharfCheck runs "wharf check" on dataDir with env, asserts exit 0 and
// "0 problems", and returns how many blobs it checked.
func wharfCheck(t *testing.T, dataDir string, env []string) int {
	t.Helper()
	cmd := exec.Command(e2eBinary, "check", "--data", dataDir)
	cmd.Env = childEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	m := regexp.MustCompile(`(?m)^checked (\d+) blobs: (\d+) problems$`).FindStringSubmatch(stdout.String())
	if err != nil || m == nil || m[2] != "0" {
		t.Fatalf("wharf check --data %s: %v, want exit 0 and \"0 problems\"\nstdout:\n%s\nstderr:\n%s", dataDir, err, stdout.String(), stderr.String())
	}
	t.Logf("wharf check: %s", strings.TrimSpace(stdout.String()))
	n, _ := strconv.Atoi(m[1])
	return n
}

// storedFiles lists the regular files below the data directory's blob
// storage (staging and upload areas included) with their sizes.
func storedFiles(t *testing.T, dataDir string) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	root := filepath.Join(dataDir, "storage")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a concurrent rename or prune
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				rel, _ := filepath.Rel(root, p)
				files[filepath.ToSlash(rel)] = fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return files
}

// blobFile is where the filesystem driver keeps a committed blob.
func blobFile(digest string) string {
	alg, h, _ := strings.Cut(digest, ":")
	return "blobs/" + alg + "/" + h[:2] + "/" + h
}

// setUpPushers initializes the server's first user and an organization with
// a robot, and returns registry clients for the user's password and the
// robot's token.
func setUpPushers(t *testing.T, srv *e2eServer, org string) (user, robot *registryClient) {
	t.Helper()
	const name, password = "pusher", "pusher-password-1"
	admin := srv.initialize(t, name, password, "pusher@example.com")
	expect(t, admin.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
	r := admin.call("PUT", "organization/"+org+"/robots/ci", map[string]any{"description": "e2e"})
	expect(t, r, okCreate...)
	rb := r.object(t)
	robotName, _ := rb["name"].(string)
	robotToken, _ := rb["token"].(string)
	if robotName == "" || robotToken == "" {
		t.Fatalf("%s: no robot name or token", r)
	}
	// A robot has only what its teams and grants give it: an admin team
	// lets it push every repository of the organization.
	expect(t, admin.call("PUT", "organization/"+org+"/team/robots", map[string]any{"role": "admin"}), 200)
	expect(t, admin.call("PUT", "organization/"+org+"/team/robots/members/"+robotName, map[string]any{}), 200)
	return newRegistryClient(srv.URL, name, password), newRegistryClient(srv.URL, robotName, robotToken)
}

// ---------------------------------------------------------------------------
// TestKillDuringPush

// pausingReader yields the first pauseAt bytes of src, then tells paused
// and blocks until release is closed, then fails: a client whose server
// dies mid-upload.
type pausingReader struct {
	src     io.Reader
	n       int64
	pauseAt int64
	once    sync.Once
	paused  chan struct{}
	release chan struct{}
}

func (r *pausingReader) Read(p []byte) (int, error) {
	if r.n >= r.pauseAt {
		r.once.Do(func() { close(r.paused) })
		<-r.release
		return 0, errors.New("the test stopped sending")
	}
	if rest := r.pauseAt - r.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.src.Read(p)
	r.n += int64(n)
	return n, err
}

// seededData returns size deterministic pseudo-random bytes for seed (as
// often as needed, without holding them in memory) and their digest.
func seededData(seed [32]byte, size int64) (func() io.Reader, string) {
	open := func() io.Reader { return io.LimitReader(mrand.NewChaCha8(seed), size) }
	h := sha256.New()
	io.Copy(h, open())
	return open, "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// TestKillDuringPush: wharf is SIGKILLed while a 256 MiB blob is streaming
// in; a new process on the same data directory and database shows no
// partial blob, accepts the push again from scratch, and "wharf check" is
// clean before and after.
func TestKillDuringPush(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		const size, pauseAt = 256 << 20, 128 << 20
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		first := startWharfAt(t, dataDir, env)
		user, _ := setUpPushers(t, first.e2eServer, "crashers")
		const repo = "pusher/big"
		var seed [32]byte
		rand.Read(seed[:])
		data, digest := seededData(seed, size)

		// Stream the blob in one chunked PATCH; stop sending at 128 MiB.
		loc, err := user.startUpload(context.Background(), repo)
		if err != nil {
			t.Fatal(err)
		}
		body := &pausingReader{src: data(), pauseAt: pauseAt, paused: make(chan struct{}), release: make(chan struct{})}
		patchDone := make(chan error, 1)
		go func() {
			_, err := user.patch(context.Background(), repo, loc, body, -1)
			patchDone <- err
		}()
		select {
		case <-body.paused:
		case err := <-patchDone:
			t.Fatalf("the PATCH ended before the kill: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("128 MiB were not sent within 60s")
		}
		// Kill once the server has written most of what it received.
		deadline := time.Now().Add(10 * time.Second)
		var onDisk int64
		for time.Now().Before(deadline) {
			onDisk = 0
			for _, n := range storedFiles(t, dataDir) {
				onDisk += n
			}
			if onDisk >= pauseAt/2 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		t.Logf("SIGKILL with %d MiB of the upload on disk", onDisk>>20)
		first.kill9(t)
		close(body.release)
		if err := <-patchDone; err == nil {
			t.Errorf("the PATCH succeeded although the server was killed")
		}
		t.Logf("storage after the kill: %v", storedFiles(t, dataDir))
		if _, ok := storedFiles(t, dataDir)[blobFile(digest)]; ok {
			t.Errorf("after the kill storage holds %s: a partial blob", blobFile(digest))
		}
		wharfCheck(t, dataDir, env)

		// A new process on the same data and database.
		second := startWharfAt(t, dataDir, env)
		user = newRegistryClient(second.URL, user.user, user.secret)
		for _, method := range []string{"HEAD", "GET"} {
			if r := user.mustExchange(t, method, repo, "/v2/"+repo+"/blobs/"+digest, nil, 0, nil); r.Status != 404 {
				t.Errorf("after restart %s /v2/%s/blobs/%s → %d, want 404 (the upload never finished)", method, repo, digest, r.Status)
			}
		}
		if r := user.mustExchange(t, "GET", repo, loc, nil, 0, nil); r.Status == 204 {
			t.Logf("the interrupted upload session survives: Range %s", r.Header.Get("Range"))
		} else {
			t.Logf("the interrupted upload session: %d", r.Status)
		}
		// Closing the interrupted session with the full blob's digest must
		// not turn whatever it holds into the blob.
		if r, err := user.finish(context.Background(), repo, loc, digest); err != nil {
			t.Fatal(err)
		} else if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: closing the interrupted upload with the whole blob's digest, want a 4xx", r)
		}
		if r := user.mustExchange(t, "HEAD", repo, "/v2/"+repo+"/blobs/"+digest, nil, 0, nil); r.Status != 404 {
			t.Errorf("after closing the interrupted upload, HEAD the blob → %d, want 404", r.Status)
		}
		start := time.Now()
		if err := user.pushBlob(context.Background(), repo, digest, data(), -1); err != nil {
			t.Fatalf("push again after the restart: %v", err)
		}
		t.Logf("pushed 256 MiB again in %v", time.Since(start).Round(time.Millisecond))
		r := user.mustExchange(t, "HEAD", repo, "/v2/"+repo+"/blobs/"+digest, nil, 0, nil)
		if r.Status != 200 || r.Header.Get("Content-Length") != strconv.Itoa(size) || r.Header.Get("Docker-Content-Digest") != digest {
			t.Errorf("HEAD the blob → %d Content-Length %q Docker-Content-Digest %q, want 200, %d, %s",
				r.Status, r.Header.Get("Content-Length"), r.Header.Get("Docker-Content-Digest"), size, digest)
		}
		resp, err := user.do(context.Background(), "GET", repo, "/v2/"+repo+"/blobs/"+digest, nil, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); err != nil || resp.StatusCode != 200 || got != digest || n != size {
			t.Errorf("GET the blob → %d, %d bytes hashing to %s (%v), want 200, %d bytes, %s", resp.StatusCode, n, got, err, size, digest)
		}
		// A manifest that uses it, so that the check has something to check.
		config := []byte("{}")
		if err := user.pushBlob(context.Background(), repo, sha256Digest(config), bytes.NewReader(config), int64(len(config))); err != nil {
			t.Fatal(err)
		}
		manifest, _ := json.Marshal(imageManifest{SchemaVersion: 2, MediaType: mtOCIManifest, ArtifactType: "application/vnd.wharf.e2e.big",
			Config: ociDescriptor{MediaType: mtOCIEmpty, Digest: sha256Digest(config), Size: int64(len(config))},
			Layers: []ociDescriptor{{MediaType: "application/octet-stream", Digest: digest, Size: size}}})
		r = user.mustExchange(t, "PUT", repo, "/v2/"+repo+"/manifests/v1", bytes.NewReader(manifest), int64(len(manifest)),
			map[string]string{"Content-Type": mtOCIManifest})
		if r.Status != 201 {
			t.Fatalf("%s: want 201", r)
		}
		files := storedFiles(t, dataDir)
		if files[blobFile(digest)] != size {
			t.Errorf("storage: %s has %d bytes, want %d", blobFile(digest), files[blobFile(digest)], size)
		}
		t.Logf("storage after the second push: %v", files)
		second.stop(t)
		if n := wharfCheck(t, dataDir, env); n < 2 {
			t.Errorf("wharf check checked %d blobs, want at least the 2 the manifest uses", n)
		}
	})
}

// ---------------------------------------------------------------------------
// TestConcurrentSameBlob

// TestConcurrentSameBlob: a user and a robot push the same 32 MiB blob at
// the same moment, once as chunked uploads to one repository (both PATCHes,
// then both closing PUTs together) and once as monolithic POSTs to two
// repositories. Every push succeeds, each repository serves the blob, and
// storage holds it once.
func TestConcurrentSameBlob(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine db.Dialect) {
		const size = 32 << 20
		dataDir, env := t.TempDir(), engineEnv(t, engine)
		srv := startWharfAt(t, dataDir, env)
		user, robot := setUpPushers(t, srv.e2eServer, "racers")
		ctx := context.Background()

		// Round 1: chunked uploads to the same repository, PUTs together.
		blob1 := randomBytes(t, size)
		d1 := sha256Digest(blob1)
		const shared = "racers/shared"
		var wg sync.WaitGroup
		errs := make([]error, 2)
		ready := make(chan struct{}, 2)
		gate := make(chan struct{})
		for i, c := range []*registryClient{user, robot} {
			wg.Go(func() {
				ok := false
				defer func() {
					if !ok {
						ready <- struct{}{}
					}
				}()
				loc, err := c.startUpload(ctx, shared)
				if err != nil {
					errs[i] = err
					return
				}
				if loc, err = c.patch(ctx, shared, loc, bytes.NewReader(blob1), size); err != nil {
					errs[i] = err
					return
				}
				ok = true
				ready <- struct{}{}
				<-gate
				r, err := c.finish(ctx, shared, loc, d1)
				if err == nil {
					err = blobCreatedOK(r, d1)
				}
				errs[i] = err
			})
		}
		<-ready
		<-ready
		close(gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round 1 (same repository), %s: %v", []string{"user", "robot"}[i], err)
			}
		}

		// Round 2: monolithic POST ?digest= to two repositories at once.
		blob2 := randomBytes(t, size)
		d2 := sha256Digest(blob2)
		repos := []string{"pusher/solo", "racers/other"}
		gate = make(chan struct{})
		for i, c := range []*registryClient{user, robot} {
			if _, err := c.token(repos[i]); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-gate
				r, err := c.exchange(ctx, "POST", repos[i], "/v2/"+repos[i]+"/blobs/uploads/?digest="+url.QueryEscape(d2),
					bytes.NewReader(blob2), size, map[string]string{"Content-Type": "application/octet-stream"})
				if err == nil {
					err = blobCreatedOK(r, d2)
				}
				errs[i] = err
			})
		}
		close(gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round 2 (monolithic, %s): %v", repos[i], err)
			}
		}

		// Each repository serves its blob, byte for byte.
		for _, c := range []struct {
			client *registryClient
			repo   string
			digest string
		}{{user, shared, d1}, {robot, shared, d1}, {user, repos[0], d2}, {robot, repos[1], d2}} {
			r := c.client.mustExchange(t, "GET", c.repo, "/v2/"+c.repo+"/blobs/"+c.digest, nil, 0, nil)
			if r.Status != 200 || sha256Digest(r.Body) != c.digest {
				t.Errorf("GET /v2/%s/blobs/%s as %s → %d, %d bytes hashing to %s", c.repo, c.digest, c.client.user, r.Status, len(r.Body), sha256Digest(r.Body))
			}
		}

		// One stored copy of each: the committed file, and no other file
		// of that size anywhere in storage (uploads, staging).
		files := storedFiles(t, dataDir)
		for _, d := range []string{d1, d2} {
			if files[blobFile(d)] != size {
				t.Errorf("storage: %s has %d bytes, want %d", blobFile(d), files[blobFile(d)], size)
			}
		}
		var copies []string
		for name, n := range files {
			if n == size {
				copies = append(copies, name)
			}
		}
		slices.Sort(copies)
		if len(copies) != 2 {
			t.Errorf("storage holds %d files of %d bytes, want 2 (one per blob): %v", len(copies), size, copies)
		}
		srv.stop(t)
		wharfCheck(t, dataDir, env)
	})
}
