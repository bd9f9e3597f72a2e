package wharf

// QuotaLimits are the rules a namespace's growth is judged by: the one
// place wharf decides whether bytes may arrive, whichever way they come (a
// monolithic or chunked upload, a mount, a build's push).
//
// What a namespace is charged for is what it keeps in storage: every blob
// linked to one of its repositories, each unique digest once (a blob
// arrives linked: an upload that completes or a mount links it, a manifest
// may reference only linked blobs), plus the bytes reserved by its
// uploads in progress. Quay counts only blobs its manifests reference; wharf
// also counts the ones no manifest references yet, or no sequence of
// uploads that never push a manifest could be stopped.
type QuotaLimits struct {
	// Quota is the namespace's limit_bytes, 0 without a quota.
	Quota int64
	// Reject is the charge past which growth is refused: the quota's
	// lowest Reject threshold (never above limit_bytes), the configured
	// default without a quota; 0 means unlimited.
	Reject int64
	// WarnAt are the byte thresholds of the quota's Warning limits.
	WarnAt []int64
}

// QuotaLimitsOf returns the limits of quota q (nil: none, and defaultReject
// applies).
func QuotaLimitsOf(q *Quota, defaultReject int64) QuotaLimits {
	if q == nil {
		return QuotaLimits{Reject: defaultReject}
	}
	l := QuotaLimits{Quota: q.LimitBytes, Reject: q.LimitBytes}
	for _, lim := range q.Limits {
		at := q.LimitBytes * lim.Percent / 100
		if lim.Kind == "Reject" {
			l.Reject = min(l.Reject, at)
		} else {
			l.WarnAt = append(l.WarnAt, at)
		}
	}
	return l
}

// Limited reports whether growth is ever refused.
func (l QuotaLimits) Limited() bool { return l.Reject > 0 }

// Admit decides whether added bytes may arrive in namespace, which is
// charged for charged bytes now: QuotaExceeded when they would take it past
// its Reject limit. Nothing added is always admitted.
func (l QuotaLimits) Admit(namespace string, charged, added int64) error {
	if added <= 0 || l.Reject <= 0 || charged+added <= l.Reject {
		return nil
	}
	return QuotaError(&QuotaExceededError{Namespace: namespace, Added: added, Usage: charged, Limit: l.Reject})
}

// Warnings returns a quota_warning entry, performed by c, for each Warning
// threshold that growing ns's usage from before to after crosses.
func (l QuotaLimits) Warnings(c *Caller, ns *Account, before, after int64) []LogEntry {
	var out []LogEntry
	for _, at := range l.WarnAt {
		if before < at && after >= at {
			out = append(out, c.Entry("quota_warning", ns, map[string]any{"namespace": ns.Name,
				"usage_bytes": after, "threshold_bytes": at, "limit_bytes": l.Quota}))
		}
	}
	return out
}
