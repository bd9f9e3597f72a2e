// Package build is wharf's image-build service: the build requests of
// Quay's API, the queue they wait in, and the workers that run them.
//
//	POST /filedrop/ ──► user file ──► PUT /userfiles/{id} (context archive)
//	POST …/build/ ──► build row, phase waiting (the queue)
//	                      │ ClaimBuild (one worker, lease)
//	                      ▼
//	   build-scheduled ─► unpacking ─► pulling ─► building ─► pushing ─► complete
//	         │ cancel (any phase before pushing) ─► cancelled      └─► error
//	         │ lease lapses ─► waiting again (retries left) or internalerror
//
// Builds live in the database, so every wharf process serves their views
// and logs, and any process's worker may run them. Workers reach the
// registry over HTTP like any client, with a build token (see Tokens), so
// pushes are authorised and counted against quotas by the registry itself.
package build

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is what the build service needs from the database.
type Store interface {
	CreateUserFile(ctx context.Context, f *wharf.UserFile) error
	// UserFile returns NotFound; CompleteUserFile returns Conflict when
	// the file was uploaded already.
	UserFile(ctx context.Context, uuid string) (*wharf.UserFile, error)
	CompleteUserFile(ctx context.Context, uuid, storageKey string, size int64, sha256 string) error
	// CreateBuild returns TooManyRequests when the namespace has maxQueued
	// unfinished builds (0 = no limit).
	CreateBuild(ctx context.Context, b *wharf.Build, maxQueued int, entries ...wharf.LogEntry) error
	// BuildByUUID returns NotFound.
	BuildByUUID(ctx context.Context, uuid string) (*wharf.Build, error)
	ListBuilds(ctx context.Context, repositoryID int64, limit int, since time.Time) ([]*wharf.Build, error)
	// RepositoryOfResource returns NotFound when no build used the file.
	RepositoryOfResource(ctx context.Context, uuid string) (*wharf.Repository, error)
	CancelBuild(ctx context.Context, uuid string, entries ...wharf.LogEntry) (bool, error)
	BuildLogs(ctx context.Context, id int64, start int) (int, []wharf.BuildLogEntry, error)
}

// URLPolicy vets user-given URLs before wharf fetches them (see package
// outbound): Check refuses with an Invalid error, Client only dials vetted
// addresses and re-checks redirects.
type URLPolicy interface {
	Check(ctx context.Context, raw string) (*url.URL, error)
	Client(timeout time.Duration) *http.Client
}

// Service takes build requests and serves what is known about builds.
type Service struct {
	store     Store
	files     storage.Driver
	urls      URLPolicy
	maxBytes  int64
	host      string
	maxQueued int
}

// NewService returns a Service storing uploaded files in files (at most
// maxBytes each) and vetting archive URLs with urls; host is the registry's
// SERVER_HOSTNAME, recorded in each job as Quay does.
func NewService(store Store, files storage.Driver, urls URLPolicy, maxBytes int64, host string) *Service {
	return &Service{store: store, files: files, urls: urls, maxBytes: maxBytes, host: host}
}

// LimitQueued makes Start refuse (429, as Quay) a build of a namespace
// that has n unfinished builds; 0 means no limit.
func (s *Service) LimitQueued(n int) *Service {
	s.maxQueued = n
	return s
}

// RetriesPerBuild is how many times workers may claim one build (Quay's
// queue gives each build three).
const RetriesPerBuild = 3

// NewUUID returns a random version-4 UUID, the form of build and file ids.
func NewUUID() string { return wharf.NewUUID() }

// validUUID matches the ids wharf hands out; anything else is refused
// before it reaches a storage path or a query.
var validUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidUUID reports whether s has the form of a build or file id.
func ValidUUID(s string) bool { return validUUID.MatchString(s) }

func fileKey(uuid string) string { return "userfiles/" + uuid }

// PrepareFile records a file that uploader is about to upload.
func (s *Service) PrepareFile(ctx context.Context, uploader *wharf.Account, mimeType string) (*wharf.UserFile, error) {
	if len(mimeType) > 255 {
		return nil, wharf.Errorf(wharf.Invalid, "mimeType is too long")
	}
	f := &wharf.UserFile{UUID: NewUUID(), MimeType: mimeType}
	f.StorageKey = fileKey(f.UUID)
	if uploader != nil {
		f.UploaderID = uploader.ID
	}
	return f, s.store.CreateUserFile(ctx, f)
}

// ReceiveFile stores the content of user file uuid from body. NotFound for
// an unknown id, Conflict when it was uploaded already, TooLarge past the
// limit; a failed upload leaves nothing behind and may be retried. Each
// upload writes its own object, and recording it in the database picks
// the one that counts, so concurrent uploads of one file cannot mix.
func (s *Service) ReceiveFile(ctx context.Context, uuid string, body io.Reader) (*wharf.UserFile, error) {
	if !ValidUUID(uuid) {
		return nil, wharf.Errorf(wharf.NotFound, "File %s could not be found or is invalid", uuid)
	}
	f, err := s.store.UserFile(ctx, uuid)
	if err != nil {
		return nil, err
	}
	if f.Size >= 0 {
		return nil, wharf.Errorf(wharf.Conflict, "File %s was already uploaded", uuid)
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	key := fileKey(uuid) + "." + hex.EncodeToString(suffix[:])
	fw, err := s.files.Writer(ctx, key, false)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	in := &bodyReader{r: io.LimitReader(body, s.maxBytes+1)}
	n, err := io.Copy(io.MultiWriter(fw, sum), in)
	switch {
	case in.err != nil:
		// The client's body broke off (or was too large for the server's
		// own limit): its fault, unlike a failing write to storage.
		err = wharf.Errorf(wharf.Invalid, "The upload did not complete: %v", in.err)
	case err == nil && n > s.maxBytes:
		err = wharf.Errorf(wharf.TooLarge, "The file is larger than the %d-byte limit", s.maxBytes)
	}
	if err != nil {
		fw.Cancel(context.WithoutCancel(ctx))
		return nil, wharf.Wrap(err, "store uploaded file")
	}
	if err := fw.Commit(ctx); err != nil {
		return nil, err
	}
	if err := s.store.CompleteUserFile(ctx, uuid, key, n, hex.EncodeToString(sum.Sum(nil))); err != nil {
		s.files.Delete(context.WithoutCancel(ctx), key)
		return nil, err
	}
	return s.store.UserFile(ctx, uuid)
}

// bodyReader remembers the error reading a request body, to tell it from
// an error writing to storage.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// OpenFile streams an uploaded user file.
func (s *Service) OpenFile(ctx context.Context, f *wharf.UserFile) (io.ReadCloser, error) {
	if f.Size < 0 {
		return nil, wharf.Errorf(wharf.NotFound, "File %s has not been uploaded", f.UUID)
	}
	return s.files.Reader(ctx, f.StorageKey, 0)
}

// UserFile returns the user file uuid. NotFound if there is none.
func (s *Service) UserFile(ctx context.Context, uuid string) (*wharf.UserFile, error) {
	if !ValidUUID(uuid) {
		return nil, wharf.Errorf(wharf.NotFound, "File %s could not be found or is invalid", uuid)
	}
	return s.store.UserFile(ctx, uuid)
}

// Request is a build request as Quay's RepositoryBuildRequest has it; nil
// fields were absent.
type Request struct {
	FileID         *string
	ArchiveURL     *string
	Subdirectory   *string
	DockerfilePath *string
	Context        *string
	DockerTags     []string // nil: absent
	// PullRobot is the robot the request names, already checked by the
	// caller (the requester administers its namespace).
	PullRobot *wharf.Robot
}

// validTag is the registry's tag grammar.
var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Start validates req and queues a build of repo for requester, writing
// Quay's build_dockerfile action-log entry with it.
func (s *Service) Start(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, req Request) (*wharf.Build, error) {
	b := &wharf.Build{UUID: NewUUID(), Repository: *repo, RetriesRemaining: RetriesPerBuild}
	if err := s.source(ctx, req, b); err != nil {
		return nil, err
	}
	tags := req.DockerTags
	if tags == nil {
		tags = []string{"latest"}
	}
	if len(tags) == 0 {
		return nil, wharf.Errorf(wharf.Invalid, "docker_tags must name at least one tag")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if !validTag.MatchString(t) {
			return nil, wharf.Errorf(wharf.Invalid, "Invalid tag %q: a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", t)
		}
		if seen[t] {
			return nil, wharf.Errorf(wharf.Invalid, "docker_tags lists %q twice", t)
		}
		seen[t] = true
	}
	context, dockerfile, err := dockerfileContext(req)
	if err != nil {
		return nil, err
	}
	b.Job = wharf.BuildJob{DockerTags: tags, Registry: s.host, BuildSubdir: dockerfile, Context: context,
		TriggerMetadata: map[string]any{}, IsManual: true, ArchiveURL: req.ArchiveURL}
	meta := map[string]any{"build_id": b.UUID, "docker_tags": tags, "repo": repo.Name, "namespace": repo.Namespace,
		"is_manual": true, "manual_user": nil}
	if actor.Account != nil {
		name := actor.Account.Name
		b.Job.ManualUser, b.ManualUserID, meta["manual_user"] = &name, actor.Account.ID, name
	}
	if req.PullRobot != nil {
		b.PullRobot, b.PullRobotID = req.PullRobot.Account.Name, req.PullRobot.Account.ID
	}
	entry := actor.RepositoryEntry("build_dockerfile", repo, meta)
	if err := s.store.CreateBuild(ctx, b, s.maxQueued, entry); err != nil {
		return nil, err
	}
	return b, nil
}

// source checks the build's input, an uploaded file or an archive URL,
// and names the build after it as Quay does (7 hex digits of its digest).
func (s *Service) source(ctx context.Context, req Request, b *wharf.Build) error {
	if req.ArchiveURL != nil && *req.ArchiveURL != "" {
		u, err := url.Parse(*req.ArchiveURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return wharf.Errorf(wharf.Invalid, "Invalid Archive URL: Must be http or https")
		}
		if _, err := s.urls.Check(ctx, *req.ArchiveURL); err != nil {
			return err
		}
	}
	switch {
	case req.FileID != nil && *req.FileID != "":
		f, err := s.UserFile(ctx, *req.FileID)
		if wharf.IsCode(err, wharf.NotFound) || (err == nil && f.Size < 0) {
			return wharf.Errorf(wharf.Invalid, "File %s could not be found or is invalid", *req.FileID)
		}
		if err != nil {
			return err
		}
		b.ResourceKey, b.DisplayName = f.UUID, f.SHA256[:7]
	case req.ArchiveURL != nil && *req.ArchiveURL != "":
		sum := sha256.Sum224([]byte(*req.ArchiveURL))
		b.DisplayName = hex.EncodeToString(sum[:])[:7]
	default:
		return wharf.Errorf(wharf.Invalid, "file_id or archive_url required")
	}
	return nil
}

// dockerfileContext works out the context directory and the Dockerfile
// path inside the archive from the request, by Quay's rules: a
// dockerfile_path sets the context to its directory unless context is
// given; a subdirectory is both the context and the Dockerfile's
// directory. Paths are archive-absolute, and none may climb out of it.
func dockerfileContext(req Request) (context, dockerfile string, err error) {
	context = "/"
	if req.Context != nil {
		context = *req.Context
	}
	switch {
	case req.DockerfilePath != nil:
		dockerfile = *req.DockerfilePath
		if req.Context == nil {
			// Python's os.path.dirname, as Quay uses: "" for a bare name.
			context = ""
			if i := strings.LastIndex(dockerfile, "/"); i >= 0 {
				context = path.Dir(dockerfile[:i+1])
			}
		}
	case req.Subdirectory != nil:
		context = *req.Subdirectory
		dockerfile = strings.TrimSuffix(context, "/") + "/Dockerfile"
	default:
		dockerfile = strings.TrimSuffix(context, "/") + "/Dockerfile"
	}
	for field, p := range map[string]string{"context": context, "dockerfile_path": dockerfile} {
		if len(p) > 1024 || strings.ContainsRune(p, 0) {
			return "", "", wharf.Errorf(wharf.Invalid, "%s is not a valid path", field)
		}
		for _, part := range strings.Split(p, "/") {
			if part == ".." {
				return "", "", wharf.Errorf(wharf.Invalid, "%s %q must stay inside the build context", field, p)
			}
		}
	}
	return context, dockerfile, nil
}

// Build returns the build uuid. NotFound for unknown or malformed ids.
func (s *Service) Build(ctx context.Context, uuid string) (*wharf.Build, error) {
	if !ValidUUID(uuid) {
		return nil, wharf.Errorf(wharf.NotFound, "Unable to locate a build by id: %s", uuid)
	}
	return s.store.BuildByUUID(ctx, uuid)
}

// List returns up to limit builds of repo started at or after since.
func (s *Service) List(ctx context.Context, repo *wharf.Repository, limit int, since time.Time) ([]*wharf.Build, error) {
	return s.store.ListBuilds(ctx, repo.ID, limit, since)
}

// RepositoryOfFile returns the repository user file uuid was last built
// in, or nil when no build used it.
func (s *Service) RepositoryOfFile(ctx context.Context, uuid string) (*wharf.Repository, error) {
	repo, err := s.store.RepositoryOfResource(ctx, uuid)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil
	}
	return repo, err
}

// Cancel cancels b unless it is pushing or over (Invalid, as Quay answers).
// A running build's worker notices at its next lease renewal and stops
// before pushing anything.
func (s *Service) Cancel(ctx context.Context, actor *wharf.Caller, b *wharf.Build) error {
	entry := actor.RepositoryEntry("cancel_build", &b.Repository,
		map[string]any{"build_uuid": b.UUID, "repo": b.Repository.Name, "namespace": b.Repository.Namespace})
	ok, err := s.store.CancelBuild(ctx, b.UUID, entry)
	if err != nil {
		return err
	}
	if !ok {
		return wharf.Errorf(wharf.Invalid, "Build is currently running or has finished")
	}
	return nil
}

// Logs returns the number of entries in b's log and those from start on.
func (s *Service) Logs(ctx context.Context, b *wharf.Build, start int) (int, []wharf.BuildLogEntry, error) {
	if start < 0 {
		return 0, nil, wharf.Errorf(wharf.Invalid, "start must be >= 0")
	}
	return s.store.BuildLogs(ctx, b.ID, start)
}

// Status is the phase a client sees and the error to show: a running
// build whose worker stopped renewing its lease shows internalerror (or
// expired when it has no retries left) before the reaper takes it back.
func Status(b *wharf.Build, now time.Time) (phase, errMsg string) {
	phase, errMsg = b.Phase, b.Error
	if !wharf.TerminalPhase(phase) && phase != wharf.PhaseWaiting && !b.LeaseUntil.IsZero() && now.After(b.LeaseUntil) {
		phase, errMsg = wharf.PhaseInternalError, "The build worker stopped responding"
	}
	if phase == wharf.PhaseInternalError && b.RetriesRemaining <= 0 {
		phase = "expired"
	}
	return phase, errMsg
}

// FileStore is what CollectFiles needs from the database.
type FileStore interface {
	UnusedUserFiles(ctx context.Context, cutoff time.Time, limit int) ([]wharf.UserFile, error)
	DeleteUnusedUserFile(ctx context.Context, uuid string) (bool, error)
	// UserFile returns NotFound.
	UserFile(ctx context.Context, uuid string) (*wharf.UserFile, error)
}

// CollectFiles deletes uploaded files that no build used within maxAge of
// their creation (abandoned filedrops), rows first, then their content,
// and returns how many went. It then deletes stored objects older than
// maxAge that no row names (an upload whose process died before recording
// it, a content delete that failed after its row went).
func CollectFiles(ctx context.Context, store FileStore, files storage.Driver, now time.Time, maxAge time.Duration) (int, error) {
	deleted, err := collectUnusedFiles(ctx, store, files, now, maxAge)
	if err != nil {
		return deleted, err
	}
	orphans, err := collectOrphanObjects(ctx, store, files, now.Add(-maxAge))
	return deleted + orphans, err
}

func collectOrphanObjects(ctx context.Context, store FileStore, files storage.Driver, cutoff time.Time) (int, error) {
	var orphans []string
	err := files.Walk(ctx, "userfiles", func(fi storage.FileInfo) error {
		if fi.IsDir || !fi.ModTime.Before(cutoff) {
			return nil
		}
		uuid, _, _ := strings.Cut(path.Base(fi.Path), ".")
		f, err := store.UserFile(ctx, uuid)
		switch {
		case wharf.IsCode(err, wharf.NotFound):
		case err != nil:
			return err
		case f.StorageKey == fi.Path:
			return nil
		}
		orphans = append(orphans, fi.Path)
		return nil
	})
	if wharf.IsCode(err, wharf.NotFound) {
		return 0, nil // nothing was ever uploaded
	}
	if err != nil {
		return 0, err
	}
	for _, key := range orphans {
		if err := files.Delete(ctx, key); err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return 0, err
		}
	}
	return len(orphans), nil
}

func collectUnusedFiles(ctx context.Context, store FileStore, files storage.Driver, now time.Time, maxAge time.Duration) (int, error) {
	deleted := 0
	for {
		batch, err := store.UnusedUserFiles(ctx, now.Add(-maxAge), 500)
		if err != nil || len(batch) == 0 {
			return deleted, err
		}
		for _, f := range batch {
			ok, err := store.DeleteUnusedUserFile(ctx, f.UUID)
			if err != nil {
				return deleted, err
			}
			if !ok {
				continue // a build started using it meanwhile
			}
			if err := files.Delete(ctx, f.StorageKey); err != nil && !wharf.IsCode(err, wharf.NotFound) {
				return deleted, err
			}
			deleted++
		}
		if len(batch) < 500 {
			return deleted, nil
		}
	}
}
