package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/storagetest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// The S3 tests run against the server WHARF_TEST_S3 names, e.g.
// http://KEY:SECRET@127.0.0.1:8333/bucket[/root][?region=…], which
// scripts/test-s3.sh starts and prints. Each driver gets a fresh random root
// directory in that bucket and removes it afterwards.
const testEnv = "WHARF_TEST_S3"

func TestDriver(t *testing.T) {
	testConfig(t) // fail or skip once, not in every subtest
	storagetest.RunDriverSuite(t, func(t *testing.T) storage.Driver {
		return newTestDriver(t, 0)
	})
}

// TestS3 checks what the suite cannot see: multipart uploads resumed across
// parts, server-side multipart copy, purging, and bounded memory.
func TestS3(t *testing.T) {
	testConfig(t)
	t.Run("resume across parts", testResumeAcrossParts)
	t.Run("cancel a resumed multipart upload", testCancelResumed)
	t.Run("multipart copy", testMultipartCopy)
	t.Run("purge staging", testPurgeStaging)
	t.Run("memory stays bounded", testMemoryBounded)
}

var notRunOnce sync.Once

// testConfig reads WHARF_TEST_S3. Without it the S3 tests fail: no run may
// pass without a real S3 server. Outside CI (CI unset), WHARF_ALLOW_SKIP=1
// skips them instead, saying so.
func testConfig(t testing.TB) Config {
	t.Helper()
	raw := os.Getenv(testEnv)
	if raw == "" {
		why := fmt.Sprintf("%s is not set, so the S3 suite cannot run against a real S3 server: "+
			"start one with %s=$(scripts/test-s3.sh)", testEnv, testEnv)
		if os.Getenv("CI") != "" || os.Getenv("WHARF_ALLOW_SKIP") != "1" {
			t.Fatalf("%s (outside CI, WHARF_ALLOW_SKIP=1 skips it)", why)
		}
		notRunOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "\n*** S3 suite NOT run (WHARF_ALLOW_SKIP=1): %s ***\n\n", why)
		})
		t.Skipf("*** NOT RUNNING (WHARF_ALLOW_SKIP=1): %s ***", why)
	}
	cfg, err := parseTestURL(raw)
	if err != nil {
		t.Fatalf("%s: %v", testEnv, err)
	}
	return cfg
}

// parseTestURL turns http[s]://KEY:SECRET@HOST:PORT/BUCKET[/ROOT][?region=R]
// into a Config.
func parseTestURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return Config{}, fmt.Errorf("want http[s]://KEY:SECRET@HOST:PORT/BUCKET, got scheme %q host %q", u.Scheme, u.Host)
	}
	bucket, root, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if bucket == "" {
		return Config{}, fmt.Errorf("no bucket in the URL path")
	}
	secret, _ := u.User.Password()
	return Config{
		Endpoint:      u.Scheme + "://" + u.Host,
		Region:        u.Query().Get("region"),
		Bucket:        bucket,
		AccessKey:     u.User.Username(),
		SecretKey:     secret,
		RootDirectory: root,
	}, nil
}

// newTestDriver returns a driver rooted in a fresh directory of the test
// bucket, removed with everything below it when the test ends.
func newTestDriver(t testing.TB, partSize int64) *Driver {
	t.Helper()
	cfg := testConfig(t)
	cfg.RootDirectory = path.Join(cfg.RootDirectory, "wharf-test-"+rand.Text())
	cfg.PartSize = partSize
	d, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.deletePrefix(ctx, d.prefix); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, u := range openUploads(t, d) {
			d.abortUpload(ctx, aws.ToString(u.Key), aws.ToString(u.UploadId))
		}
	})
	return d
}

// openUploads lists the multipart uploads in progress below d's root.
func openUploads(t testing.TB, d *Driver) []uploadInfo {
	t.Helper()
	out, err := d.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{
		Bucket: &d.bucket, Prefix: aws.String(d.prefix),
	})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var ups []uploadInfo
	for _, u := range out.Uploads {
		ups = append(ups, uploadInfo{Key: u.Key, UploadId: u.UploadId})
	}
	return ups
}

type uploadInfo struct{ Key, UploadId *string }

// stagingObjects lists the names of d's private staging objects.
func stagingObjects(t testing.TB, d *Driver) []string {
	t.Helper()
	out, err := d.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: &d.bucket, Prefix: aws.String(d.prefix + stagingDir + "/"),
	})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var names []string
	for _, o := range out.Contents {
		names = append(names, path.Base(aws.ToString(o.Key)))
	}
	return names
}

// random returns n pseudo-random bytes determined by seed.
func random(seed byte, n int) []byte {
	b := make([]byte, n)
	rand := mrand.NewChaCha8([32]byte{seed})
	rand.Read(b)
	return b
}

func mustWriter(t *testing.T, d *Driver, key string, appendTo bool) *fileWriter {
	t.Helper()
	w, err := d.Writer(t.Context(), key, appendTo)
	if err != nil {
		t.Fatalf("Writer(%q, %v): %v", key, appendTo, err)
	}
	return w.(*fileWriter)
}

// testResumeAcrossParts runs chunked uploads whose rounds end inside a
// part, exactly at a part boundary, after several parts, and with a tail
// large enough to be a part of its own, so that Close stores tails, sends
// short parts, and Writer resumes all of them.
func testResumeAcrossParts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		partSize int64
		rounds   []int
		staging  [][]string // after each Close: state, and tail if any
	}{
		{"even parts", MinPartSize, []int{12<<20 + 3, 4 << 20, 4<<20 - 3, 7},
			[][]string{{"state", "tail"}, {"state", "tail"}, {"state"}}},
		{"uneven parts", 8 << 20, []int{6 << 20, 9 << 20, 1, 3 << 20},
			[][]string{{"state"}, {"state", "tail"}, {"state", "tail"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testResume(t, newTestDriver(t, tc.partSize), tc.rounds, tc.staging)
		})
	}
}

func testResume(t *testing.T, d *Driver, rounds []int, wantStaging [][]string) {
	const key = "uploads/u1/data"
	total := 0
	for _, n := range rounds {
		total += n
	}
	data := random(1, total)
	off := 0
	for i, n := range rounds {
		w := mustWriter(t, d, key, i > 0)
		if w.Size() != int64(off) {
			t.Fatalf("round %d: resumed Size = %d, want %d", i, w.Size(), off)
		}
		if _, err := w.Write(data[off : off+n]); err != nil {
			t.Fatalf("round %d: Write: %v", i, err)
		}
		off += n
		if i == len(rounds)-1 {
			if err := w.Commit(t.Context()); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			break
		}
		if err := w.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", i, err)
		}
		var got []string
		for _, name := range stagingObjects(t, d) {
			got = append(got, strings.SplitN(name, "-", 2)[0])
		}
		if diff := cmp.Diff(wantStaging[i], got); diff != "" {
			t.Errorf("round %d: staging objects (-want +got):\n%s", i, diff)
		}
	}
	got, err := d.GetContent(t.Context(), key)
	if err != nil {
		t.Fatalf("GetContent: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("content: %d bytes, sha256 %x; want %d bytes, %x", len(got), sha256.Sum256(got), len(data), sha256.Sum256(data))
	}
	if names := stagingObjects(t, d); len(names) != 0 {
		t.Errorf("staging after Commit holds %q", names)
	}
	if ups := openUploads(t, d); len(ups) != 0 {
		t.Errorf("%d multipart uploads still open after Commit", len(ups))
	}
}

func testCancelResumed(t *testing.T) {
	d := newTestDriver(t, MinPartSize)
	w := mustWriter(t, d, "uploads/u2/data", false)
	if _, err := w.Write(random(2, 6<<20)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ups := openUploads(t, d); len(ups) != 1 {
		t.Fatalf("after Close: %d multipart uploads open, want 1", len(ups))
	}
	w = mustWriter(t, d, "uploads/u2/data", true)
	if err := w.Cancel(t.Context()); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if ups := openUploads(t, d); len(ups) != 0 {
		t.Errorf("after Cancel: %d multipart uploads open, want 0", len(ups))
	}
	if names := stagingObjects(t, d); len(names) != 0 {
		t.Errorf("staging after Cancel holds %q", names)
	}
}

// testMultipartCopy moves an object larger than one CopyObject may copy,
// with the limits lowered so the test stays small.
func testMultipartCopy(t *testing.T) {
	d := newTestDriver(t, 0)
	d.maxCopySize, d.copyPartSize = 6<<20, MinPartSize
	data := random(3, 12<<20+1)
	if err := d.PutContent(t.Context(), "uploads/u3/data", data); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(t.Context(), "uploads/u3/data", "blobs/sha256/ab/ab01"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	got, err := d.GetContent(t.Context(), "blobs/sha256/ab/ab01")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("moved content: %d bytes, %v; want the %d bytes put", len(got), err, len(data))
	}
	if _, err := d.Stat(t.Context(), "uploads"); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("Stat(uploads) after Move = %v, want NotFound", err)
	}
}

// testPurgeStaging leaves one closed upload and one that a crashed process
// never closed; fresh ones stay, old ones go.
func testPurgeStaging(t *testing.T) {
	d := newTestDriver(t, MinPartSize)
	ctx := t.Context()
	closed := mustWriter(t, d, "uploads/closed/data", false)
	closed.Write(random(4, 6<<20))
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	crashed := mustWriter(t, d, "uploads/crashed/data", false)
	crashed.Write(random(5, 6<<20))
	if err := crashed.finishParts(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := d.PurgeStaging(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeStaging(an hour ago) = %d, %v; want 0 removed", n, err)
	}
	// state + tail + upload of the closed writer, upload of the crashed one
	if n, err := d.PurgeStaging(ctx, time.Now().Add(time.Minute)); err != nil || n != 4 {
		t.Errorf("PurgeStaging(now) = %d, %v; want 4 removed", n, err)
	}
	if _, err := d.Writer(ctx, "uploads/closed/data", true); !wharf.IsCode(err, wharf.NotFound) {
		t.Errorf("Writer(appendTo) after purge = %v, want NotFound", err)
	}
	if ups := openUploads(t, d); len(ups) != 0 {
		t.Errorf("%d multipart uploads open after purge, want 0", len(ups))
	}
	crashed.release()
}

// testMemoryBounded streams 64 MiB through a writer in 32 KiB writes, as an
// HTTP body copy does, and samples the heap: a writer holds at most
// partsInFlight+1 part buffers, whatever the size of the blob.
func testMemoryBounded(t *testing.T) {
	const size, chunk = 64 << 20, 32 << 10
	d := newTestDriver(t, 0)
	buf := random(6, chunk)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	w := mustWriter(t, d, "blobs/big", false)
	for written := 0; written < size; written += chunk {
		if _, err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
		if written%(1<<20) == 0 {
			sample()
		}
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	sample()
	grew := int64(peak) - int64(base)
	t.Logf("heap in use grew by at most %.1f MiB writing %d MiB with %d MiB parts", float64(grew)/(1<<20), size>>20, d.partSize>>20)
	// The parts in flight, the one filling, and one more for the SDK and
	// garbage: half the blob here, and the same for a blob of any size.
	if limit := (partsInFlight + 2) * d.partSize; grew > limit && !raceEnabled {
		t.Errorf("heap in use grew by %d bytes writing %d; want at most %d", grew, size, limit)
	}
	fi, err := d.Stat(t.Context(), "blobs/big")
	if err != nil || fi.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", fi, err, size)
	}
}

// raceEnabled is set by race_test.go in builds with the race detector.
var raceEnabled bool

// BenchmarkS3Write64MiB measures a streamed upload (compare
// filesystem.BenchmarkWrite64MiB; see storagetest.BenchmarkWrite).
func BenchmarkS3Write64MiB(b *testing.B) {
	storagetest.BenchmarkWrite(b, newTestDriver(b, 0))
}

// BenchmarkS3Read64MiB measures streaming a blob out (compare
// filesystem.BenchmarkRead64MiB; see storagetest.BenchmarkRead).
func BenchmarkS3Read64MiB(b *testing.B) {
	storagetest.BenchmarkRead(b, newTestDriver(b, 0))
}
