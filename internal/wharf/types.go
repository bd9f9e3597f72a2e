package wharf

import "time"

// AccountKind says what an account row is: users, organizations and robots
// share one namespace of names, as in Quay.
type AccountKind string

// Account kinds.
const (
	KindUser  AccountKind = "user"
	KindOrg   AccountKind = "org"
	KindRobot AccountKind = "robot"
)

// Account is a user, an organization or a robot. Fields that only make sense
// for one kind are zero for the others (an organization has no password).
type Account struct {
	ID           int64
	Name         string
	Kind         AccountKind
	Email        string // "" means none (JSON null)
	PasswordHash string // bcrypt; "" means no password can be used
	Enabled      bool
	Verified     bool
	// Superuser records promotion through the API; SUPER_USERS from the
	// configuration is applied on top by the identity policy.
	Superuser           bool
	TagExpirationS      int64
	InvoiceEmail        bool
	InvoiceEmailAddress string // "" means none
	CreatedAt           time.Time
}

// AccountPage selects one page of accounts of one kind in id order.
type AccountPage struct {
	Kind        AccountKind
	EnabledOnly bool
	FromID      int64 // first id to include (keyset cursor)
	Limit       int   // 0 = no limit
}

// Team is a named group of an organization's members with one role.
type Team struct {
	ID          int64
	OrgID       int64
	Name        string
	Role        string // admin | creator | member
	Description string
	MemberCount int
	RepoCount   int // grants the team holds (OrgTeams only)
}

// OwnersTeam is the team every organization is created with; its members
// administer the organization.
const OwnersTeam = "owners"

// Application is an OAuth application registered by an organization.
type Application struct {
	ID             int64
	OrgID          int64
	ClientID       string
	ClientSecret   string
	Name           string
	Description    string
	ApplicationURI string
	RedirectURI    string
	AvatarEmail    string
	CreatedAt      time.Time
}

// AccessToken is an OAuth access token as stored: only a hash of its secret
// half is kept.
type AccessToken struct {
	ID          int64
	Name        string // public lookup half of the token
	SecretHash  []byte // SHA-256 of the secret half
	AccountID   int64
	Application Application
	Scope       string
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// Session is a browser-style login. Only the hash of the cookie value is stored.
type Session struct {
	ID        int64
	Hash      []byte
	AccountID int64
	CSRFToken string
	LoginAt   time.Time
	ExpiresAt time.Time
}

// LogParty identifies an account in an action-log entry as it was when the
// entry was written, so entries survive renames and deletions.
type LogParty struct {
	ID    int64
	Name  string
	Kind  AccountKind
	Email string
}

// PartyOf returns the log identity of a.
func PartyOf(a *Account) LogParty {
	if a == nil {
		return LogParty{}
	}
	return LogParty{ID: a.ID, Name: a.Name, Kind: a.Kind, Email: a.Email}
}

// LogEntry is one row of the action log (Quay's "usage logs").
type LogEntry struct {
	ID        int64
	Kind      string
	Account   LogParty // the namespace the entry is filed under; zero = none
	Performer LogParty // who did it; zero = nobody authenticated
	IP        string
	Time      time.Time
	Metadata  map[string]any
	// RepositoryID is the repository the entry is about (0: none), for
	// the repository logs.
	RepositoryID int64
	// RawMetadata is the stored JSON of Metadata, read instead of Metadata
	// when a LogQuery asks for it (Raw): views pass it through as it is.
	RawMetadata []byte
}

// LogCursor is a keyset position in the newest-first log order: the next
// page holds entries strictly older than (Time, ID).
type LogCursor struct {
	Time time.Time
	ID   int64
}

// LogQuery selects action-log entries in [Start, End), newest first.
type LogQuery struct {
	Start, End time.Time
	AccountID  int64 // 0 = every namespace
	// PerformerID and RepositoryID narrow to one performer's entries and
	// to one repository's; 0 = any.
	PerformerID  int64
	RepositoryID int64
	After        *LogCursor // nil = from the newest
	Limit        int
	// Raw reads each entry's metadata as stored (LogEntry.RawMetadata),
	// not decoded: for views that only pass it on.
	Raw bool
}

// LogCount is the number of entries of one kind on one UTC day.
type LogCount struct {
	Kind  string
	Day   time.Time
	Count int64
}

// Visibility of a repository.
const (
	Private = "private"
	Public  = "public"
)

// Repository is a named collection of manifests and tags in a namespace.
type Repository struct {
	ID          int64
	NamespaceID int64
	Namespace   string
	Name        string
	Visibility  string
	Description string
	// State is NORMAL, READ_ONLY or MIRROR ("" reads as NORMAL).
	State string
	// MirrorRobotID is the robot a MIRROR repository accepts pushes from
	// (0: none).
	MirrorRobotID int64
	CreatedAt     time.Time
	// BadgeToken lets a build-status badge of the repository be shown
	// while it is private (Quay's status_token); "" for none.
	BadgeToken string
}

// Manifest is a stored image manifest, index or artifact manifest.
type Manifest struct {
	ID            int64
	RepositoryID  int64
	Digest        string
	MediaType     string
	ArtifactType  string
	SubjectDigest string
	Annotations   map[string]string
	Size          int64
	Content       []byte
	Blobs         []string // digests of the config and layers it references
	Children      []string // digests of the manifests an index references
	CreatedAt     time.Time
}

// Upload is a blob upload in progress.
type Upload struct {
	ID           string
	RepositoryID int64
	AccountID    int64
	Algorithm    string // sha256 | sha512: the digest being computed as data arrives
	Size         int64
	HashState    []byte // marshalled hash state after Size bytes
	StartedAt    time.Time
	UpdatedAt    time.Time
}

// Robot is a robot account's credentials: the account is named
// "<namespace>+<short name>".
type Robot struct {
	Account     *Account
	NamespaceID int64
	Token       string
	Description string
	CreatedAt   time.Time
}

// Quota is a namespace's storage quota.
type Quota struct {
	ID          int64
	NamespaceID int64
	LimitBytes  int64
	Limits      []QuotaLimit
}

// QuotaLimit is a threshold of a quota: Warning or Reject at a percentage
// of its limit_bytes.
type QuotaLimit struct {
	ID      int64
	Kind    string // Warning | Reject
	Percent int64
}

// BlobLink is a blob arriving in a repository, already verified and in
// storage: an upload that completed (UploadID names it; its reservation
// goes as the blob is linked) or a mount. Linking charges the namespace
// for the blob when none of its repositories has it yet, judged by
// wharf.QuotaLimits.
type BlobLink struct {
	RepositoryID int64
	Digest       string
	Size         int64
	UploadID     string
	// Mount links a blob another repository has: its row must exist and
	// be live (else NotFound, or the ErrCollecting Conflict), never created.
	Mount bool
	// DefaultReject limits namespaces without a quota (0 = none).
	DefaultReject int64
	// Caller performs the link: quota warnings are logged as theirs.
	Caller *Caller
}

// BlobDoom is a collector's decision to remove a blob: Stamp (Unix
// microseconds) identifies it, so that only the collector holding it
// forgets the blob once its file is gone (see package blobgc).
type BlobDoom struct {
	Digest string
	Size   int64
	Stamp  int64
}

// RegistrySize is the registry-wide size calculation's state.
type RegistrySize struct {
	Bytes     int64
	Queued    bool
	Running   bool
	Completed *time.Time // nil before the first run
}

// CollectionTotals is what the blob collector reclaimed: in all its runs
// and in the last one (LastRun nil before the first).
type CollectionTotals struct {
	Runs, Blobs, Bytes, Links int64
	LastRun                   *time.Time
	LastBlobs, LastBytes      int64
	LastLinks                 int64
}
