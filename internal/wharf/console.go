package wharf

import "time"

// AccountSearch selects one page of accounts for the web console's lists:
// filtered by text, sorted by a column, paged by offset, with the total.
type AccountSearch struct {
	Kinds       []AccountKind
	Text        string // "" = all; else a case-insensitive substring of the name or e-mail
	EnabledOnly bool
	UsedOnly    bool   // only namespaces that hold bytes
	Sort        string // "name", "email", "created" or "usage"
	Desc        bool
	Offset      int
	Limit       int
}

// LogSearch selects action-log entries for the web console: any window,
// filtered by kind, performer, namespace and repository (each "" = any),
// newest first.
type LogSearch struct {
	Start, End time.Time
	Kind       string
	Performer  string // performer name as recorded
	Namespace  string // namespace name as recorded
	Repository string // the entry's metadata "repo"
	After      *LogCursor
	Limit      int
	Raw        bool
}
