package build_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/access"
	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fakeExec is an Executor running the test's function.
type fakeExec struct {
	run   func(ctx context.Context, job *build.Job) error
	calls atomic.Int32
}

func (e *fakeExec) Name() string { return "fake" }

func (e *fakeExec) Run(ctx context.Context, job *build.Job) error {
	e.calls.Add(1)
	return e.run(ctx, job)
}

type workerFixture struct {
	*fixture
	tokens *build.Tokens
	exec   *fakeExec
	w      *build.Worker
}

const lease = 300 * time.Millisecond

func newWorkerFixture(t *testing.T, store *db.DB) *workerFixture {
	t.Helper()
	f := newFixture(t, store)
	tokens := build.NewTokens(instanceKeys(t, store, "secret"), store.Builds, time.Now)
	reg, err := url.Parse("http://127.0.0.1:1")
	must(t, err)
	exec := &fakeExec{run: func(context.Context, *build.Job) error { return errors.New("no executor set") }}
	w := &build.Worker{Store: store.Builds, Requesters: access.New(struct {
		*db.Accounts
		*db.Registry
		*db.Tenancy
	}{store.Accounts, store.Registry, store.Tenancy}, identity.Policy{}), Files: f.svc, Exec: exec, Tokens: tokens, URLs: f.urls,
		Registry: build.RegistryEndpoint{URL: reg, ServerHostname: serverHostname}, Name: "test-worker/0", ScratchDir: t.TempDir(),
		Timeout: time.Minute, MaxBytes: 1 << 20, Lease: lease, Poll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	return &workerFixture{fixture: f, tokens: tokens, exec: exec, w: w}
}

// queue starts a build of req, from archive when given, and claims it for
// the worker.
func (wf *workerFixture) queue(req build.Request, archive []byte) *wharf.Build {
	wf.t.Helper()
	if archive != nil {
		req.FileID = &wf.upload(archive).UUID
	}
	b := wf.start(req)
	claimed, err := wf.store.Builds.ClaimBuild(context.Background(), wf.w.Name, wf.w.Lease)
	must(wf.t, err)
	if claimed == nil || claimed.UUID != b.UUID {
		wf.t.Fatalf("claimed %+v, want %s", claimed, b.UUID)
	}
	return claimed
}

// wantScratchEmpty checks that the worker left nothing behind.
func (wf *workerFixture) wantScratchEmpty() {
	wf.t.Helper()
	left, err := os.ReadDir(wf.w.ScratchDir)
	must(wf.t, err)
	if len(left) != 0 {
		wf.t.Fatalf("the scratch directory holds %v after the build", left)
	}
}

// wantFinished checks a build ended in phase with errMsg, logged once
// with Quay's metadata.
func (wf *workerFixture) wantFinished(b *wharf.Build, phase, errMsg string) {
	wf.t.Helper()
	got := wf.load(b.UUID)
	if got.Phase != phase || got.Error != errMsg || got.CompletedAt.IsZero() || got.Worker != "" {
		wf.t.Fatalf("build: phase %q error %q completed %v worker %q; want %s, %q", got.Phase, got.Error, got.CompletedAt, got.Worker, phase, errMsg)
	}
	kind, meta := "build_success", map[string]any{"build_id": b.UUID, "docker_tags": []any{"latest"}, "repo": "app", "namespace": "alice",
		"manual_user": "alice"}
	other := "build_failure"
	if phase != wharf.PhaseComplete {
		kind, other, meta["error"] = "build_failure", "build_success", errMsg
	}
	entries := wf.actions(kind)
	if len(entries) != 1 || len(wf.actions(other)) != 0 {
		wf.t.Fatalf("%d %s entries and %d %s entries, want 1 and 0", len(entries), kind, len(wf.actions(other)), other)
	}
	noDiff(wf.t, kind+" metadata", meta, entries[0].Metadata)
	if entries[0].Account.ID != wf.alice.ID {
		wf.t.Fatalf("%s filed under %+v, want alice", kind, entries[0].Account)
	}
}

func TestRunBuildSucceeds(t *testing.T) {
	const dockerfile = "FROM scratch\nCOPY . /\n"
	tests := []struct {
		name     string
		files    []string // the uploaded context; nil: fetched from the archive URL
		req      build.Request
		ctxDir   string // ContextDir and Dockerfile below the unpacked context
		df       string
		fetching bool
	}{
		{name: "defaults", files: []string{"Dockerfile", dockerfile, "hello.txt", "hi"}, ctxDir: "", df: "Dockerfile"},
		{name: "subdirectory", files: []string{"sub/Dockerfile", dockerfile, "sub/hello.txt", "hi"}, req: build.Request{Subdirectory: ptr("sub")},
			ctxDir: "sub", df: "sub/Dockerfile"},
		{name: "dockerfile-path-and-context", files: []string{"a/Dockerfile.dev", dockerfile, "hello.txt", "hi"},
			req: build.Request{DockerfilePath: ptr("/a/Dockerfile.dev"), Context: ptr("/")}, ctxDir: "", df: "a/Dockerfile.dev"},
		{name: "archive-url", ctxDir: "", df: "Dockerfile", fetching: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				ctx := context.Background()
				wf := newWorkerFixture(t, store)
				var b *wharf.Build
				if tt.fetching {
					archive := wf.urls.serve("/ctx.tar.gz", tarGz(t, "Dockerfile", dockerfile, "hello.txt", "hi"))
					tt.req.ArchiveURL = &archive
					b = wf.queue(tt.req, nil)
				} else {
					b = wf.queue(tt.req, tarGz(t, tt.files...))
				}
				var job *build.Job
				wf.exec.run = func(ctx context.Context, j *build.Job) error {
					job = j
					root := filepath.Join(filepath.Dir(j.ScratchDir), "context")
					if !strings.HasPrefix(j.ContextDir, wf.w.ScratchDir+string(filepath.Separator)) ||
						j.ContextDir != filepath.Join(root, tt.ctxDir) || j.Dockerfile != filepath.Join(root, tt.df) {
						t.Errorf("job paths: context %s, Dockerfile %s, scratch %s; want context/%s and context/%s below %s",
							j.ContextDir, j.Dockerfile, j.ScratchDir, tt.ctxDir, tt.df, wf.w.ScratchDir)
					}
					if body, err := os.ReadFile(j.Dockerfile); err != nil || string(body) != dockerfile {
						t.Errorf("Dockerfile while the executor runs: %q, %v", body, err)
					}
					if body, err := os.ReadFile(filepath.Join(j.ContextDir, "hello.txt")); err != nil || string(body) != "hi" {
						t.Errorf("context file: %q, %v", body, err)
					}
					if fi, err := os.Stat(j.ScratchDir); err != nil || !fi.IsDir() {
						t.Errorf("executor scratch directory: %v", err)
					}
					r := j.Registry
					if r.Host != "127.0.0.1:1" || !r.Insecure || r.Username != auth.BuildTokenUsername || r.Repository != "alice/app" ||
						!slices.Equal(r.Tags, []string{"latest"}) || r.ServerHostname != serverHostname {
						t.Errorf("job registry %+v", r)
					}
					if tb, err := wf.tokens.Verify(ctx, r.Password); err != nil || tb.UUID != b.UUID {
						t.Errorf("the job's token verifies as %v, %v", tb, err)
					}
					if j.Build.UUID != b.UUID {
						t.Errorf("job of build %s, want %s", j.Build.UUID, b.UUID)
					}
					if p := wf.load(b.UUID).Phase; p != wharf.PhasePulling {
						t.Errorf("the executor starts in phase %s, want pulling", p)
					}
					j.Log.Command("Step 1/2 : FROM scratch")
					j.Log.Output("pulled")
					if err := j.Phase(wharf.PhaseBuilding); err != nil {
						return err
					}
					j.Log.Command("Step 2/2 : COPY . /")
					j.Log.Output("copied")
					if err := j.Phase(wharf.PhasePushing); err != nil {
						return err
					}
					j.Log.Output("Pushing 127.0.0.1:1/alice/app:latest")
					return nil
				}
				wf.w.RunBuild(ctx, b)
				if job == nil {
					t.Fatal("the executor was not called")
				}
				wf.wantFinished(b, wharf.PhaseComplete, "")
				want := []string{"phase:waiting", "phase:build-scheduled", "phase:unpacking"}
				if tt.fetching {
					want = append(want, ":Fetching "+*tt.req.ArchiveURL)
				}
				want = append(want, ":Unpacked the build context (tar.gz)", "phase:pulling",
					"command:Step 1/2 : FROM scratch", ":pulled", "phase:building",
					"command:Step 2/2 : COPY . /", ":copied", "phase:pushing",
					":Pushing 127.0.0.1:1/alice/app:latest", "phase:complete")
				noDiff(t, "build log", want, wf.buildLog(b.ID))
				wf.wantScratchEmpty()
				if _, err := os.Stat(job.ContextDir); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the context directory outlived the build: %v", err)
				}
				// The token dies with the build.
				if _, err := wf.tokens.Verify(ctx, job.Registry.Password); !wharf.IsCode(err, wharf.Unauthenticated) {
					t.Fatalf("token of the finished build: %v", err)
				}
			})
		})
	}
}

func TestRunBuildFails(t *testing.T) {
	const dockerfile = "FROM scratch\n"
	ok := func(context.Context, *build.Job) error { return nil }
	tests := []struct {
		name    string
		files   []string // an uploaded tar.gz context
		upload  []byte   // an uploaded context of other bytes
		req     build.Request
		url     string // archive URL path, not served
		exec    func(ctx context.Context, job *build.Job) error
		calls   int32
		wantMsg func(msg string) bool
	}{
		{name: "executor-error", files: []string{"Dockerfile", dockerfile},
			exec: func(_ context.Context, job *build.Job) error {
				job.Log.Output("compiling")
				return fmt.Errorf("cannot compile %s: exit status 1", job.Dockerfile)
			}, calls: 1,
			wantMsg: func(msg string) bool {
				return strings.HasPrefix(msg, "cannot compile build-") && strings.HasSuffix(msg, "/context/Dockerfile: exit status 1")
			}},
		{name: "executor-invalid", files: []string{"Dockerfile", dockerfile},
			exec: func(context.Context, *build.Job) error {
				return wharf.Errorf(wharf.Invalid, "Dockerfile: unknown instruction FOO")
			},
			calls: 1, wantMsg: func(msg string) bool { return msg == "Dockerfile: unknown instruction FOO" }},
		{name: "context-escapes", files: []string{"Dockerfile", dockerfile, "../evil", "x"}, exec: ok,
			wantMsg: func(msg string) bool { return msg == `build context entry "../evil" escapes the context` }},
		{name: "context-absolute", files: []string{"/etc/evil", "x", "Dockerfile", dockerfile}, exec: ok,
			wantMsg: func(msg string) bool { return strings.Contains(msg, "/etc/evil") && strings.Contains(msg, "absolute") }},
		{name: "context-too-large", files: []string{"Dockerfile", dockerfile, "zeros", strings.Repeat("\x00", 2<<20)}, exec: ok,
			wantMsg: func(msg string) bool { return strings.Contains(msg, "larger than the") }},
		{name: "not-an-archive", upload: []byte{0, 1, 2, 3, 0xff}, exec: ok,
			wantMsg: func(msg string) bool { return strings.Contains(msg, "neither a tar") }},
		{name: "no-dockerfile", files: []string{"README", "hi"}, exec: ok,
			wantMsg: func(msg string) bool { return msg == "Dockerfile not found at /Dockerfile" }},
		{name: "missing-subdirectory", files: []string{"Dockerfile", dockerfile}, req: build.Request{Subdirectory: ptr("sub")}, exec: ok,
			wantMsg: func(msg string) bool { return msg == "Context directory not found at /sub" }},
		{name: "archive-url-gone", url: "/gone.tar.gz", exec: ok,
			wantMsg: func(msg string) bool { return strings.Contains(msg, "the server answered 404 Not Found") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				wf := newWorkerFixture(t, store)
				wf.exec.run = tt.exec
				var b *wharf.Build
				switch {
				case tt.url != "":
					u := wf.urls.serve(tt.url, nil)
					wf.urls.mu.Lock()
					delete(wf.urls.archives, tt.url)
					wf.urls.mu.Unlock()
					tt.req.ArchiveURL = &u
					b = wf.queue(tt.req, nil)
				case tt.upload != nil:
					b = wf.queue(tt.req, tt.upload)
				default:
					b = wf.queue(tt.req, tarGz(t, tt.files...))
				}
				wf.w.RunBuild(context.Background(), b)
				if n := wf.exec.calls.Load(); n != tt.calls {
					t.Fatalf("the executor ran %d times, want %d", n, tt.calls)
				}
				got := wf.load(b.UUID)
				if !tt.wantMsg(got.Error) || strings.Contains(got.Error, wf.w.ScratchDir) {
					t.Fatalf("build error %q", got.Error)
				}
				wf.wantFinished(b, wharf.PhaseError, got.Error)
				log := wf.buildLog(b.ID)
				if tail := log[len(log)-2:]; !slices.Equal(tail, []string{"error:" + got.Error, "phase:error"}) {
					t.Fatalf("build log ends with %q", tail)
				}
				wf.wantScratchEmpty()
			})
		})
	}
}

func TestRunBuildTimeout(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		wf := newWorkerFixture(t, store)
		wf.w.Timeout = 200 * time.Millisecond
		b := wf.queue(build.Request{}, tarGz(t, "Dockerfile", "FROM scratch\n"))
		wf.exec.run = func(ctx context.Context, job *build.Job) error {
			<-ctx.Done()
			return ctx.Err()
		}
		start := time.Now()
		wf.w.RunBuild(context.Background(), b)
		if took := time.Since(start); took > 5*time.Second || wf.exec.calls.Load() != 1 {
			t.Fatalf("RunBuild took %s, the executor ran %d times", took, wf.exec.calls.Load())
		}
		wf.wantFinished(b, wharf.PhaseError, "the build took longer than BUILD_TIMEOUT (200ms)")
		wf.wantScratchEmpty()
	})
}

func TestRunBuildCancelled(t *testing.T) {
	tests := []struct {
		name string
		// waitCtx: the executor stops when its context is done, else as
		// soon as the test has cancelled the build.
		waitCtx bool
	}{
		{"executor-waits-for-its-context", true},
		{"executor-pushes-right-after-the-cancel", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				ctx := context.Background()
				wf := newWorkerFixture(t, store)
				b := wf.queue(build.Request{}, tarGz(t, "Dockerfile", "FROM scratch\n"))
				running, cancelled := make(chan struct{}), make(chan struct{})
				var ctxErr, pushErr error
				wf.exec.run = func(ctx context.Context, job *build.Job) error {
					if err := job.Phase(wharf.PhaseBuilding); err != nil {
						return err
					}
					close(running)
					if tt.waitCtx {
						<-ctx.Done()
						ctxErr = ctx.Err()
					} else {
						<-cancelled
					}
					pushErr = job.Phase(wharf.PhasePushing)
					if pushErr != nil {
						return pushErr
					}
					return errors.New("pushed a cancelled build")
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					wf.w.RunBuild(ctx, b)
				}()
				select {
				case <-running:
				case <-time.After(10 * time.Second):
					t.Fatal("the executor did not start")
				}
				must(t, wf.svc.Cancel(ctx, wf.actor(), b))
				cancelledAt := time.Now()
				close(cancelled)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("RunBuild did not return after a cancel")
				}
				if took := time.Since(cancelledAt); took > 5*lease {
					t.Fatalf("RunBuild returned %s after the cancel, want within a few leases (%s)", took, lease)
				}
				if tt.waitCtx && !errors.Is(ctxErr, context.Canceled) {
					t.Fatalf("the executor's context ended with %v, want cancelled", ctxErr)
				}
				if pushErr == nil {
					t.Fatal("job.Phase(pushing) after a cancel succeeded")
				}
				got := wf.load(b.UUID)
				if got.Phase != wharf.PhaseCancelled || got.Error != "" {
					t.Fatalf("build is %s (%q), want cancelled", got.Phase, got.Error)
				}
				log := wf.buildLog(b.ID)
				if log[len(log)-1] != "phase:cancelled" || slices.Contains(log, "phase:pushing") {
					t.Fatalf("build log %q, want it to end at the cancel", log)
				}
				if n, m := len(wf.actions("build_success")), len(wf.actions("build_failure")); n+m != 0 {
					t.Fatalf("a cancelled build logged %d build_success and %d build_failure entries", n, m)
				}
				wf.wantScratchEmpty()
			})
		})
	}
}

// TestRunBuildRequesterGone replays the report: a build whose requester
// was disabled still reached pushing. Every phase change re-judges the
// requester; a disabled or deleted one stops the build with a clear error
// before it pushes.
func TestRunBuildRequesterGone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, store *db.DB, alice *wharf.Account)
	}{
		{"disabled", func(t *testing.T, store *db.DB, alice *wharf.Account) {
			disabled := *alice
			disabled.Enabled = false
			must(t, store.Accounts.UpdateAccount(context.Background(), alice, &disabled))
		}},
		{"deleted", func(t *testing.T, store *db.DB, alice *wharf.Account) {
			must(t, store.Accounts.DeleteAccount(context.Background(), alice.ID))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				wf := newWorkerFixture(t, store)
				b := wf.queue(build.Request{}, tarGz(t, "Dockerfile", "FROM scratch\n"))
				var pushErr error
				wf.exec.run = func(ctx context.Context, job *build.Job) error {
					must(t, job.Phase(wharf.PhaseBuilding))
					tc.revoke(t, store, wf.alice)
					pushErr = job.Phase(wharf.PhasePushing)
					return pushErr
				}
				wf.w.RunBuild(context.Background(), b)
				if pushErr == nil || !strings.Contains(pushErr.Error(), "may no longer push to alice/app") {
					t.Fatalf("job.Phase(pushing) for a %s requester: %v", tc.name, pushErr)
				}
				if tc.name == "deleted" {
					return // the namespace and its builds went with alice
				}
				got := wf.load(b.UUID)
				if got.Phase != wharf.PhaseError || !strings.Contains(got.Error, "The build was stopped: alice may no longer push to alice/app") {
					t.Fatalf("build is %s (%q), want an error naming the requester", got.Phase, got.Error)
				}
				if slices.Contains(wf.buildLog(b.ID), "phase:pushing") {
					t.Fatal("the build reached pushing")
				}
			})
		})
	}
}

// TestRunBuildShutdown: a worker shutting down gives its build back to the
// queue at once, with the try its claim used, for another worker.
func TestRunBuildShutdown(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		wf := newWorkerFixture(t, store)
		b := wf.queue(build.Request{}, tarGz(t, "Dockerfile", "FROM scratch\n"))
		parent, stop := context.WithCancel(context.Background())
		wf.exec.run = func(ctx context.Context, job *build.Job) error {
			stop()
			<-ctx.Done()
			return ctx.Err()
		}
		wf.w.RunBuild(parent, b)
		got := wf.load(b.UUID)
		if got.Phase != wharf.PhaseWaiting || got.Worker != "" || !got.CompletedAt.IsZero() || got.RetriesRemaining != build.RetriesPerBuild {
			t.Fatalf("after a shutdown the build is %s held by %q with %d retries (completed %v); want waiting, free, %d retries",
				got.Phase, got.Worker, got.RetriesRemaining, got.CompletedAt, build.RetriesPerBuild)
		}
		wf.wantScratchEmpty()
		next, err := store.Builds.ClaimBuild(context.Background(), "next-worker", time.Minute)
		must(t, err)
		if next == nil || next.UUID != b.UUID {
			t.Fatalf("the given-back build was not claimable: %+v", next)
		}
	})
}

func TestReap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		logger := slog.New(slog.DiscardHandler)
		dead := f.start(build.Request{FileID: &file.UUID})
		live := f.start(build.Request{FileID: &file.UUID})
		claimAs := func(worker string, lease time.Duration, want string) {
			t.Helper()
			b, err := store.Builds.ClaimBuild(ctx, worker, lease)
			must(t, err)
			if b == nil || b.UUID != want {
				t.Fatalf("%s claimed %+v, want %s", worker, b, want)
			}
		}
		claimAs("dead", time.Millisecond, dead.UUID)
		claimAs("live", time.Minute, live.UUID)
		time.Sleep(20 * time.Millisecond)

		for retries := build.RetriesPerBuild - 1; retries > 0; retries-- {
			t.Run(fmt.Sprintf("requeued-with-%d-retries", retries), func(t *testing.T) {
				must(t, build.Reap(ctx, store.Builds, logger))
				got := f.load(dead.UUID)
				if got.Phase != wharf.PhaseWaiting || got.Worker != "" || !got.LeaseUntil.IsZero() || got.RetriesRemaining != retries || got.Error != "" {
					t.Fatalf("lapsed build: %s held by %q until %v, %d retries, error %q", got.Phase, got.Worker, got.LeaseUntil, got.RetriesRemaining, got.Error)
				}
				log := f.buildLog(dead.ID)
				if tail := log[len(log)-2:]; !slices.Equal(tail, []string{"error:The build worker stopped responding; the build was queued again", "phase:waiting"}) {
					t.Fatalf("build log ends with %q", tail)
				}
				claimAs("dead", time.Millisecond, dead.UUID)
				time.Sleep(20 * time.Millisecond)
			})
		}
		t.Run("expired", func(t *testing.T) {
			must(t, build.Reap(ctx, store.Builds, logger))
			got := f.load(dead.UUID)
			const msg = "The build worker stopped responding and the build has no retries left"
			if got.Phase != wharf.PhaseInternalError || got.Error != msg || got.CompletedAt.IsZero() {
				t.Fatalf("expired build: %s, error %q, completed %v", got.Phase, got.Error, got.CompletedAt)
			}
			if phase, _ := build.Status(got, time.Now()); phase != "expired" {
				t.Fatalf("Status of the expired build: %s", phase)
			}
			entries := f.actions("build_failure")
			if len(entries) != 1 {
				t.Fatalf("%d build_failure entries, want 1", len(entries))
			}
			noDiff(t, "build_failure metadata", map[string]any{"build_id": dead.UUID, "docker_tags": []any{"latest"}, "repo": "app",
				"namespace": "alice", "manual_user": "alice", "error": msg}, entries[0].Metadata)
		})
		if got := f.load(live.UUID); got.Phase != wharf.PhaseScheduled || got.Worker != "live" {
			t.Fatalf("the build with a live lease was taken: %s held by %q", got.Phase, got.Worker)
		}
	})
}

// TestWorkerRun: Run claims queued builds and runs them until stopped.
func TestWorkerRun(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		wf := newWorkerFixture(t, store)
		file := wf.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		wf.exec.run = func(context.Context, *build.Job) error { return nil }
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			wf.w.Run(ctx)
		}()
		b1 := wf.start(build.Request{FileID: &file.UUID})
		b2 := wf.start(build.Request{FileID: &file.UUID})
		deadline := time.Now().Add(10 * time.Second)
		for wf.load(b1.UUID).Phase != wharf.PhaseComplete || wf.load(b2.UUID).Phase != wharf.PhaseComplete {
			if time.Now().After(deadline) {
				t.Fatalf("builds not complete: %s, %s", wf.load(b1.UUID).Phase, wf.load(b2.UUID).Phase)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return once stopped")
		}
		if n := wf.exec.calls.Load(); n != 2 {
			t.Fatalf("the executor ran %d times, want 2", n)
		}
	})
}

// slowLogStore delays writing the build-log batch holding marker.
type slowLogStore struct {
	*db.Builds
	marker string
}

func (s slowLogStore) AppendBuildLogs(ctx context.Context, id int64, worker string, entries ...wharf.BuildLogEntry) error {
	for _, e := range entries {
		if e.Message == s.marker {
			time.Sleep(time.Second)
		}
	}
	return s.Builds.AppendBuildLogs(ctx, id, worker, entries...)
}

// TestRunBuildLogOrder: lines logged before a phase change come before it
// in the log, even when the periodic flush is writing them.
func TestRunBuildLogOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		wf := newWorkerFixture(t, store)
		wf.w.Store = slowLogStore{Builds: store.Builds, marker: "before building"}
		b := wf.queue(build.Request{}, tarGz(t, "Dockerfile", "FROM scratch\n"))
		wf.exec.run = func(ctx context.Context, job *build.Job) error {
			job.Log.Output("before building")
			time.Sleep(400 * time.Millisecond) // the periodic flush takes the line
			return job.Phase(wharf.PhaseBuilding)
		}
		wf.w.RunBuild(context.Background(), b)
		log := wf.buildLog(b.ID)
		if i, j := slices.Index(log, ":before building"), slices.Index(log, "phase:building"); i < 0 || j < 0 || i > j {
			t.Fatalf("build log %q: the line logged before the phase change comes after it", log)
		}
	})
}

// TestStatus: what clients see of a build whose worker stopped renewing
// its lease.
func TestStatus(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Minute)
	const lapsed = "The build worker stopped responding"
	tests := []struct {
		name      string
		phase     string
		errMsg    string
		lease     time.Time
		retries   int
		wantPhase string
		wantErr   string
	}{
		{"running-live-lease", wharf.PhaseBuilding, "", future, 1, wharf.PhaseBuilding, ""},
		{"running-lease-at-now", wharf.PhasePulling, "", now, 1, wharf.PhasePulling, ""},
		{"running-lapsed", wharf.PhaseBuilding, "", past, 2, wharf.PhaseInternalError, lapsed},
		{"scheduled-lapsed", wharf.PhaseScheduled, "", past, 1, wharf.PhaseInternalError, lapsed},
		{"pushing-lapsed-no-retries", wharf.PhasePushing, "", past, 0, "expired", lapsed},
		{"waiting-never-lapses", wharf.PhaseWaiting, "", past, 0, wharf.PhaseWaiting, ""},
		{"waiting-no-lease", wharf.PhaseWaiting, "", time.Time{}, 3, wharf.PhaseWaiting, ""},
		{"running-no-lease", wharf.PhaseUnpacking, "", time.Time{}, 1, wharf.PhaseUnpacking, ""},
		{"complete", wharf.PhaseComplete, "", past, 0, wharf.PhaseComplete, ""},
		{"error", wharf.PhaseError, "boom", past, 0, wharf.PhaseError, "boom"},
		{"cancelled", wharf.PhaseCancelled, "", past, 2, wharf.PhaseCancelled, ""},
		{"internalerror-retries-left", wharf.PhaseInternalError, "gone", past, 1, wharf.PhaseInternalError, "gone"},
		{"internalerror-no-retries", wharf.PhaseInternalError, "gone", time.Time{}, 0, "expired", "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &wharf.Build{Phase: tt.phase, Error: tt.errMsg, LeaseUntil: tt.lease, RetriesRemaining: tt.retries}
			phase, msg := build.Status(b, now)
			if phase != tt.wantPhase || msg != tt.wantErr {
				t.Fatalf("Status = %q, %q; want %q, %q", phase, msg, tt.wantPhase, tt.wantErr)
			}
		})
	}
}
