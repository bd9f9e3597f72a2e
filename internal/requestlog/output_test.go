package requestlog_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/requestlog"
)

// TestWriteRequestMatchesSlog checks the hand-formatted request line
// against the line slog's own handler writes for the same record, byte for
// byte, in both formats — including the paths a client chooses, whose
// quoting and escaping keep one request on one line.
func TestWriteRequestMatchesSlog(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 40, 1, 123456789, time.UTC)
	tests := []struct {
		name string
		req  requestlog.Request
	}{
		{"plain", requestlog.Request{Face: "registry", Method: "GET", Path: "/v2/acme/app/manifests/v1", Status: 200,
			BytesOut: 1234, Took: 1234567 * time.Nanosecond, IP: "10.0.0.1",
			Record: &requestlog.Record{ID: "0123456789abcdef", Route: "manifest", CallerKind: "robot", CallerName: "acme+ci"}}},
		{"error and no caller", requestlog.Request{Face: "api", Method: "POST", Path: "/api/v1/user/", Status: 401,
			BytesIn: 17, Took: 900 * time.Microsecond, IP: "::1",
			Record: &requestlog.Record{ID: "fedcba9876543210", Route: "/api/v1/user/", Error: "unauthorized"}}},
		{"hostile path", requestlog.Request{Face: "api", Method: "GET",
			Path: "/a b=\"c\"\n\r\t\x00\x7f\\ é \u2028\u2029 \xff\u00a0", Status: 404, Took: time.Second, IP: "10.0.0.2",
			Record: &requestlog.Record{ID: "00000000000000ff", Route: "unmatched"}}},
		{"backslash alone", requestlog.Request{Face: "api", Method: "GET", Path: `/a\b`, Status: 404,
			Record: &requestlog.Record{ID: "3", Route: "unmatched"}}},
		{"empty values", requestlog.Request{Face: "ops", Method: "GET", Path: "", Status: 200, Level: slog.LevelWarn,
			Record: &requestlog.Record{ID: "1", Route: ""}}},
		{"whole milliseconds", requestlog.Request{Face: "api", Method: "GET", Path: "/", Status: 200, Took: 3 * time.Second,
			Record: &requestlog.Record{ID: "4"}}},
		{"trailing zero", requestlog.Request{Face: "api", Method: "GET", Path: "/", Status: 200, Took: 1500 * time.Microsecond,
			Record: &requestlog.Record{ID: "5"}}},
		{"one microsecond", requestlog.Request{Face: "api", Method: "GET", Path: "/", Status: 200, Took: 1001 * time.Microsecond,
			Record: &requestlog.Record{ID: "6"}}},
		{"sub-microsecond", requestlog.Request{Face: "registry", Method: "HEAD", Path: "/v2/", Status: 200, Took: 999,
			Record: &requestlog.Record{ID: "2", Route: "base"}}},
	}
	for _, tc := range tests {
		for _, json := range []bool{false, true} {
			name := tc.name + "/text"
			if json {
				name = tc.name + "/json"
			}
			t.Run(name, func(t *testing.T) {
				var got, want bytes.Buffer
				req := tc.req
				req.Completed = at
				requestlog.NewOutput(&got, json).WriteRequest(context.Background(), &req)
				requestlog.NewOutput(&want, json).Handle(context.Background(), slogRecord(&req))
				if got.String() != want.String() {
					t.Errorf("line differs from slog's:\n got %q\nwant %q", got.String(), want.String())
				}
			})
		}
	}
}

// slogRecord is the record slog would be given for req.
func slogRecord(req *requestlog.Request) slog.Record {
	rec := req.Record
	r := slog.NewRecord(req.Completed, req.Level, "request", 0)
	r.AddAttrs(slog.String("request_id", rec.ID), slog.String("face", req.Face), slog.String("method", req.Method),
		slog.String("route", rec.Route), slog.String("path", req.Path), slog.Int("status", req.Status),
		slog.Int64("bytes", req.BytesOut), slog.Int64("bytes_in", req.BytesIn),
		slog.Float64("duration_ms", float64(req.Took.Microseconds())/1000), slog.String("ip", req.IP))
	if rec.CallerKind != "" {
		r.AddAttrs(slog.String("caller_kind", rec.CallerKind), slog.String("caller", rec.CallerName))
	}
	if rec.Error != "" {
		r.AddAttrs(slog.String("error", rec.Error))
	}
	return r
}

// FuzzWriteRequest feeds client-chosen paths and methods to both
// formatters: the line must be slog's, whatever the bytes.
func FuzzWriteRequest(f *testing.F) {
	for _, seed := range []string{"/v2/", "/a b", "\x00\n\"", "\xff\xfe", "\u2028=é"} {
		f.Add(seed, "GET")
	}
	f.Fuzz(func(t *testing.T, path, method string) {
		for _, json := range []bool{false, true} {
			var got, want bytes.Buffer
			took := time.Duration(len(path)*7919+len(method)*104729) * time.Microsecond // some durations, whole and not
			req := requestlog.Request{Face: "api", Method: method, Path: path, Status: 404, Took: took,
				Record: &requestlog.Record{ID: "1", Route: "unmatched"}, Completed: time.Unix(0, 0).UTC()}
			requestlog.NewOutput(&got, json).WriteRequest(context.Background(), &req)
			requestlog.NewOutput(&want, json).Handle(context.Background(), slogRecord(&req))
			if got.String() != want.String() {
				t.Fatalf("json=%v: line differs from slog's:\n got %q\nwant %q", json, got.String(), want.String())
			}
		}
	})
}

func TestWriteRequestBelowLevel(t *testing.T) {
	var out bytes.Buffer
	requestlog.NewOutput(&out, true).WriteRequest(context.Background(), &requestlog.Request{
		Level: slog.LevelDebug, Record: &requestlog.Record{ID: "1"}, Completed: time.Now()})
	if out.Len() != 0 {
		t.Errorf("a debug line was written at the default level: %q", out.String())
	}
}

// TestWriteRequestTimes writes lines at a sequence of times through one
// Output, whose formatted second is reused within a second and location:
// each line's time must be slog's, in both formats.
func TestWriteRequestTimes(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+1800)
	base := time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)
	times := []time.Time{
		base,
		base.Add(123456789),
		base.Add(100 * time.Millisecond),
		base.Add(999999999),
		base.Add(time.Second), // the next day
		base.Add(time.Second).In(india),
		base.Add(time.Second + 1).In(india),
		base.Add(time.Second + 1),
		time.Date(1999, 1, 1, 0, 0, 0, 5000, time.Local),
	}
	for _, json := range []bool{false, true} {
		var got bytes.Buffer
		out := requestlog.NewOutput(&got, json)
		for _, at := range times {
			got.Reset()
			var want bytes.Buffer
			req := requestlog.Request{Face: "api", Method: "GET", Path: "/", Status: 200, Completed: at,
				Record: &requestlog.Record{ID: "1"}}
			out.WriteRequest(context.Background(), &req)
			requestlog.NewOutput(&want, json).Handle(context.Background(), slogRecord(&req))
			if got.String() != want.String() {
				t.Errorf("json=%v, %v: line differs from slog's:\n got %q\nwant %q", json, at, got.String(), want.String())
			}
		}
	}
}
