package requestlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

func TestKindOf(t *testing.T) {
	user := &wharf.Account{Name: "alice", Kind: wharf.KindUser}
	tests := []struct {
		name   string
		caller *wharf.Caller
		want   string
	}{
		{"nil", nil, requestlog.Anonymous},
		{"anonymous", wharf.Anonymous("127.0.0.1"), requestlog.Anonymous},
		{"password", &wharf.Caller{Account: user}, requestlog.User},
		{"session", &wharf.Caller{Account: user, Session: &wharf.Session{}}, requestlog.Session},
		{"oauth token", &wharf.Caller{Account: user, Token: &wharf.AccessToken{}}, requestlog.OAuth},
		{"robot", &wharf.Caller{Account: &wharf.Account{Name: "acme+ci"}, Robot: &wharf.Robot{}}, requestlog.Robot},
		{"build", &wharf.Caller{Account: user, Build: &wharf.Build{}}, requestlog.Build},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := requestlog.KindOf(tc.caller); got != tc.want {
				t.Errorf("KindOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNilRecord: faces call the setters whether or not a front made a
// record.
func TestNilRecord(t *testing.T) {
	rec := requestlog.FromContext(context.Background())
	if rec != nil {
		t.Fatalf("FromContext of a bare context = %v, want nil", rec)
	}
	rec.SetRoute("manifest")
	rec.SetCaller(requestlog.User, "alice")
	rec.SetWharfCaller(nil)
	rec.SetError("internal")
}

// TestHandler: lines logged with a request's context carry its id, also
// through loggers derived with With; others do not.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(requestlog.Handler{Handler: slog.NewJSONHandler(&buf, nil)})
	rec := &requestlog.Record{ID: requestlog.NewID()}
	ctx := requestlog.NewContext(context.Background(), rec)
	tests := []struct {
		name string
		log  func()
		want string
	}{
		{"with the request's context", func() { log.InfoContext(ctx, "x") }, rec.ID},
		{"derived with With", func() { log.With("k", "v").InfoContext(ctx, "x") }, rec.ID},
		{"without a context", func() { log.Info("x") }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			got, _ := line["request_id"].(string)
			if got != tc.want {
				t.Errorf("request_id = %q, want %q (line %s)", got, tc.want, buf.Bytes())
			}
		})
	}
	if len(rec.ID) != 16 || rec.ID == requestlog.NewID() {
		t.Errorf("NewID = %q: want 16 fresh hex digits", rec.ID)
	}
}
