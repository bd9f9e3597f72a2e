package auditlog

import (
	"strconv"
	"strings"
	"time"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Window is a half-open time range [Start, End) of the action log, in UTC.
type Window struct{ Start, End time.Time }

// windowFormat is shown to clients whose starttime/endtime does not parse.
const windowFormat = "MM/DD/YYYY, optionally followed by a space and a zone (UTC, GMT, Z, +0200, -05:30)"

// windowDay is the default reach of the window on either side of now, and
// the amount added to a given end date so that the end date is inclusive.
const windowDay = 24 * time.Hour

// ParseWindow applies Quay's listAllLogs rules to the starttime/endtime query values.
//
// A value is MM/DD/YYYY (month and day may be one digit), optionally followed
// by one space and a zone (UTC, GMT, Z, ±hhmm or ±hh:mm); it stands for
// midnight of that date in that zone, UTC if none. An empty starttime means
// now−24h; an empty endtime means now+24h; a given endtime means its midnight
// plus 24h, so the end date is inclusive as in Quay.
//
// Where Quay silently falls back to the default window or returns nothing,
// ParseWindow returns a wharf.Invalid error: for a value that does not parse
// (naming the parameter), for start ≥ end, and, when maxSpan > 0, for a
// window longer than maxSpan. Callers pass maxSpan 0 for listAllLogs (no cap)
// and 31 days for the aggregated counts.
func ParseWindow(starttime, endtime string, now time.Time, maxSpan time.Duration) (Window, error) {
	now = now.UTC()
	w := Window{Start: now.Add(-windowDay), End: now.Add(windowDay)}
	if starttime != "" {
		t, ok := parseWindowDate(starttime)
		if !ok {
			return Window{}, windowInvalidDate("starttime", starttime)
		}
		w.Start = t
	}
	if endtime != "" {
		t, ok := parseWindowDate(endtime)
		if !ok {
			return Window{}, windowInvalidDate("endtime", endtime)
		}
		w.End = t.Add(windowDay)
	}
	if !w.Start.Before(w.End) {
		return Window{}, wharf.Errorf(wharf.Invalid, "starttime must be before endtime")
	}
	if maxSpan > 0 && w.End.Sub(w.Start) > maxSpan {
		return Window{}, wharf.Errorf(wharf.Invalid, "the log window cannot be longer than %s", windowDays(maxSpan))
	}
	return w, nil
}

// parseWindowDate parses one starttime/endtime value into the UTC instant of
// that date's midnight in the given zone. It is written by hand rather than
// with time.Parse so that exactly the documented forms are accepted: no
// leading or trailing blanks, no zone names time.Parse would guess at.
func parseWindowDate(s string) (time.Time, bool) {
	date, zone, hasZone := strings.Cut(s, " ")
	parts := strings.Split(date, "/")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	month, ok1 := parseWindowNumber(parts[0], 1, 2)
	day, ok2 := parseWindowNumber(parts[1], 1, 2)
	year, ok3 := parseWindowNumber(parts[2], 4, 4)
	if !ok1 || !ok2 || !ok3 || year < 1 || month < 1 || month > 12 || day < 1 {
		return time.Time{}, false
	}
	offset := 0
	if hasZone {
		var ok bool
		if offset, ok = parseWindowZone(zone); !ok {
			return time.Time{}, false
		}
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.FixedZone("", offset))
	// time.Date normalises 02/30 to 03/02; a date that does not survive the
	// round trip does not exist.
	if t.Day() != day || t.Month() != time.Month(month) {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseWindowZone returns the offset east of UTC in seconds for UTC, GMT, Z
// (any case, as Python's %Z matches them) and ±hhmm or ±hh:mm. Other zone
// abbreviations are refused: they are ambiguous (CST is three offsets).
func parseWindowZone(z string) (int, bool) {
	switch strings.ToUpper(z) {
	case "UTC", "GMT", "Z":
		return 0, true
	}
	if len(z) != 5 && len(z) != 6 {
		return 0, false
	}
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}
	hh, mm := z[1:3], z[3:]
	if len(z) == 6 {
		if z[3] != ':' {
			return 0, false
		}
		mm = z[4:]
	}
	h, ok1 := parseWindowNumber(hh, 2, 2)
	m, ok2 := parseWindowNumber(mm, 2, 2)
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// parseWindowNumber parses an unsigned decimal of minDigits to maxDigits
// ASCII digits; strconv.Atoi alone would also take signs.
func parseWindowNumber(s string, minDigits, maxDigits int) (int, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// windowInvalidDate names the parameter and shows the expected format. The
// value is echoed quoted and cut short so that a hostile value cannot fill
// the error body.
func windowInvalidDate(param, value string) error {
	const maxEcho = 40
	if len(value) > maxEcho {
		value = strings.ToValidUTF8(value[:maxEcho], "") + "…"
	}
	return wharf.Errorf(wharf.Invalid, "Invalid %s: %q; expected %s", param, value, windowFormat)
}

// windowDays renders a span in days for the error text: "31 days", "1 day",
// "1.5 days".
func windowDays(d time.Duration) string {
	days := strconv.FormatFloat(d.Hours()/24, 'f', -1, 64)
	if days == "1" {
		return "1 day"
	}
	return days + " days"
}
