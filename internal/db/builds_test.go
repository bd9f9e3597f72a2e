package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// buildFixture is a user alice with a pull robot and two repositories.
type buildFixture struct {
	t           *testing.T
	store       *db.DB
	alice       *wharf.Account
	robot       *wharf.Robot
	repo, other *wharf.Repository
}

func newBuildFixture(t *testing.T, store *db.DB) *buildFixture {
	t.Helper()
	ctx := context.Background()
	f := &buildFixture{t: t, store: store, alice: newUser("alice", "alice@example.com")}
	must(t, store.Accounts.CreateAccount(ctx, f.alice, nil))
	f.robot = &wharf.Robot{Account: &wharf.Account{Name: "alice+builder", Kind: wharf.KindRobot, Enabled: true, Verified: true},
		NamespaceID: f.alice.ID, Token: "token"}
	must(t, store.Accounts.CreateRobot(ctx, f.robot))
	repo := func(name string) *wharf.Repository {
		must(t, store.Registry.CreateRepository(ctx, &wharf.Repository{NamespaceID: f.alice.ID, Name: name, Visibility: wharf.Private}, 0))
		r, err := store.Registry.RepositoryByName(ctx, "alice", name) // at the stored precision
		must(t, err)
		return r
	}
	f.repo, f.other = repo("app"), repo("other")
	return f
}

// create queues a plain build of f.repo.
func (f *buildFixture) create(uuid string, retries int) *wharf.Build {
	f.t.Helper()
	b := &wharf.Build{UUID: uuid, Repository: *f.repo, DisplayName: uuid, RetriesRemaining: retries,
		Job: wharf.BuildJob{DockerTags: []string{"latest"}, BuildSubdir: "Dockerfile"}}
	must(f.t, f.store.Builds.CreateBuild(context.Background(), b, 0))
	return b
}

// moveTo brings the freshly created build uuid to phase, claimed by worker
// where the phase needs one.
func (f *buildFixture) moveTo(uuid, worker, phase string) {
	f.t.Helper()
	ctx := context.Background()
	switch phase {
	case wharf.PhaseWaiting:
		return
	case wharf.PhaseCancelled:
		ok, err := f.store.Builds.CancelBuild(ctx, uuid)
		failIf(f.t, err != nil || !ok, "cancel: %v, %v", ok, err)
		return
	}
	claimBuild(f.t, f.store, worker, time.Minute, uuid)
	switch {
	case wharf.TerminalPhase(phase):
		must(f.t, f.store.Builds.FinishBuild(ctx, uuid, worker, phase, "failed"))
	case phase != wharf.PhaseScheduled:
		must(f.t, f.store.Builds.SetBuildPhase(ctx, uuid, worker, phase))
	}
	got := loadBuild(f.t, f.store, uuid).Phase
	failIf(f.t, got != phase, "build is %s, want %s", got, phase)
}

// claimBuild claims a build and checks it is want ("": none).
func claimBuild(t *testing.T, store *db.DB, worker string, lease time.Duration, want string) *wharf.Build {
	t.Helper()
	b, err := store.Builds.ClaimBuild(context.Background(), worker, lease)
	must(t, err)
	got := ""
	if b != nil {
		got = b.UUID
	}
	failIf(t, got != want, "%s claimed %q, want %q", worker, got, want)
	return b
}

func loadBuild(t *testing.T, store *db.DB, uuid string) *wharf.Build {
	t.Helper()
	b, err := store.Builds.BuildByUUID(context.Background(), uuid)
	must(t, err)
	return b
}

// buildLog returns build id's whole log, checking the total matches.
func buildLog(t *testing.T, store *db.DB, id int64) []wharf.BuildLogEntry {
	t.Helper()
	total, entries, err := store.Builds.BuildLogs(context.Background(), id, 0)
	must(t, err)
	failIf(t, total != len(entries), "build log total %d, but %d entries from 0", total, len(entries))
	return entries
}

func wantLog(t *testing.T, store *db.DB, id int64, want ...wharf.BuildLogEntry) {
	t.Helper()
	noDiff(t, "build log", want, buildLog(t, store, id))
}

func phaseLog(phase string) wharf.BuildLogEntry {
	return wharf.BuildLogEntry{Message: phase, Type: "phase"}
}

func actionLogs(t *testing.T, store *db.DB) []wharf.LogEntry { // newest first
	t.Helper()
	logs, err := store.Logs.ListLogs(context.Background(), wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 1000})
	must(t, err)
	return logs
}

// wantAction checks that exactly one action-log entry was added since
// there were before, of kind, with metadata key = value.
func wantAction(t *testing.T, store *db.DB, before int, kind, key, value string) {
	t.Helper()
	logs := actionLogs(t, store)
	failIf(t, len(logs) != before+1 || logs[0].Kind != kind || logs[0].Metadata[key] != value,
		"action log: %d entries (before %d), newest %+v; want one more, %s with %s=%s", len(logs), before, logs[0], kind, key, value)
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	failIf(t, !wharf.IsCode(err, wharf.NotFound), "%s: got %v, want NotFound", what, err)
}

func errOf[T any](_ T, err error) error { return err }

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	failIf(t, !wharf.IsCode(err, wharf.Conflict), "%s: got %v, want Conflict", what, err)
}

func noDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

// failIf fails the test with the message when bad holds.
func failIf(t *testing.T, bad bool, format string, args ...any) {
	t.Helper()
	if bad {
		t.Fatalf(format, args...)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// between fails unless lo <= got <= hi, at the store's microsecond precision.
func between(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	failIf(t, got.Before(lo.Truncate(time.Microsecond)) || got.After(hi), "%s = %v, want within [%v, %v]", what, got, lo, hi)
}

func TestBuildUserFiles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		for name, uploader := range map[string]int64{"with-uploader": f.alice.ID, "anonymous": 0} {
			t.Run(name, func(t *testing.T) {
				uuid, before := "file-"+name, time.Now()
				file := &wharf.UserFile{UUID: uuid, MimeType: "application/x-tar", StorageKey: "userfiles/" + uuid, UploaderID: uploader}
				must(t, store.Builds.CreateUserFile(ctx, file))
				between(t, "created_at", file.CreatedAt, before, time.Now())
				got, err := store.Builds.UserFile(ctx, uuid)
				must(t, err)
				want := wharf.UserFile{UUID: uuid, MimeType: "application/x-tar", StorageKey: "userfiles/" + uuid,
					UploaderID: uploader, CreatedAt: file.CreatedAt.Truncate(time.Microsecond), Size: -1}
				failIf(t, file.Size != -1, "size on create %d, want -1", file.Size)
				noDiff(t, "stored file", want, *got)

				sum, before := fmt.Sprintf("%064x", 42), time.Now()
				must(t, store.Builds.CompleteUserFile(ctx, uuid, "userfiles/"+uuid+".1", 42, sum))
				after := time.Now()
				got, err = store.Builds.UserFile(ctx, uuid)
				must(t, err)
				failIf(t, got.Size != 42 || got.SHA256 != sum || got.StorageKey != "userfiles/"+uuid+".1",
					"completed file: size %d sha %q key %q", got.Size, got.SHA256, got.StorageKey)
				between(t, "uploaded_at", got.UploadedAt, before, after)

				wantConflict(t, "second completion", store.Builds.CompleteUserFile(ctx, uuid, "userfiles/"+uuid+".2", 7, fmt.Sprintf("%064x", 7)))
				again, _ := store.Builds.UserFile(ctx, uuid)
				failIf(t, again.Size != 42 || again.SHA256 != sum || again.StorageKey != got.StorageKey || !again.UploadedAt.Equal(got.UploadedAt),
					"a refused completion changed the file: %+v", again)
			})
		}
		t.Run("unknown", func(t *testing.T) {
			wantNotFound(t, "unknown", errOf(store.Builds.UserFile(ctx, "nope")))
			wantNotFound(t, "completing an unknown file", store.Builds.CompleteUserFile(ctx, "nope", "userfiles/nope.1", 1, "x"))
		})
	})
}

func TestBuildCreateAndList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		file := &wharf.UserFile{UUID: "ctx-file", MimeType: "application/x-tar", StorageKey: "userfiles/ctx-file"}
		must(t, store.Builds.CreateUserFile(ctx, file))
		wantNotFound(t, "unused file", errOf(store.Builds.RepositoryOfResource(ctx, file.UUID)))
		manual, archive := "alice", "https://example.com/ctx.tar.gz"
		tests := []struct {
			name      string
			b         *wharf.Build
			wantRobot string
		}{
			{"manual-upload-robot", &wharf.Build{UUID: "b-manual", Repository: *f.repo, DisplayName: "abc123", ResourceKey: file.UUID,
				Job: wharf.BuildJob{DockerTags: []string{"latest", "v1"}, Registry: "wharf.example.com", BuildSubdir: "sub/Dockerfile",
					Context: "sub", TriggerMetadata: map[string]any{"commit": "abc123", "depth": float64(2)}, IsManual: true, ManualUser: &manual},
				PullRobot: "alice+builder", PullRobotID: f.robot.Account.ID, ManualUserID: f.alice.ID, RetriesRemaining: 3}, "alice+builder"},
			{"archive-no-robot", &wharf.Build{UUID: "b-archive", Repository: *f.repo, DisplayName: "archive", RetriesRemaining: 1,
				Job: wharf.BuildJob{DockerTags: []string{"latest"}, BuildSubdir: "Dockerfile", ArchiveURL: &archive}}, ""},
			{"newest", &wharf.Build{UUID: "b-newest", Repository: *f.repo, DisplayName: "newest", RetriesRemaining: 1}, ""},
		}
		for _, tt := range tests {
			time.Sleep(2 * time.Millisecond) // distinct start times for the since filter
			t.Run(tt.name, func(t *testing.T) {
				actions := len(actionLogs(t, store))
				must(t, store.Builds.CreateBuild(ctx, tt.b, 0, wharf.LogEntry{Kind: "build_dockerfile",
					Account: wharf.LogParty{ID: f.alice.ID, Name: "alice"}, Metadata: map[string]any{"build_uuid": tt.b.UUID}}))
				failIf(t, tt.b.ID == 0 || tt.b.Phase != wharf.PhaseWaiting, "created build: id %d phase %q", tt.b.ID, tt.b.Phase)
				want := *tt.b
				want.PullRobot = tt.wantRobot
				want.Started, want.PhaseChangedAt = tt.b.Started.Truncate(time.Microsecond), tt.b.Started.Truncate(time.Microsecond)
				noDiff(t, "stored build", &want, loadBuild(t, store, tt.b.UUID))
				wantLog(t, store, tt.b.ID, phaseLog(wharf.PhaseWaiting))
				wantAction(t, store, actions, "build_dockerfile", "build_uuid", tt.b.UUID)
			})
		}
		wantNotFound(t, "unknown build", errOf(store.Builds.BuildByUUID(ctx, "nope")))
		repo, err := store.Builds.RepositoryOfResource(ctx, file.UUID)
		failIf(t, err != nil || repo.ID != f.repo.ID || repo.Namespace != "alice", "repository of resource: %+v, %v", repo, err)
		other := &wharf.Build{UUID: "b-other", Repository: *f.other, DisplayName: "other", ResourceKey: file.UUID, RetriesRemaining: 1}
		must(t, store.Builds.CreateBuild(ctx, other, 0))
		repo, err = store.Builds.RepositoryOfResource(ctx, file.UUID)
		failIf(t, err != nil || repo.ID != f.other.ID || repo.Name != "other",
			"repository of resource after a rebuild elsewhere: %+v, %v; want alice/other", repo, err)
		wantNotFound(t, "unknown resource", errOf(store.Builds.RepositoryOfResource(ctx, "nope")))

		lists := []struct {
			name  string
			repo  int64
			limit int
			since time.Time
			want  []string
		}{
			{"newest-first", f.repo.ID, 10, time.Time{}, []string{"b-newest", "b-archive", "b-manual"}},
			{"limit", f.repo.ID, 2, time.Time{}, []string{"b-newest", "b-archive"}},
			{"since", f.repo.ID, 10, tests[1].b.Started, []string{"b-newest", "b-archive"}},
			{"since-future", f.repo.ID, 10, time.Now().Add(time.Hour), []string{}},
			{"other-repository", f.other.ID, 10, time.Time{}, []string{"b-other"}},
		}
		for _, tt := range lists {
			t.Run("list-"+tt.name, func(t *testing.T) {
				builds, err := store.Builds.ListBuilds(ctx, tt.repo, tt.limit, tt.since)
				must(t, err)
				got := []string{}
				for _, b := range builds {
					got = append(got, b.UUID)
					failIf(t, b.UUID == "b-manual" && (b.PullRobot != "alice+builder" || b.Job.ManualUser == nil || *b.Job.ManualUser != "alice"),
						"listed build lost fields: %+v", b)
				}
				noDiff(t, "listed builds", tt.want, got)
			})
		}
	})
}

func TestBuildClaim(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newBuildFixture(t, store)
		claimBuild(t, store, "w0", time.Minute, "") // empty queue
		f.create("first", 2)
		f.create("spent", 0)
		f.create("third", 1)

		before := time.Now()
		got := claimBuild(t, store, "w1", time.Minute, "first")
		after := time.Now()
		failIf(t, got.Phase != wharf.PhaseScheduled || got.Worker != "w1" || got.RetriesRemaining != 1,
			"claimed: phase %q worker %q retries %d", got.Phase, got.Worker, got.RetriesRemaining)
		between(t, "lease_until", got.LeaseUntil, before.Add(time.Minute), after.Add(time.Minute))
		between(t, "heartbeat", got.Heartbeat, before, after)
		failIf(t, !got.PhaseChangedAt.Equal(got.Heartbeat), "phase changed at %v, want the claim time %v", got.PhaseChangedAt, got.Heartbeat)
		noDiff(t, "claimed build differs from the stored one", got, loadBuild(t, store, "first"))
		wantLog(t, store, got.ID, phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled))

		b := claimBuild(t, store, "w2", time.Minute, "third")
		failIf(t, b.RetriesRemaining != 0 || b.Worker != "w2", "second claim: retries %d worker %q", b.RetriesRemaining, b.Worker)
		claimBuild(t, store, "w3", time.Minute, "") // "spent" has no retries left
		spent := loadBuild(t, store, "spent")
		failIf(t, spent.Phase != wharf.PhaseWaiting || spent.Worker != "" || spent.RetriesRemaining != 0,
			"a build without retries changed: %+v", spent)
	})
}

func TestBuildClaimExactlyOnce(t *testing.T) {
	const builds, workers = 20, 8
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		for i := range builds {
			f.create(fmt.Sprintf("b%02d", i), 1)
		}
		var mu sync.Mutex
		claims := map[string][]string{} // build → workers that claimed it
		errs := make(chan error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			name := fmt.Sprintf("worker-%d", w)
			wg.Go(func() {
				<-start
				for {
					b, err := store.Builds.ClaimBuild(ctx, name, time.Minute)
					if err != nil || b == nil {
						errs <- err
						return
					}
					mu.Lock()
					claims[b.UUID] = append(claims[b.UUID], name)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		for i := range builds {
			uuid := fmt.Sprintf("b%02d", i)
			if len(claims[uuid]) != 1 {
				t.Errorf("%s claimed by %v, want exactly one worker", uuid, claims[uuid])
				continue
			}
			b := loadBuild(t, store, uuid)
			failIf(t, b.Worker != claims[uuid][0] || b.Phase != wharf.PhaseScheduled || b.RetriesRemaining != 0,
				"%s stored as held by %q in %s with %d retries; claimed by %s", uuid, b.Worker, b.Phase, b.RetriesRemaining, claims[uuid][0])
			n := len(buildLog(t, store, b.ID))
			failIf(t, n != 2, "%s has %d log entries, want 2 (one claim)", uuid, n)
		}
		failIf(t, len(claims) != builds, "%d distinct builds claimed, want %d", len(claims), builds)
		claimBuild(t, store, "late", time.Minute, "")
	})
}

func TestBuildLeaseAndPhase(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		b := f.create("b1", 1)
		claimBuild(t, store, "w1", time.Minute, "b1")

		t.Run("renew", func(t *testing.T) {
			before := time.Now()
			must(t, store.Builds.RenewBuildLease(ctx, "b1", "w1", time.Hour))
			after := time.Now()
			got := loadBuild(t, store, "b1")
			between(t, "lease_until", got.LeaseUntil, before.Add(time.Hour), after.Add(time.Hour))
			between(t, "heartbeat", got.Heartbeat, before, after)
			for _, worker := range []string{"w2", ""} {
				wantConflict(t, "renew by "+worker, store.Builds.RenewBuildLease(ctx, "b1", worker, 2*time.Hour))
			}
			wantConflict(t, "renew unknown", store.Builds.RenewBuildLease(ctx, "nope", "w1", time.Hour))
			again := loadBuild(t, store, "b1")
			failIf(t, !again.LeaseUntil.Equal(got.LeaseUntil) || again.Worker != "w1",
				"a refused renewal changed the lease: %v held by %q", again.LeaseUntil, again.Worker)
		})

		want := []wharf.BuildLogEntry{phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled)}
		for _, phase := range []string{wharf.PhaseUnpacking, wharf.PhasePulling, wharf.PhaseBuilding, wharf.PhasePushing} {
			t.Run("phase-"+phase, func(t *testing.T) {
				before := time.Now()
				must(t, store.Builds.SetBuildPhase(ctx, "b1", "w1", phase))
				got := loadBuild(t, store, "b1")
				failIf(t, got.Phase != phase || got.Worker != "w1", "phase %q worker %q, want %q w1", got.Phase, got.Worker, phase)
				between(t, "phase_changed_at", got.PhaseChangedAt, before, time.Now())
				want = append(want, phaseLog(phase))
				wantLog(t, store, b.ID, want...)
			})
		}
		t.Run("phase-by-other", func(t *testing.T) {
			wantConflict(t, "set phase", store.Builds.SetBuildPhase(ctx, "b1", "w2", wharf.PhaseBuilding))
			got := loadBuild(t, store, "b1")
			failIf(t, got.Phase != wharf.PhasePushing, "a refused phase change moved the build to %s", got.Phase)
			wantLog(t, store, b.ID, want...)
		})
	})
}

func TestBuildCancel(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		tests := []struct {
			phase string
			want  bool
		}{
			{wharf.PhaseWaiting, true}, {wharf.PhaseScheduled, true}, {wharf.PhaseUnpacking, true},
			{wharf.PhasePulling, true}, {wharf.PhaseBuilding, true}, {wharf.PhasePushing, false},
			{wharf.PhaseComplete, false}, {wharf.PhaseError, false}, {wharf.PhaseInternalError, false},
			{wharf.PhaseCancelled, false},
		}
		for _, tt := range tests {
			t.Run(tt.phase, func(t *testing.T) {
				uuid, worker := "cancel-"+tt.phase, "w-"+tt.phase
				b := f.create(uuid, 1)
				f.moveTo(uuid, worker, tt.phase)
				before, logs, actions := loadBuild(t, store, uuid), buildLog(t, store, b.ID), len(actionLogs(t, store))
				ok, err := store.Builds.CancelBuild(ctx, uuid, wharf.LogEntry{Kind: "build_cancel", Metadata: map[string]any{"build_uuid": uuid}})
				failIf(t, err != nil || ok != tt.want, "cancel: %v, %v; want %v", ok, err, tt.want)
				got := loadBuild(t, store, uuid)
				if !tt.want {
					noDiff(t, "a refused cancel changed the build", before, got)
					wantLog(t, store, b.ID, logs...)
					n := len(actionLogs(t, store))
					failIf(t, n != actions, "a refused cancel wrote %d action-log entries", n-actions)
					return
				}
				failIf(t, got.Phase != wharf.PhaseCancelled || got.Worker != "" || !got.LeaseUntil.IsZero() || got.CompletedAt.IsZero(),
					"cancelled build: phase %q worker %q lease %v completed %v", got.Phase, got.Worker, got.LeaseUntil, got.CompletedAt)
				wantLog(t, store, b.ID, append(logs, phaseLog(wharf.PhaseCancelled))...)
				wantAction(t, store, actions, "build_cancel", "build_uuid", uuid)
				if before.Worker != "" { // the former holder may write nothing more
					wantConflict(t, "renew", store.Builds.RenewBuildLease(ctx, uuid, worker, time.Hour))
					wantConflict(t, "set phase", store.Builds.SetBuildPhase(ctx, uuid, worker, wharf.PhaseBuilding))
					wantConflict(t, "finish", store.Builds.FinishBuild(ctx, uuid, worker, wharf.PhaseComplete, ""))
					wantLog(t, store, b.ID, append(logs, phaseLog(wharf.PhaseCancelled))...)
				}
			})
		}
		ok, err := store.Builds.CancelBuild(ctx, "nope", wharf.LogEntry{Kind: "build_cancel"})
		failIf(t, ok || err != nil, "unknown build: %v, %v", ok, err)
	})
}

func TestBuildFinish(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		tests := []struct {
			phase, errMsg string
			tail          []wharf.BuildLogEntry
		}{
			{wharf.PhaseComplete, "", []wharf.BuildLogEntry{phaseLog(wharf.PhaseComplete)}},
			{wharf.PhaseError, "step 3/5: exit status 1",
				[]wharf.BuildLogEntry{{Message: "step 3/5: exit status 1", Type: "error"}, phaseLog(wharf.PhaseError)}},
		}
		for _, tt := range tests {
			t.Run(tt.phase, func(t *testing.T) {
				uuid, worker := "finish-"+tt.phase, "w-"+tt.phase
				b := f.create(uuid, 1)
				f.moveTo(uuid, worker, wharf.PhaseBuilding)
				logs, actions := buildLog(t, store, b.ID), len(actionLogs(t, store))
				entry := wharf.LogEntry{Kind: "build_" + tt.phase, Metadata: map[string]any{"build_uuid": uuid}}

				wantConflict(t, "non-holder", store.Builds.FinishBuild(ctx, uuid, "intruder", tt.phase, tt.errMsg, entry))
				got := loadBuild(t, store, uuid)
				failIf(t, got.Phase != wharf.PhaseBuilding || got.Worker != worker || len(actionLogs(t, store)) != actions,
					"a refused finish changed something: %+v", got)
				wantLog(t, store, b.ID, logs...)

				before := time.Now()
				must(t, store.Builds.FinishBuild(ctx, uuid, worker, tt.phase, tt.errMsg, entry))
				after := time.Now()
				got = loadBuild(t, store, uuid)
				failIf(t, got.Phase != tt.phase || got.Error != tt.errMsg || got.Worker != "" || !got.LeaseUntil.IsZero(),
					"finished: phase %q error %q worker %q lease %v", got.Phase, got.Error, got.Worker, got.LeaseUntil)
				between(t, "completed_at", got.CompletedAt, before, after)
				failIf(t, !got.PhaseChangedAt.Equal(got.CompletedAt), "phase changed at %v, completed at %v", got.PhaseChangedAt, got.CompletedAt)
				wantLog(t, store, b.ID, append(logs, tt.tail...)...)
				wantAction(t, store, actions, entry.Kind, "build_uuid", uuid)
				wantConflict(t, "second finish", store.Builds.FinishBuild(ctx, uuid, worker, wharf.PhaseComplete, ""))
				wantConflict(t, "renew after finish", store.Builds.RenewBuildLease(ctx, uuid, worker, time.Hour))
			})
		}
	})
}

func TestBuildExpireLeases(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		r, e, err := store.Builds.ExpireBuildLeases(ctx)
		failIf(t, r != 0 || e != 0 || err != nil, "empty store: %d, %d, %v", r, e, err)
		// The store's clock is not settable from outside the package:
		// 1ms leases and a short sleep make them lapse.
		requeue, expire := f.create("requeue", 2), f.create("expire", 1)
		f.create("renewed", 1)
		f.create("held", 1)
		claimBuild(t, store, "w-requeue", time.Millisecond, "requeue")
		claimBuild(t, store, "w-expire", time.Millisecond, "expire")
		claimBuild(t, store, "w-renewed", time.Millisecond, "renewed")
		claimBuild(t, store, "w-held", time.Hour, "held")
		must(t, store.Builds.SetBuildPhase(ctx, "expire", "w-expire", wharf.PhaseBuilding))
		time.Sleep(20 * time.Millisecond)
		must(t, store.Builds.RenewBuildLease(ctx, "renewed", "w-renewed", time.Hour)) // in time: before the reaper runs
		untouched := map[string]*wharf.Build{"renewed": loadBuild(t, store, "renewed"), "held": loadBuild(t, store, "held")}
		actions := len(actionLogs(t, store))

		before := time.Now()
		requeued, expired, err := store.Builds.ExpireBuildLeases(ctx)
		after := time.Now()
		failIf(t, err != nil || requeued != 1 || expired != 1, "expire: requeued %d, expired %d, %v; want 1, 1", requeued, expired, err)

		t.Run("requeued", func(t *testing.T) {
			const msg = "The build worker stopped responding; the build was queued again"
			got := loadBuild(t, store, "requeue")
			failIf(t, got.Phase != wharf.PhaseWaiting || got.Worker != "" || !got.LeaseUntil.IsZero() || !got.CompletedAt.IsZero() ||
				got.RetriesRemaining != 1 || got.Error != "", "requeued build (no error shown, the log tells): %+v", got)
			between(t, "phase_changed_at", got.PhaseChangedAt, before, after)
			wantLog(t, store, requeue.ID, phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled),
				wharf.BuildLogEntry{Message: msg, Type: "error"}, phaseLog(wharf.PhaseWaiting))
			wantConflict(t, "renew by the lapsed holder", store.Builds.RenewBuildLease(ctx, "requeue", "w-requeue", time.Hour))
			again := claimBuild(t, store, "w-second", time.Minute, "requeue")
			failIf(t, again.Worker != "w-second" || again.RetriesRemaining != 0 || again.Phase != wharf.PhaseScheduled, "reclaimed: %+v", again)
			wantConflict(t, "phase by the lapsed holder", store.Builds.SetBuildPhase(ctx, "requeue", "w-requeue", wharf.PhaseBuilding))
		})
		t.Run("expired", func(t *testing.T) {
			const msg = "The build worker stopped responding and the build has no retries left"
			got := loadBuild(t, store, "expire")
			failIf(t, got.Phase != wharf.PhaseInternalError || got.Worker != "" || !got.LeaseUntil.IsZero() || got.Error != msg || got.RetriesRemaining != 0,
				"expired build: %+v", got)
			between(t, "completed_at", got.CompletedAt, before, after)
			wantLog(t, store, expire.ID, phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled), phaseLog(wharf.PhaseBuilding),
				wharf.BuildLogEntry{Message: msg, Type: "error"}, phaseLog(wharf.PhaseInternalError))
			wantAction(t, store, actions, "build_failure", "build_id", "expire")
			a := actionLogs(t, store)[0]
			failIf(t, a.Account.ID != f.alice.ID || a.Account.Name != "alice", "failure entry filed under %+v", a.Account)
			failIf(t, a.Metadata["error"] != msg || a.Performer.Name != "", "failure entry %+v; want the error, no performer", a)
		})
		t.Run("untouched", func(t *testing.T) {
			for uuid, want := range untouched {
				noDiff(t, uuid+" changed", want, loadBuild(t, store, uuid))
			}
			r, e, err := store.Builds.ExpireBuildLeases(ctx)
			failIf(t, r != 0 || e != 0 || err != nil, "second pass: %d, %d, %v; want 0, 0", r, e, err)
		})
	})
}

func TestBuildLogs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		b, other := f.create("logs", 1), f.create("quiet", 1)
		entries := []wharf.BuildLogEntry{
			{Message: "FROM alpine", Type: "command", Data: map[string]any{"command": "FROM", "index": float64(1)}},
			{Message: "Pulling alpine"},
			{Message: "sha256:abc", Data: map[string]any{"status": "Downloading", "current": float64(10)}},
			{Message: "RUN make", Type: "command"},
			{Message: "ok"},
		}
		for _, batch := range [][]wharf.BuildLogEntry{entries[:2], nil, entries[2:]} {
			must(t, store.Builds.AppendBuildLogs(ctx, b.ID, "", batch...))
		}
		all := append([]wharf.BuildLogEntry{phaseLog(wharf.PhaseWaiting)}, entries...)
		tests := []struct {
			name         string
			id           int64
			start, total int
			want         []wharf.BuildLogEntry
		}{
			{"all", b.ID, 0, 6, all},
			{"from-1", b.ID, 1, 6, entries},
			{"from-4", b.ID, 4, 6, all[4:]},
			{"at-end", b.ID, 6, 6, []wharf.BuildLogEntry{}},
			{"past-end", b.ID, 99, 6, []wharf.BuildLogEntry{}},
			{"other-build", other.ID, 0, 1, []wharf.BuildLogEntry{phaseLog(wharf.PhaseWaiting)}},
			{"unknown-build", -1, 0, 0, []wharf.BuildLogEntry{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				total, got, err := store.Builds.BuildLogs(ctx, tt.id, tt.start)
				must(t, err)
				failIf(t, total != tt.total, "total %d, want %d", total, tt.total)
				noDiff(t, "entries", tt.want, got)
			})
		}
	})
}

func TestBuildLogsConcurrentAppendAndCancel(t *testing.T) {
	const rounds, appenders, perAppender = 4, 3, 15
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newBuildFixture(t, store)
		for r := range rounds {
			uuid := fmt.Sprintf("race-%d", r)
			b := f.create(uuid, 1)
			claimBuild(t, store, "w", time.Minute, uuid)
			start, errs := make(chan struct{}), make(chan error, appenders+1)
			var wg sync.WaitGroup
			for a := range appenders { // a worker's log streams
				wg.Go(func() {
					<-start
					for i := range perAppender {
						if err := store.Builds.AppendBuildLogs(ctx, b.ID, "", wharf.BuildLogEntry{Message: fmt.Sprintf("a%d-%02d", a, i)}); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Go(func() {
				<-start
				time.Sleep(time.Duration(r) * time.Millisecond)
				if ok, err := store.Builds.CancelBuild(ctx, uuid, wharf.LogEntry{Kind: "build_cancel"}); err != nil || !ok {
					errs <- fmt.Errorf("cancel: %v, %v", ok, err)
				}
			})
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("round %d: %v", r, err)
			}

			logs := buildLog(t, store, b.ID)
			want := 2 + appenders*perAppender + 1
			failIf(t, len(logs) != want, "round %d: %d entries, want %d", r, len(logs), want)
			noDiff(t, "log head", []wharf.BuildLogEntry{phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled)}, logs[:2])
			next, cancels := make([]int, appenders), 0
			for _, e := range logs[2:] {
				if e.Type == "phase" && e.Message == wharf.PhaseCancelled {
					cancels++
					continue
				}
				var a, i int
				_, err := fmt.Sscanf(e.Message, "a%d-%d", &a, &i)
				failIf(t, err != nil || a >= appenders || i != next[a], "round %d: entry %+v out of order (next per appender %v)", r, e, next)
				next[a]++
			}
			failIf(t, cancels != 1, "round %d: %d cancelled entries, want 1", r, cancels)
			// Sequence numbers run 0..n-1 without gaps: the last one alone is at n-1.
			total, tail, err := store.Builds.BuildLogs(ctx, b.ID, len(logs)-1)
			failIf(t, err != nil || total != len(logs) || len(tail) != 1,
				"round %d: from %d: total %d, %d entries, %v", r, len(logs)-1, total, len(tail), err)
		}
	})
}

func TestBuildUnusedUserFiles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		f := newBuildFixture(t, store)
		for _, id := range []string{"unused", "used", "pending"} {
			if err := store.Builds.CreateUserFile(ctx, &wharf.UserFile{UUID: id, MimeType: "application/gzip", StorageKey: "userfiles/" + id}); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.Builds.CreateBuild(ctx, &wharf.Build{UUID: "b", Repository: *f.repo, DisplayName: "b", ResourceKey: "used",
			Job: wharf.BuildJob{DockerTags: []string{"latest"}}, RetriesRemaining: 3}, 0); err != nil {
			t.Fatal(err)
		}
		if got, err := store.Builds.UnusedUserFiles(ctx, time.Now().Add(-time.Hour), 10); err != nil || len(got) != 0 {
			t.Fatalf("files created just now are not old enough: %v, %v", got, err)
		}
		got, err := store.Builds.UnusedUserFiles(ctx, time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range got {
			ids = append(ids, f.UUID)
		}
		noDiff(t, "unused files", []string{"unused", "pending"}, ids)
		for _, tc := range []struct {
			id   string
			want bool
		}{{"unused", true}, {"used", false}, {"unused", false}} {
			if ok, err := store.Builds.DeleteUnusedUserFile(ctx, tc.id); err != nil || ok != tc.want {
				t.Errorf("DeleteUnusedUserFile(%s) = %v, %v; want %v", tc.id, ok, err, tc.want)
			}
		}
		if _, err := store.Builds.UserFile(ctx, "used"); err != nil {
			t.Errorf("the used file is gone: %v", err)
		}
	})
}

func TestBuildLogsOfAWorkerThatLostTheBuild(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		f := newBuildFixture(t, store)
		b := f.create("held", 3)
		claimBuild(t, store, "w1", time.Hour, "held")
		line := wharf.BuildLogEntry{Message: "output"}
		must(t, store.Builds.AppendBuildLogs(ctx, b.ID, "w1", line))
		wantConflict(t, "another worker's lines", store.Builds.AppendBuildLogs(ctx, b.ID, "w2", line))
		ok, err := store.Builds.CancelBuild(ctx, "held")
		failIf(t, err != nil || !ok, "cancel: %v, %v", ok, err)
		wantConflict(t, "the holder's lines after the cancel", store.Builds.AppendBuildLogs(ctx, b.ID, "w1", line))
		wantLog(t, store, b.ID, phaseLog(wharf.PhaseWaiting), phaseLog(wharf.PhaseScheduled), line, phaseLog(wharf.PhaseCancelled))
	})
}

// TestBuildKeepsItsDeletedPullRobot: deleting a build's pull robot keeps
// the robot's name on the build and drops the link, so the registry gives
// the build nobody's rights rather than its requester's.
func TestBuildKeepsItsDeletedPullRobot(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := t.Context()
		f := newBuildFixture(t, store)
		b := &wharf.Build{UUID: "robot-build", Repository: *f.repo, DisplayName: "r", RetriesRemaining: 3,
			PullRobot: f.robot.Account.Name, PullRobotID: f.robot.Account.ID, ManualUserID: f.alice.ID}
		must(t, store.Builds.CreateBuild(ctx, b, 0))
		must(t, store.Accounts.DeleteAccount(ctx, f.robot.Account.ID))
		got := loadBuild(t, store, b.UUID)
		failIf(t, got.PullRobot != "alice+builder" || got.PullRobotID != 0 || got.ManualUserID != f.alice.ID,
			"after deleting the robot: robot %q (%d), manual user %d", got.PullRobot, got.PullRobotID, got.ManualUserID)
	})
}

// TestBuildLeasesUseTheDatabaseClock: on PostgreSQL lease times come from
// the database, so a process whose clock runs an hour ahead neither takes
// a healthy worker's build nor hands out leases that never lapse.
func TestBuildLeasesUseTheDatabaseClock(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		if store.Dialect() != db.Postgres {
			return // SQLite's processes share one machine and its clock
		}
		ctx := t.Context()
		f := newBuildFixture(t, store)
		f.create("skewed", 3)
		claimBuild(t, store, "w", time.Minute, "skewed")
		db.SetClock(store, func() time.Time { return time.Now().Add(time.Hour) })
		requeued, expired, err := store.Builds.ExpireBuildLeases(ctx)
		failIf(t, err != nil || requeued+expired != 0, "a clock an hour ahead expired a fresh lease: %d, %d, %v", requeued, expired, err)
		must(t, store.Builds.RenewBuildLease(ctx, "skewed", "w", time.Minute))
		got := loadBuild(t, store, "skewed")
		if d := time.Until(got.LeaseUntil); d < 30*time.Second || d > 2*time.Minute {
			t.Errorf("a renewal by a skewed process leases until %v from now, want about a minute", d)
		}
	})
}
