package wharf

import "time"

// LogExport is a queued or finished export of a namespace's or a
// repository's action log (Quay's POST …/exportlogs): the export job
// writes the entries of [Start, End) to one JSON file in blob storage and
// tells the requester where it is.
type LogExport struct {
	ID int64
	// UUID is the export_id the requester is given.
	UUID string
	// FileName names the exported file, "<UUID>-<random UUID>", so that
	// its download URL cannot be derived from the export_id.
	FileName       string
	NamespaceID    int64
	NamespaceName  string
	RepositoryID   int64  // 0: the whole namespace
	RepositoryName string // "": the whole namespace
	Start, End     time.Time
	CallbackURL    string // "": none
	CallbackEmail  string // "": none
	// Status is the outcome of the export (ExportSucceeded, …); "" while
	// the file is not written yet.
	Status string
	// Delivery is where telling the requester stands (DeliveryPending, …).
	Delivery string
	// Attempts counts the callback POSTs made; NextAttemptAt is when the
	// job next works on the export.
	Attempts      int
	NextAttemptAt time.Time
	// Note says what went wrong, for operators: the last callback failure,
	// an e-mail that was not sent.
	Note string
	// FileExpiresAt is when the written file stops being served and is
	// removed (EXPORT_ACTION_LOGS_SECONDS after it was written); zero
	// while there is no file to serve.
	FileExpiresAt time.Time
	CreatedAt     time.Time
}

// Export outcomes, the "status" of Quay's callback.
const (
	ExportSucceeded = "success"
	ExportFailed    = "failed"
	ExportTimedOut  = "timedout"
)

// Delivery states of a LogExport.
const (
	DeliveryPending   = "pending"   // the file, or the callback, is still to be done
	DeliveryDone      = "done"      // every notification was made (or none was asked for)
	DeliveryAbandoned = "abandoned" // the callback failed every attempt
)
