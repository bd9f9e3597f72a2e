package auditlog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestParseWindow(t *testing.T) {
	// A time of day and a non-UTC location prove that defaults keep the
	// time of day and that results come back in UTC.
	now := time.Date(2025, 2, 18, 19, 29, 14, 0, time.FixedZone("CET", 3600)) // 18:29:14 UTC
	nowUTC := now.UTC()
	day := 24 * time.Hour
	month := 31 * day
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }

	tests := []struct {
		name       string
		start, end string
		maxSpan    time.Duration
		want       Window
		wantErr    string // substring of the client message; "" means success
	}{
		// Defaults: [now−24h, now+24h), time of day kept.
		{name: "both empty", want: Window{nowUTC.Add(-day), nowUTC.Add(day)}},
		{name: "empty start", end: "02/20/2025", want: Window{nowUTC.Add(-day), utc(2025, 2, 21, 0, 0)}},
		{name: "empty end", start: "02/10/2025", want: Window{utc(2025, 2, 10, 0, 0), nowUTC.Add(day)}},

		// The end date is inclusive: its midnight plus one day.
		{name: "same day", start: "02/17/2025", end: "02/17/2025", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 0, 0)}},
		{name: "inclusive end", start: "02/01/2025", end: "02/28/2025", want: Window{utc(2025, 2, 1, 0, 0), utc(2025, 3, 1, 0, 0)}},
		{name: "leap day", start: "02/29/2024", end: "02/29/2024", want: Window{utc(2024, 2, 29, 0, 0), utc(2024, 3, 1, 0, 0)}},
		{name: "end crosses year", start: "12/31/2024", end: "12/31/2024", want: Window{utc(2024, 12, 31, 0, 0), utc(2025, 1, 1, 0, 0)}},

		// Single-digit month and day, mixed with padded ones.
		{name: "single digits", start: "2/7/2025", end: "2/9/2025", want: Window{utc(2025, 2, 7, 0, 0), utc(2025, 2, 10, 0, 0)}},
		{name: "single month padded day", start: "2/07/2025", end: "12/1/2025", want: Window{utc(2025, 2, 7, 0, 0), utc(2025, 12, 2, 0, 0)}},

		// Zones: midnight in that zone, reported in UTC.
		{name: "zone UTC", start: "02/17/2025 UTC", end: "02/17/2025 UTC", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 0, 0)}},
		{name: "zone GMT", start: "02/17/2025 GMT", end: "02/17/2025 GMT", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 0, 0)}},
		{name: "zone Z", start: "02/17/2025 Z", end: "02/17/2025 Z", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 0, 0)}},
		{name: "zone lower case utc", start: "02/17/2025 utc", end: "02/17/2025 gmt", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 0, 0)}},
		{name: "zone +0200", start: "02/17/2025 +0200", end: "02/17/2025 +0200", want: Window{utc(2025, 2, 16, 22, 0), utc(2025, 2, 17, 22, 0)}},
		{name: "zone -0530", start: "02/17/2025 -0530", end: "02/17/2025 -0530", want: Window{utc(2025, 2, 17, 5, 30), utc(2025, 2, 18, 5, 30)}},
		{name: "zone +02:00", start: "02/17/2025 +02:00", end: "02/18/2025 -05:30", want: Window{utc(2025, 2, 16, 22, 0), utc(2025, 2, 19, 5, 30)}},
		{name: "zone only on end", start: "02/17/2025", end: "02/17/2025 -0100", want: Window{utc(2025, 2, 17, 0, 0), utc(2025, 2, 18, 1, 0)}},

		// Bad values name the parameter and show the format.
		{name: "bad day 02/30", start: "02/30/2025", wantErr: `Invalid starttime: "02/30/2025"; expected MM/DD/YYYY`},
		{name: "bad day not leap", end: "02/29/2025", wantErr: `Invalid endtime: "02/29/2025"; expected MM/DD/YYYY`},
		{name: "bad month 13", start: "13/01/2025", wantErr: "Invalid starttime"},
		{name: "month zero", start: "00/10/2025", wantErr: "Invalid starttime"},
		{name: "day zero", start: "01/00/2025", wantErr: "Invalid starttime"},
		{name: "year zero", start: "01/01/0000", wantErr: "Invalid starttime"},
		{name: "two-digit year", start: "01/01/25", wantErr: "Invalid starttime"},
		{name: "three-digit month", start: "001/01/2025", wantErr: "Invalid starttime"},
		{name: "ISO date", start: "2025-02-17", wantErr: "Invalid starttime"},
		{name: "text", end: "yesterday", wantErr: "Invalid endtime"},
		{name: "trailing junk", start: "02/17/2025x", wantErr: "Invalid starttime"},
		{name: "time of day", start: "02/17/2025 10:00", wantErr: "Invalid starttime"},
		{name: "trailing space", start: "02/17/2025 ", wantErr: "Invalid starttime"},
		{name: "leading space", start: " 02/17/2025", wantErr: "Invalid starttime"},
		{name: "two spaces before zone", start: "02/17/2025  UTC", wantErr: "Invalid starttime"},
		{name: "zone then junk", start: "02/17/2025 UTC x", wantErr: "Invalid starttime"},
		{name: "ambiguous zone name", start: "02/17/2025 CST", wantErr: "Invalid starttime"},
		{name: "zone without sign", start: "02/17/2025 0200", wantErr: "Invalid starttime"},
		{name: "zone hour 24", start: "02/17/2025 +2400", wantErr: "Invalid starttime"},
		{name: "zone minute 60", start: "02/17/2025 +0160", wantErr: "Invalid starttime"},
		{name: "zone short", start: "02/17/2025 +02", wantErr: "Invalid starttime"},
		{name: "zone bad colon", start: "02/17/2025 +02-00", wantErr: "Invalid starttime"},
		{name: "signed month", start: "+2/17/2025", wantErr: "Invalid starttime"},
		{name: "extra slash", start: "02/17/2025/", wantErr: "Invalid starttime"},
		{name: "long value cut short", start: strings.Repeat("9", 500), wantErr: `Invalid starttime: "9999999999999999999999999999999999999999…"`},
		{name: "start checked first", start: "bad", end: "bad", wantErr: "Invalid starttime"},

		// Reversed and empty windows are refused, not answered with nothing.
		{name: "reversed", start: "02/18/2025", end: "02/17/2025", wantErr: "starttime must be before endtime"},
		{name: "start after default end", start: "03/01/2025", wantErr: "starttime must be before endtime"},
		{name: "end before default start", end: "01/01/2025", wantErr: "starttime must be before endtime"},
		{name: "zones make it empty", start: "02/17/2025 -1200", end: "02/16/2025 +1200", wantErr: "starttime must be before endtime"},

		// Span cap: only when maxSpan > 0; exactly maxSpan is allowed.
		{name: "no cap for listAllLogs", start: "01/01/2020", end: "12/31/2025", want: Window{utc(2020, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0)}},
		{name: "exactly 31 days", start: "01/01/2025", end: "01/31/2025", maxSpan: month, want: Window{utc(2025, 1, 1, 0, 0), utc(2025, 2, 1, 0, 0)}},
		{name: "31 days and one minute", start: "01/01/2025", end: "01/31/2025 -0001", maxSpan: month, wantErr: "the log window cannot be longer than 31 days"},
		{name: "32 days", start: "01/01/2025", end: "02/01/2025", maxSpan: month, wantErr: "the log window cannot be longer than 31 days"},
		{name: "default window under cap", maxSpan: month, want: Window{nowUTC.Add(-day), nowUTC.Add(day)}},
		{name: "cap text uses maxSpan", start: "01/01/2025", end: "01/07/2025", maxSpan: 5 * day, wantErr: "the log window cannot be longer than 5 days"},
		{name: "cap of one day", start: "01/01/2025", end: "01/02/2025", maxSpan: day, wantErr: "the log window cannot be longer than 1 day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWindow(tt.start, tt.end, now, tt.maxSpan)
			if tt.wantErr != "" {
				var e *wharf.Error
				if !errors.As(err, &e) || e.Code != wharf.Invalid {
					t.Fatalf("got %+v, %v; want Invalid error", got, err)
				}
				if !strings.Contains(e.Message, tt.wantErr) {
					t.Fatalf("message %q does not contain %q", e.Message, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWindow: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("window mismatch (-want +got):\n%s", diff)
			}
			if got.Start.Location() != time.UTC || got.End.Location() != time.UTC {
				t.Errorf("window not in UTC: %v – %v", got.Start, got.End)
			}
		})
	}
}

// TestParseWindowSpanBoundary pins the cap to the second, with now-based
// defaults on one side so that the boundary does not depend on midnights.
func TestParseWindowSpanBoundary(t *testing.T) {
	const month = 31 * 24 * time.Hour
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Empty endtime puts End at now+24h, so End−Start = now+24h−start.
	for _, tt := range []struct {
		name string
		span time.Duration
		ok   bool
	}{
		{"exactly 31 days", month, true},
		{"31 days plus one second", month + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := start.Add(tt.span - 24*time.Hour)
			w, err := ParseWindow("01/01/2025", "", now, month)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseWindow: %v", err)
				}
				if got := w.End.Sub(w.Start); got != tt.span {
					t.Fatalf("span %v, want %v", got, tt.span)
				}
				return
			}
			if !wharf.IsCode(err, wharf.Invalid) || !strings.Contains(wharf.ErrorMessage(err), "cannot be longer than 31 days") {
				t.Fatalf("got %+v, %v; want span error", w, err)
			}
		})
	}
}

func FuzzParseWindow(f *testing.F) {
	f.Add("02/17/2025", "02/18/2025", int64(1739820554), int64(0))
	f.Add("2/7/2025 +0200", "2/9/2025 -05:30", int64(1739820554), int64(31*24*3600))
	f.Add("", "", int64(0), int64(-1))
	f.Add("02/30/2025", "yesterday", int64(-62135596800), int64(1))
	f.Add("12/31/9999 -2359", "", int64(253402300799), int64(1<<40))
	f.Fuzz(func(t *testing.T, start, end string, nowUnix, maxSpanSec int64) {
		now := time.Unix(nowUnix, 0)
		maxSpan := time.Duration(maxSpanSec) * time.Second // may wrap; any value must be safe
		w, err := ParseWindow(start, end, now, maxSpan)
		if err != nil {
			if !wharf.IsCode(err, wharf.Invalid) {
				t.Fatalf("ParseWindow(%q, %q, %v, %v): error %v is not Invalid", start, end, now, maxSpan, err)
			}
			return
		}
		if !w.Start.Before(w.End) {
			t.Fatalf("ParseWindow(%q, %q, %v, %v) = %v – %v: start not before end", start, end, now, maxSpan, w.Start, w.End)
		}
		if maxSpan > 0 && w.End.Sub(w.Start) > maxSpan {
			t.Fatalf("ParseWindow(%q, %q, %v, %v): span %v over cap", start, end, now, maxSpan, w.End.Sub(w.Start))
		}
		if w.Start.Location() != time.UTC || w.End.Location() != time.UTC {
			t.Fatalf("window not in UTC: %v – %v", w.Start, w.End)
		}
	})
}
