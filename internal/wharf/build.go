package wharf

import "time"

// Build phases as Quay stores them, in the order a build passes through
// them; the last four are terminal.
const (
	PhaseWaiting       = "waiting"
	PhaseScheduled     = "build-scheduled"
	PhaseUnpacking     = "unpacking"
	PhasePulling       = "pulling"
	PhaseBuilding      = "building"
	PhasePushing       = "pushing"
	PhaseComplete      = "complete"
	PhaseError         = "error"
	PhaseInternalError = "internalerror"
	PhaseCancelled     = "cancelled"
)

// TerminalPhase reports whether a build in phase p is over.
func TerminalPhase(p string) bool {
	switch p {
	case PhaseComplete, PhaseError, PhaseInternalError, PhaseCancelled:
		return true
	}
	return false
}

// CancellablePhase reports whether a build in phase p may still be
// cancelled: once it pushes, tags may already have moved (Quay's rule).
func CancellablePhase(p string) bool {
	return !TerminalPhase(p) && p != PhasePushing
}

// BuildJob is Quay's job config of a build, stored as JSON with Quay's keys.
// BuildSubdir is, despite its name, the Dockerfile's path in the archive.
type BuildJob struct {
	DockerTags      []string       `json:"docker_tags"`
	Registry        string         `json:"registry"`
	BuildSubdir     string         `json:"build_subdir"`
	Context         string         `json:"context"`
	TriggerMetadata map[string]any `json:"trigger_metadata"`
	IsManual        bool           `json:"is_manual"`
	ManualUser      *string        `json:"manual_user"`
	ArchiveURL      *string        `json:"archive_url"`
}

// Build is one image build and its place in the build queue.
type Build struct {
	ID          int64
	UUID        string
	Repository  Repository
	Phase       string
	DisplayName string
	// ResourceKey is the uploaded context's user-file id; "" when the
	// build fetches Job.ArchiveURL.
	ResourceKey    string
	Job            BuildJob
	PullRobot      string // robot account name, "" for none
	PullRobotID    int64
	ManualUserID   int64
	Started        time.Time
	PhaseChangedAt time.Time
	CompletedAt    time.Time // zero until the build ends
	Error          string
	// RetriesRemaining is how many more times a worker may claim the build.
	RetriesRemaining int
	Worker           string
	LeaseUntil       time.Time
	Heartbeat        time.Time
}

// EndEntry is the action-log entry of b's end, filed under its namespace
// with no performer: build_success, or build_failure with errMsg. The
// worker that finishes a build writes it, and so does the store when it
// fails a build whose worker stopped responding.
func (b *Build) EndEntry(success bool, errMsg string) LogEntry {
	kind := "build_success"
	meta := map[string]any{"build_id": b.UUID, "docker_tags": b.Job.DockerTags, "repo": b.Repository.Name,
		"namespace": b.Repository.Namespace, "manual_user": b.Job.ManualUser}
	if !success {
		kind, meta["error"] = "build_failure", errMsg
	}
	return (*Caller)(nil).RepositoryEntry(kind, &b.Repository, meta)
}

// MaxBuildLogEntries bounds one build's log; later entries are dropped
// (with one entry saying so) so that a chatty build cannot fill the database.
const MaxBuildLogEntries = 100_000

// BuildLogEntry is one line of a build log in Quay's shape: Type is
// "phase", "command", "error" or "" for output.
type BuildLogEntry struct {
	Message string         `json:"message"`
	Type    string         `json:"type,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
}

// UserFile is a file a user uploads through the filedrop endpoint, e.g. a
// build context. Size is -1 until the upload completed.
type UserFile struct {
	UUID       string
	MimeType   string
	StorageKey string
	UploaderID int64
	CreatedAt  time.Time
	Size       int64
	SHA256     string
	UploadedAt time.Time
}
