package build_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// hexPrefix is the name Quay gives a build of a digest.
func hexPrefix(sum []byte) string { return hex.EncodeToString(sum)[:7] }

func TestStart(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		content := tarGz(t, "Dockerfile", "FROM scratch\n")
		uploaded := f.upload(content)
		fileSum := sha256.Sum256(content)
		pending, err := f.svc.PrepareFile(ctx, f.alice, "application/gzip")
		must(t, err)
		archive := f.urls.serve("/ctx.tar.gz", content)
		urlSum := sha256.Sum224([]byte(archive))
		file := func(r build.Request) build.Request { r.FileID = &uploaded.UUID; return r }
		tag128, tag129 := "a"+strings.Repeat("b", 127), strings.Repeat("c", 129)

		tests := []struct {
			name string
			req  build.Request
			// An error, or else the build's context, Dockerfile, tags and name.
			code                wharf.Code
			msg                 string
			context, dockerfile string
			tags                []string
			display             string
		}{
			{name: "no-source", req: build.Request{}, code: wharf.Invalid, msg: "file_id or archive_url required"},
			{name: "empty-source", req: build.Request{FileID: ptr(""), ArchiveURL: ptr("")}, code: wharf.Invalid, msg: "file_id or archive_url required"},
			{name: "unknown-file", req: build.Request{FileID: ptr("00000000-0000-4000-8000-000000000000")}, code: wharf.Invalid, msg: "could not be found"},
			{name: "malformed-file-id", req: build.Request{FileID: ptr("../userfiles/x")}, code: wharf.Invalid, msg: "could not be found"},
			{name: "file-not-uploaded", req: build.Request{FileID: &pending.UUID}, code: wharf.Invalid, msg: "could not be found"},
			{name: "archive-ftp", req: build.Request{ArchiveURL: ptr("ftp://example.com/ctx.tar.gz")}, code: wharf.Invalid, msg: "Must be http or https"},
			{name: "archive-no-scheme", req: build.Request{ArchiveURL: ptr("example.com/ctx.tar.gz")}, code: wharf.Invalid, msg: "Must be http or https"},
			{name: "archive-refused-by-policy", req: build.Request{ArchiveURL: ptr("http://10.1.2.3/ctx.tar.gz")}, code: wharf.Invalid, msg: "policy refuses"},
			{name: "tags-empty", req: file(build.Request{DockerTags: []string{}}), code: wharf.Invalid, msg: "at least one tag"},
			{name: "tag-empty-string", req: file(build.Request{DockerTags: []string{""}}), code: wharf.Invalid, msg: "Invalid tag"},
			{name: "tag-leading-dot", req: file(build.Request{DockerTags: []string{".v1"}}), code: wharf.Invalid, msg: `Invalid tag ".v1"`},
			{name: "tag-leading-dash", req: file(build.Request{DockerTags: []string{"latest", "-v1"}}), code: wharf.Invalid, msg: `"-v1"`},
			{name: "tag-space", req: file(build.Request{DockerTags: []string{"v 1"}}), code: wharf.Invalid, msg: "Invalid tag"},
			{name: "tag-129-chars", req: file(build.Request{DockerTags: []string{tag129}}), code: wharf.Invalid, msg: "Invalid tag"},
			{name: "tag-duplicate", req: file(build.Request{DockerTags: []string{"v1", "latest", "v1"}}), code: wharf.Invalid, msg: `lists "v1" twice`},
			{name: "subdirectory-dotdot", req: file(build.Request{Subdirectory: ptr("../outside")}), code: wharf.Invalid, msg: "inside the build context"},
			{name: "context-dotdot", req: file(build.Request{Context: ptr("/a/../..")}), code: wharf.Invalid, msg: "context"},
			{name: "dockerfile-dotdot", req: file(build.Request{DockerfilePath: ptr("/a/../../etc/passwd")}), code: wharf.Invalid, msg: "dockerfile_path"},
			{name: "dockerfile-dotdot-with-context", req: file(build.Request{DockerfilePath: ptr("../Dockerfile"), Context: ptr("/")}), code: wharf.Invalid, msg: "dockerfile_path"},
			{name: "context-nul", req: file(build.Request{Context: ptr("a\x00b")}), code: wharf.Invalid, msg: "not a valid path"},
			{name: "context-too-long", req: file(build.Request{Context: ptr("/" + strings.Repeat("d", 1024))}), code: wharf.Invalid, msg: "not a valid path"},

			{name: "defaults", req: file(build.Request{}), context: "/", dockerfile: "/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "tags-kept-in-order", req: file(build.Request{DockerTags: []string{"v1", "latest", "1.0_rc-2", tag128}}),
				context: "/", dockerfile: "/Dockerfile", tags: []string{"v1", "latest", "1.0_rc-2", tag128}, display: hexPrefix(fileSum[:])},
			{name: "subdirectory", req: file(build.Request{Subdirectory: ptr("sub")}), context: "sub", dockerfile: "sub/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "subdirectory-slash", req: file(build.Request{Subdirectory: ptr("/sub/")}), context: "/sub/", dockerfile: "/sub/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "context-only", req: file(build.Request{Context: ptr("/b/")}), context: "/b/", dockerfile: "/b/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dockerfile-path", req: file(build.Request{DockerfilePath: ptr("/a/Dockerfile.dev")}), context: "/a", dockerfile: "/a/Dockerfile.dev", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dockerfile-path-bare-name", req: file(build.Request{DockerfilePath: ptr("Dockerfile.dev")}), context: "", dockerfile: "Dockerfile.dev", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dockerfile-path-relative", req: file(build.Request{DockerfilePath: ptr("a/b/Dockerfile")}), context: "a/b", dockerfile: "a/b/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dockerfile-path-and-context", req: file(build.Request{DockerfilePath: ptr("/a/Dockerfile.dev"), Context: ptr("/")}),
				context: "/", dockerfile: "/a/Dockerfile.dev", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dockerfile-path-beats-subdirectory", req: file(build.Request{DockerfilePath: ptr("/a/Dockerfile"), Subdirectory: ptr("sub")}),
				context: "/a", dockerfile: "/a/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "dotdot-inside-a-name", req: file(build.Request{Subdirectory: ptr("..sub")}), context: "..sub", dockerfile: "..sub/Dockerfile", tags: []string{"latest"}, display: hexPrefix(fileSum[:])},
			{name: "archive-url", req: build.Request{ArchiveURL: &archive}, context: "/", dockerfile: "/Dockerfile", tags: []string{"latest"}, display: hexPrefix(urlSum[:])},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, err := store.Builds.ListBuilds(ctx, f.repo.ID, 1000, time.Time{})
				must(t, err)
				entries := len(f.actions("build_dockerfile"))
				b, err := f.svc.Start(ctx, f.actor(), f.repo, tt.req)
				if tt.code != "" {
					wantCode(t, "Start", err, tt.code, tt.msg)
					after, err := store.Builds.ListBuilds(ctx, f.repo.ID, 1000, time.Time{})
					must(t, err)
					if len(after) != len(before) || len(f.actions("build_dockerfile")) != entries {
						t.Fatalf("a refused request left a build (%d → %d) or an action-log entry", len(before), len(after))
					}
					return
				}
				must(t, err)
				got := f.load(b.UUID)
				wantKey := ""
				if tt.req.FileID != nil {
					wantKey = uploaded.UUID
				}
				if got.Phase != wharf.PhaseWaiting || got.Repository.ID != f.repo.ID || got.DisplayName != tt.display ||
					got.ResourceKey != wantKey || got.RetriesRemaining != build.RetriesPerBuild {
					t.Fatalf("stored build: phase %q repo %d name %q resource %q retries %d; want waiting, %d, %q, %q, %d",
						got.Phase, got.Repository.ID, got.DisplayName, got.ResourceKey, got.RetriesRemaining,
						f.repo.ID, tt.display, wantKey, build.RetriesPerBuild)
				}
				noDiff(t, "job", wharf.BuildJob{DockerTags: tt.tags, Registry: serverHostname, BuildSubdir: tt.dockerfile,
					Context: tt.context, TriggerMetadata: map[string]any{}, IsManual: true, ManualUser: ptr("alice"),
					ArchiveURL: tt.req.ArchiveURL}, got.Job)
				noDiff(t, "build log", []string{"phase:waiting"}, f.buildLog(got.ID))
				if n := len(f.actions("build_dockerfile")); n != entries+1 {
					t.Fatalf("%d build_dockerfile entries, want %d", n, entries+1)
				}
			})
		}
	})
}

// TestStartRecordsRequester checks the manual user, the pull robot and
// the build_dockerfile entry with Quay's metadata.
func TestStartRecordsRequester(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		tests := []struct {
			name      string
			actor     *wharf.Caller
			robot     *wharf.Robot
			manual    any // manual_user in the metadata
			performer wharf.LogParty
		}{
			{"user-with-robot", f.actor(), f.robot, "alice", wharf.PartyOf(f.alice)},
			{"anonymous-no-robot", &wharf.Caller{IP: "198.51.100.1"}, nil, nil, wharf.LogParty{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b, err := f.svc.Start(ctx, tt.actor, f.repo, build.Request{FileID: &file.UUID, DockerTags: []string{"v2", "latest"}, PullRobot: tt.robot})
				must(t, err)
				got := f.load(b.UUID)
				wantRobot, wantRobotID, wantUserID := "", int64(0), int64(0)
				var wantManual *string
				if tt.robot != nil {
					wantRobot, wantRobotID = "alice+builder", tt.robot.Account.ID
				}
				if tt.actor.Account != nil {
					wantUserID, wantManual = tt.actor.Account.ID, ptr(tt.actor.Account.Name)
				}
				if got.PullRobot != wantRobot || got.PullRobotID != wantRobotID || got.ManualUserID != wantUserID {
					t.Fatalf("stored robot %q (%d), manual user %d; want %q (%d), %d", got.PullRobot, got.PullRobotID, got.ManualUserID,
						wantRobot, wantRobotID, wantUserID)
				}
				noDiff(t, "job manual user", wantManual, got.Job.ManualUser)

				entries := f.actions("build_dockerfile")
				if len(entries) == 0 {
					t.Fatal("no build_dockerfile entry")
				}
				e := entries[0]
				noDiff(t, "build_dockerfile metadata", map[string]any{"build_id": b.UUID, "docker_tags": []any{"v2", "latest"},
					"repo": "app", "namespace": "alice", "is_manual": true, "manual_user": tt.manual}, e.Metadata)
				if e.Account.ID != f.alice.ID || e.Account.Name != "alice" || e.Performer != tt.performer || e.IP != tt.actor.IP {
					t.Fatalf("entry filed under %+v by %+v from %q; want alice by %+v from %q", e.Account, e.Performer, e.IP, tt.performer, tt.actor.IP)
				}
			})
		}
		repo, err := f.svc.RepositoryOfFile(ctx, file.UUID)
		if err != nil || repo == nil || repo.ID != f.repo.ID {
			t.Fatalf("RepositoryOfFile = %+v, %v; want alice/app", repo, err)
		}
		unused, err := f.svc.PrepareFile(ctx, nil, "text/plain")
		must(t, err)
		if repo, err := f.svc.RepositoryOfFile(ctx, unused.UUID); repo != nil || err != nil {
			t.Fatalf("RepositoryOfFile of an unused file = %+v, %v; want nil, nil", repo, err)
		}
	})
}

func TestReceiveFile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		const limit = 64
		svc := build.NewService(store.Builds, f.files, f.urls, limit, serverHostname)
		prepare := func(t *testing.T) *wharf.UserFile {
			file, err := svc.PrepareFile(ctx, f.alice, "application/octet-stream")
			must(t, err)
			return file
		}
		// wantStored checks the file's record and content.
		wantStored := func(t *testing.T, uuid string, content []byte) {
			t.Helper()
			sum := sha256.Sum256(content)
			got, err := svc.UserFile(ctx, uuid)
			must(t, err)
			if got.Size != int64(len(content)) || got.SHA256 != hex.EncodeToString(sum[:]) || got.UploadedAt.IsZero() {
				t.Fatalf("stored file: size %d sha256 %s uploaded %v; want %d %x", got.Size, got.SHA256, got.UploadedAt, len(content), sum)
			}
			if keys := f.objects(uuid); len(keys) != 1 || keys[0] != got.StorageKey {
				t.Fatalf("stored objects %v, want only %s", keys, got.StorageKey)
			}
			if body := f.read(got); !bytes.Equal(body, content) {
				t.Fatalf("stored content %q, want %q", body, content)
			}
		}
		// wantNothing checks that nothing of an upload was kept.
		wantNothing := func(t *testing.T, file *wharf.UserFile, disk int) {
			t.Helper()
			if n := f.diskFiles(); n != disk {
				t.Fatalf("%d files on disk after a failed upload, want %d as before", n, disk)
			}
			got, err := svc.UserFile(ctx, file.UUID)
			must(t, err)
			if got.Size != -1 || got.SHA256 != "" {
				t.Fatalf("a failed upload was recorded: %+v", got)
			}
			if keys := f.objects(file.UUID); len(keys) != 0 {
				t.Fatalf("a failed upload left content: %v", keys)
			}
			_, err = svc.OpenFile(ctx, got)
			wantCode(t, "open a file not uploaded", err, wharf.NotFound, "has not been uploaded")
		}

		successes := []struct {
			name    string
			content []byte
		}{
			{"stores-content-and-sha256", []byte("FROM scratch\nCOPY . /\n")},
			{"exactly-the-limit", bytes.Repeat([]byte("x"), limit)},
			{"empty", []byte{}},
		}
		for _, tt := range successes {
			t.Run(tt.name, func(t *testing.T) {
				file := prepare(t)
				got, err := svc.ReceiveFile(ctx, file.UUID, bytes.NewReader(tt.content))
				must(t, err)
				wantStored(t, file.UUID, tt.content)
				if stored, _ := svc.UserFile(ctx, file.UUID); *got != *stored {
					t.Fatalf("ReceiveFile returned %+v, stored %+v", got, stored)
				}
			})
		}

		failures := []struct {
			name string
			body io.Reader
			code wharf.Code
			msg  string
		}{
			{"over-the-limit", bytes.NewReader(bytes.Repeat([]byte("y"), limit+1)), wharf.TooLarge, "64-byte limit"},
			{"far-over-the-limit", bytes.NewReader(bytes.Repeat([]byte("z"), 10*limit)), wharf.TooLarge, "64-byte limit"},
			{"body-breaks-off", io.MultiReader(strings.NewReader("FROM"), iotest.ErrReader(errors.New("connection reset"))), wharf.Invalid, "did not complete"},
		}
		for _, tt := range failures {
			t.Run(tt.name, func(t *testing.T) {
				file, disk := prepare(t), f.diskFiles()
				_, err := svc.ReceiveFile(ctx, file.UUID, tt.body)
				wantCode(t, "ReceiveFile", err, tt.code, tt.msg)
				wantNothing(t, file, disk)
				retry := []byte("FROM scratch\n")
				_, err = svc.ReceiveFile(ctx, file.UUID, bytes.NewReader(retry))
				must(t, err)
				wantStored(t, file.UUID, retry)
			})
		}

		t.Run("second-upload", func(t *testing.T) {
			file, first := prepare(t), []byte("first")
			_, err := svc.ReceiveFile(ctx, file.UUID, bytes.NewReader(first))
			must(t, err)
			disk, second := f.diskFiles(), &countingReader{r: strings.NewReader("second")}
			_, err = svc.ReceiveFile(ctx, file.UUID, second)
			wantCode(t, "second upload", err, wharf.Conflict, "already uploaded")
			wantStored(t, file.UUID, first)
			if second.reads != 0 || f.diskFiles() != disk {
				t.Fatalf("the refused upload was read (%d reads) or stored (%d files on disk, %d before)", second.reads, f.diskFiles(), disk)
			}
		})
		for _, uuid := range []string{"not-a-uuid", "../../etc/passwd", strings.ToUpper(newUUIDFor(t)), "00000000-0000-4000-8000-000000000000"} {
			t.Run("not-found-"+uuid, func(t *testing.T) {
				_, err := svc.ReceiveFile(ctx, uuid, strings.NewReader("x"))
				wantCode(t, "ReceiveFile", err, wharf.NotFound, "could not be found")
			})
		}
		t.Run("mime-type-too-long", func(t *testing.T) {
			_, err := svc.PrepareFile(ctx, nil, strings.Repeat("m", 256))
			wantCode(t, "PrepareFile", err, wharf.Invalid, "mimeType")
		})
	})
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

// TestReceiveFileConcurrentUploads: an upload that loses the race for a
// file leaves neither its content nor a trace of it.
func TestReceiveFileConcurrentUploads(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		file, err := f.svc.PrepareFile(ctx, f.alice, "application/gzip")
		must(t, err)
		pr, pw := io.Pipe()
		slow := make(chan error, 1)
		go func() {
			_, err := f.svc.ReceiveFile(ctx, file.UUID, pr)
			slow <- err
		}()
		pw.Write([]byte("loser")) // returns once the slow upload has read it: it is under way
		winner := []byte("winner")
		_, err = f.svc.ReceiveFile(ctx, file.UUID, bytes.NewReader(winner))
		must(t, err)
		pw.Close()
		wantCode(t, "the slower upload", <-slow, wharf.Conflict, "already uploaded")
		got, err := f.svc.UserFile(ctx, file.UUID)
		must(t, err)
		body, sum := f.read(got), sha256.Sum256(winner)
		if !bytes.Equal(body, winner) || got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(winner)) {
			t.Fatalf("stored content %q, recorded size %d sha256 %s; want %q", body, got.Size, got.SHA256, winner)
		}
		if keys := f.objects(file.UUID); len(keys) != 1 {
			t.Fatalf("objects of the file: %v, want the winner's only", keys)
		}
	})
}

func TestCancel(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		tests := []struct {
			phase string
			ok    bool
		}{
			{wharf.PhaseWaiting, true}, {wharf.PhaseScheduled, true}, {wharf.PhaseBuilding, true},
			{wharf.PhaseCancelled, false}, {wharf.PhasePushing, false}, {wharf.PhaseComplete, false},
		}
		for _, tt := range tests {
			t.Run(tt.phase, func(t *testing.T) {
				b := f.start(build.Request{FileID: &file.UUID})
				f.moveTo(b, tt.phase)
				before := f.load(b.UUID)
				entries := len(f.actions("cancel_build"))
				err := f.svc.Cancel(ctx, f.actor(), b)
				after := f.load(b.UUID)
				if !tt.ok {
					wantCode(t, "Cancel", err, wharf.Invalid, "Build is currently running or has finished")
					if after.Phase != before.Phase || len(f.actions("cancel_build")) != entries {
						t.Fatalf("a refused cancel changed the build (%s → %s) or logged it", before.Phase, after.Phase)
					}
					return
				}
				must(t, err)
				if after.Phase != wharf.PhaseCancelled || after.CompletedAt.IsZero() || after.Worker != "" {
					t.Fatalf("cancelled build: phase %q completed %v worker %q", after.Phase, after.CompletedAt, after.Worker)
				}
				log := f.buildLog(b.ID)
				if log[len(log)-1] != "phase:cancelled" {
					t.Fatalf("build log ends with %q, want the cancelled phase", log[len(log)-1])
				}
				got := f.actions("cancel_build")
				if len(got) != entries+1 {
					t.Fatalf("%d cancel_build entries, want %d", len(got), entries+1)
				}
				noDiff(t, "cancel_build metadata", map[string]any{"build_uuid": b.UUID, "repo": "app", "namespace": "alice"}, got[0].Metadata)
				if got[0].Account.Name != "alice" || got[0].Performer.Name != "alice" {
					t.Fatalf("cancel_build filed under %+v by %+v", got[0].Account, got[0].Performer)
				}
			})
		}
	})
}

// TestServiceLookups covers Build, List and Logs.
func TestServiceLookups(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		b1 := f.start(build.Request{FileID: &file.UUID})
		time.Sleep(2 * time.Millisecond)
		b2 := f.start(build.Request{FileID: &file.UUID})

		got, err := f.svc.Build(ctx, b2.UUID)
		if err != nil || got.ID != b2.ID {
			t.Fatalf("Build = %+v, %v", got, err)
		}
		for _, uuid := range []string{"nope", "'; DROP TABLE build; --", newUUIDFor(t)} {
			_, err := f.svc.Build(ctx, uuid)
			wantCode(t, "Build "+uuid, err, wharf.NotFound, "")
		}
		list, err := f.svc.List(ctx, f.repo, 10, time.Time{})
		must(t, err)
		if len(list) != 2 || list[0].UUID != b2.UUID || list[1].UUID != b1.UUID {
			t.Fatalf("List = %d builds, want b2, b1", len(list))
		}
		total, entries, err := f.svc.Logs(ctx, b1, 0)
		if err != nil || total != 1 || len(entries) != 1 || entries[0].Message != wharf.PhaseWaiting {
			t.Fatalf("Logs = %d, %+v, %v", total, entries, err)
		}
		_, _, err = f.svc.Logs(ctx, b1, -1)
		wantCode(t, "Logs from -1", err, wharf.Invalid, "start")
	})
}

func TestCollectFiles(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		content := tarGz(t, "Dockerfile", "FROM scratch\n")
		unused := f.upload(content)
		never, err := f.svc.PrepareFile(ctx, f.alice, "application/gzip")
		must(t, err)
		used := f.upload(content)
		f.start(build.Request{FileID: &used.UUID})
		// Objects no row names: a second upload of a used file whose
		// process died before recording it, and one of a vanished row.
		stray := build.NewUUID()
		for _, key := range []string{"userfiles/" + used.UUID + ".0badc0de", "userfiles/" + stray + ".0badc0de"} {
			must(t, f.files.PutContent(ctx, key, content))
		}
		time.Sleep(2 * time.Millisecond)
		cutoff := time.Now()
		time.Sleep(2 * time.Millisecond)
		recent := f.upload(content)

		// The used file is listed too, as if its build started right after
		// the listing: it must be kept all the same.
		files := racingFiles{Builds: store.Builds, extra: *used}
		n, err := build.CollectFiles(ctx, files, f.files, cutoff.Add(24*time.Hour), 24*time.Hour)
		if err != nil || n != 4 {
			t.Fatalf("CollectFiles = %d, %v; want 4 (the unused and the never uploaded file, two orphan objects)", n, err)
		}
		if left := f.objects(stray); len(left) != 0 {
			t.Errorf("an object no row names survived: %v", left)
		}
		tests := []struct {
			name string
			file *wharf.UserFile
			kept bool
		}{
			{"old-unused", unused, false},
			{"old-never-uploaded", never, false},
			{"old-used-by-a-build", used, true},
			{"recent-unused", recent, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := f.svc.UserFile(ctx, tt.file.UUID)
				objects := f.objects(tt.file.UUID)
				if !tt.kept {
					if !wharf.IsCode(err, wharf.NotFound) || len(objects) != 0 {
						t.Fatalf("collected file: UserFile = %v, objects %v; want both gone", err, objects)
					}
					return
				}
				must(t, err)
				if !bytes.Equal(f.read(got), content) || len(objects) != 1 {
					t.Fatalf("kept file lost its content: objects %v", objects)
				}
			})
		}
		if n, err := build.CollectFiles(ctx, files, f.files, cutoff.Add(24*time.Hour), 24*time.Hour); err != nil || n != 0 {
			t.Fatalf("second collection = %d, %v; want 0", n, err)
		}
	})
}

// racingFiles lists extra among the unused files.
type racingFiles struct {
	*db.Builds
	extra wharf.UserFile
}

func (r racingFiles) UnusedUserFiles(ctx context.Context, cutoff time.Time, limit int) ([]wharf.UserFile, error) {
	files, err := r.Builds.UnusedUserFiles(ctx, cutoff, limit)
	return append(files, r.extra), err
}

// TestStartQueueLimit: with LimitQueued(n) a namespace may have n unfinished
// builds; the next request is refused as Quay refuses it (429), and a
// finished build makes room.
func TestStartQueueLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.LimitQueued(2)
		file := f.upload(tarGz(t, "Dockerfile", "FROM scratch\n"))
		req := build.Request{FileID: &file.UUID}
		first := f.start(req)
		f.start(req)
		_, err := f.svc.Start(ctx, f.actor(), f.repo, req)
		if !wharf.IsCode(err, wharf.TooManyRequests) {
			t.Fatalf("a third queued build: %v, want TooManyRequests", err)
		}
		must(t, f.svc.Cancel(ctx, f.actor(), first))
		if _, err := f.svc.Start(ctx, f.actor(), f.repo, req); err != nil {
			t.Fatalf("after a cancel there is room again: %v", err)
		}
	})
}
