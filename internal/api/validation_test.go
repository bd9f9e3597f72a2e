package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// snapshot renders the whole observable state of the store that a refused
// request must leave alone: every account of every kind with all its fields,
// the teams, quota (with its limits) and OAuth applications of every
// account, and the whole action log. Two snapshots are equal exactly when
// none of that changed.
func snapshot(t testing.TB, store *db.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	var all []*wharf.Account
	for _, kind := range []wharf.AccountKind{wharf.KindUser, wharf.KindOrg, wharf.KindRobot} {
		accounts, err := store.Accounts.ListAccounts(ctx, wharf.AccountPage{Kind: kind})
		if err != nil {
			t.Fatalf("snapshot: list %s accounts: %v", kind, err)
		}
		for _, a := range accounts {
			fmt.Fprintf(&b, "account id=%d name=%q kind=%s email=%q hash=%q enabled=%t verified=%t superuser=%t tag_expiration_s=%d invoice_email=%t invoice_email_address=%q created=%d\n",
				a.ID, a.Name, a.Kind, a.Email, a.PasswordHash, a.Enabled, a.Verified, a.Superuser,
				a.TagExpirationS, a.InvoiceEmail, a.InvoiceEmailAddress, a.CreatedAt.UnixMicro())
		}
		all = append(all, accounts...)
	}
	for _, a := range all {
		teams, err := store.Accounts.OrgTeams(ctx, a.ID)
		if err != nil {
			t.Fatalf("snapshot: teams of %s: %v", a.Name, err)
		}
		for _, tm := range teams {
			fmt.Fprintf(&b, "team id=%d org=%d name=%q role=%q description=%q members=%d\n",
				tm.ID, tm.OrgID, tm.Name, tm.Role, tm.Description, tm.MemberCount)
		}
		q, err := store.Quotas.NamespaceQuota(ctx, a.ID)
		switch {
		case err == nil:
			fmt.Fprintf(&b, "quota id=%d namespace=%d limit_bytes=%d limits=%+v\n", q.ID, q.NamespaceID, q.LimitBytes, q.Limits)
		case !wharf.IsCode(err, wharf.NotFound):
			t.Fatalf("snapshot: quota of %s: %v", a.Name, err)
		}
		apps, err := store.OAuth.Applications(ctx, a.ID)
		if err != nil {
			t.Fatalf("snapshot: applications of %s: %v", a.Name, err)
		}
		for _, ap := range apps {
			fmt.Fprintf(&b, "application id=%d org=%d client_id=%q secret=%q name=%q description=%q uri=%q redirect=%q avatar_email=%q created=%d\n",
				ap.ID, ap.OrgID, ap.ClientID, ap.ClientSecret, ap.Name, ap.Description, ap.ApplicationURI,
				ap.RedirectURI, ap.AvatarEmail, ap.CreatedAt.UnixMicro())
		}
	}
	entries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().AddDate(100, 0, 0), Limit: 1 << 30})
	if err != nil {
		t.Fatalf("snapshot: list logs: %v", err)
	}
	for _, e := range entries {
		meta, err := json.Marshal(e.Metadata) // map keys are sorted
		if err != nil {
			t.Fatalf("snapshot: log metadata: %v", err)
		}
		fmt.Fprintf(&b, "log id=%d kind=%q account=%+v performer=%+v ip=%q time=%d metadata=%s\n",
			e.ID, e.Kind, e.Account, e.Performer, e.IP, e.Time.UnixMicro(), meta)
	}
	return b.String()
}

// snapshotDiff lists the lines only in before (-) and only in after (+).
func snapshotDiff(before, after string) string {
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// boundTo returns a copy of c whose fatal transport errors fail t (a
// subtest) rather than the test that created the environment.
func (c *client) boundTo(t testing.TB) *client {
	env := *c.env
	env.t = t
	cc := *c
	cc.env = &env
	return &cc
}

// errorTypeFor is the error_type wharf must pair with each 4xx status.
var errorTypeFor = map[int]string{
	http.StatusBadRequest:            "invalid_request",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
}

// checkProblem asserts that r is wharf's one /api/v1 error body with the
// wanted status: application/json, Quay's problem JSON fields plus message.
// msg, if set, is the exact detail; contains, if set, must occur in it.
func checkProblem(t testing.TB, r *response, status int, msg, contains string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d; body: %.300s", r.Status, status, r.Body)
		if r.Status < 400 {
			return // a success body: the error-body checks below would only add noise
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Errorf("body is not a JSON object: %v: %.300s", err, r.Body)
		return
	}
	for _, k := range []string{"detail", "error_message", "error_type", "title", "type", "status", "message"} {
		if _, ok := m[k]; !ok {
			t.Errorf("error body lacks %q: %s", k, r.Body)
		}
	}
	str := func(k string) string {
		s, ok := m[k].(string)
		if !ok && m[k] != nil {
			t.Errorf("%q is %T, want a string: %s", k, m[k], r.Body)
		}
		return s
	}
	detail, errMsg, message := str("detail"), str("error_message"), str("message")
	errType, title, typ := str("error_type"), str("title"), str("type")
	if s, ok := m["status"].(float64); !ok || int(s) != r.Status {
		t.Errorf("body status %v, want the HTTP status %d", m["status"], r.Status)
	}
	if message == "" {
		t.Errorf("message is empty: %s", r.Body)
	}
	if message != detail || errMsg != detail {
		t.Errorf("detail %q, error_message %q and message %q differ", detail, errMsg, message)
	}
	// Quay's other 400, InvalidResponse, is the superuser build views' answer
	// for an unknown build or a missing log archive (spec §2.22, §3.8);
	// every other 400 is invalid_request.
	lostBuild := r.Status == http.StatusBadRequest && errType == "invalid_response" &&
		(strings.HasPrefix(detail, "Unable to locate a build by id: ") || detail == "Archived logs not available")
	if want, ok := errorTypeFor[r.Status]; ok && errType != want && !lostBuild {
		t.Errorf("error_type %q, want %q for status %d", errType, want, r.Status)
	}
	if title != errType {
		t.Errorf("title %q differs from error_type %q", title, errType)
	}
	if !strings.HasPrefix(typ, "http") || !strings.HasSuffix(typ, "/api/v1/error/"+errType) {
		t.Errorf("type %q is not <base>/api/v1/error/%s", typ, errType)
	}
	if msg != "" && detail != msg {
		t.Errorf("detail %q\nwant   %q", detail, msg)
	}
	if contains != "" && !strings.Contains(detail, contains) {
		t.Errorf("detail %q does not contain %q", detail, contains)
	}
}

// badInput is one refused request.
type badInput struct {
	name         string
	anonymous    bool // send without credentials (default: the superuser's token)
	method, path string
	body         any      // string = raw bytes, nil = no body, else JSON-encoded
	headers      []string // name, value pairs (override Content-Type)
	status       int
	msg          string // exact detail; "" = any non-empty text
	contains     string // substring of detail
}

// goodInput is a positive control: it must succeed, and change the store
// exactly when changes is set.
type goodInput struct {
	name         string
	method, path string
	body         any
	headers      []string
	status       int
	changes      bool
}

// checkRefusals sends each bad input in a subtest of its own (as adm, or
// as anon when the case says so) and asserts Quay's error body and that
// snap, the store state the input must not touch, is unchanged.
func checkRefusals(t *testing.T, adm, anon *client, snap func(testing.TB) string, cases []badInput) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := adm
			if c.anonymous {
				cl = anon
			}
			before := snap(t)
			r := cl.boundTo(t).do(c.method, c.path, c.body, c.headers...)
			checkProblem(t, r, c.status, c.msg, c.contains)
			if after := snap(t); after != before {
				t.Errorf("%s %s changed the store:\n%s", c.method, c.path, snapshotDiff(before, after))
			}
		})
	}
}

// checkControls sends each positive control as adm in a subtest
// "control/<name>" and asserts its status and that snap changed exactly
// when the control says so, so that checkRefusals cannot pass vacuously.
func checkControls(t *testing.T, adm *client, snap func(testing.TB) string, controls []goodInput) {
	t.Helper()
	for _, c := range controls {
		t.Run("control/"+c.name, func(t *testing.T) {
			before := snap(t)
			r := adm.boundTo(t).do(c.method, c.path, c.body, c.headers...)
			if r.Status != c.status {
				t.Errorf("%s %s: status %d, want %d; body: %.300s", c.method, c.path, r.Status, c.status, r.Body)
			}
			after := snap(t)
			switch {
			case c.changes && after == before:
				t.Errorf("%s %s succeeded but the snapshot did not change", c.method, c.path)
			case !c.changes && after != before:
				t.Errorf("%s %s changed the store:\n%s", c.method, c.path, snapshotDiff(before, after))
			}
		})
	}
}

const (
	nameRule   = "Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$"
	lengthRule = "Namespace must be between 2 and 255 characters in length"
	badPw      = "Invalid password, password must be at least 8 characters and contain no whitespace."
	not415     = "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
)

// tamper changes one character in the middle of a page token.
func tamper(tok string) string {
	i := len(tok) / 2
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// nextPage returns the next_page of a list response, failing if absent.
func nextPage(t testing.TB, r *response) string {
	t.Helper()
	mustStatus(t, r, http.StatusOK)
	tok, _ := r.JSON(t)["next_page"].(string)
	if tok == "" {
		t.Fatalf("no next_page in %s", r.Body)
	}
	return tok
}

func TestBadInputChangesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		e.createUser(adm, "alice")
		e.createUser(adm, "carol")
		e.createUser(adm, "root2")
		mustStatus(t, adm.do("PUT", "/api/v1/superuser/users/root2", map[string]any{"superuser": true}), http.StatusOK)
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "acme", "email": "acme@example.com"}), http.StatusCreated)
		mustStatus(t, adm.do("POST", "/api/v1/organization/", map[string]any{"name": "beta"}), http.StatusCreated)
		acmeApp := e.createApp(adm, "acme")
		// More than a page of logs in the default window, for a real logs token.
		admin, err := store.Accounts.AccountByName(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 25 {
			if err := store.Logs.AppendLogs(ctx, wharf.LogEntry{Kind: "login_success", Account: wharf.PartyOf(admin),
				Performer: wharf.PartyOf(admin), IP: "10.0.0.1", Metadata: map[string]any{"seq": i}}); err != nil {
				t.Fatal(err)
			}
		}
		usersTok := nextPage(t, adm.do("GET", "/api/v1/superuser/users/?limit=1", nil))
		orgsTok := nextPage(t, adm.do("GET", "/api/v1/superuser/organizations/?limit=1", nil))
		logsTok := nextPage(t, adm.do("GET", "/api/v1/superuser/logs", nil))

		long := strings.Repeat("a", 256)
		big := `{"username": "bigbody", "pad": "` + strings.Repeat("x", 2<<20) + `"}`
		q := url.QueryEscape
		const users, orgs, logs, aggr = "/api/v1/superuser/users/", "/api/v1/superuser/organizations/", "/api/v1/superuser/logs", "/api/v1/superuser/aggregatelogs"
		const bad, notFound = http.StatusBadRequest, http.StatusNotFound

		cases := []badInput{
			// Malformed bodies.
			{name: "malformed JSON", method: "POST", path: users, body: `{"username": `, status: bad},
			{name: "malformed JSON quote", method: "PUT", path: users + "alice", body: `{'enabled': false}`, status: bad},
			{name: "JSON array", method: "POST", path: users, body: `[{"username": "bob01"}]`, status: bad},
			{name: "JSON number", method: "POST", path: users, body: `5`, status: bad},
			{name: "JSON string", method: "PUT", path: orgs + "acme", body: `"acme2"`, status: bad},
			{name: "JSON null", method: "POST", path: users, body: `null`, status: bad, msg: "Missing JSON body"},
			{name: "empty JSON body", method: "PUT", path: users + "alice", body: ``, status: bad, msg: "Missing JSON body"},
			{name: "two objects", method: "POST", path: users, body: `{"username": "bob02"} {"username": "dan"}`, status: bad},
			{name: "trailing brace", method: "POST", path: users, body: `{"username": "bob03"}}`, status: bad},
			{name: "trailing bracket", method: "POST", path: users, body: `{"username": "bob04"}]`, status: bad},
			{name: "trailing garbage", method: "POST", path: users, body: `{"username": "bob05"} x`, status: bad},
			{name: "no body POST", method: "POST", path: users, body: nil, status: http.StatusUnsupportedMediaType, msg: not415},
			// Wrong field types.
			{name: "username number", method: "POST", path: users, body: `{"username": 5}`, status: bad, contains: "'username'"},
			{name: "username object", method: "POST", path: users, body: `{"username": {"x": 1}}`, status: bad, contains: "'username'"},
			{name: "email number on create", method: "POST", path: users, body: `{"username": "bob06", "email": 3}`, status: bad, contains: "'email'"},
			{name: "enabled string", method: "PUT", path: users + "alice", body: `{"enabled": "yes"}`, status: bad, contains: "'enabled'"},
			{name: "enabled number", method: "PUT", path: users + "alice", body: `{"enabled": 0}`, status: bad, contains: "'enabled'"},
			{name: "email number on change", method: "PUT", path: users + "alice", body: `{"email": 3}`, status: bad, contains: "'email'"},
			{name: "password number", method: "PUT", path: users + "alice", body: `{"password": 12345678}`, status: bad, contains: "'password'"},
			{name: "superuser string", method: "PUT", path: users + "alice", body: `{"superuser": "true"}`, status: bad, contains: "'superuser'"},
			{name: "tag_expiration_s string (superuser)", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": "1w"}`, status: bad, contains: "'tag_expiration_s'"},
			{name: "tag_expiration_s string (org admin)", method: "PUT", path: "/api/v1/organization/acme", body: `{"tag_expiration_s": "1w"}`, status: bad, contains: "'tag_expiration_s'"},
			{name: "tag_expiration_s float", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": 86400.5}`, status: bad, contains: "'tag_expiration_s'"},
			{name: "tag_expiration_s overflow", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": 1e30}`, status: bad, contains: "'tag_expiration_s'"},
			{name: "org name number", method: "PUT", path: orgs + "acme", body: `{"name": 7}`, status: bad, contains: "'name'"},
			{name: "invoice_email string", method: "PUT", path: orgs + "acme", body: `{"invoice_email": "yes"}`, status: bad, contains: "'invoice_email'"},
			{name: "application name number", method: "POST", path: "/api/v1/organization/acme/applications", body: `{"name": 5}`, status: bad, contains: "'name'"},
			{name: "initialize username number", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": 5, "password": "longenough1"}`, status: bad},
			// Missing required fields (Quay's JSON schema is case-sensitive).
			{name: "missing username", method: "POST", path: users, body: `{}`, status: bad, msg: "'username' is a required property"},
			{name: "missing username with email", method: "POST", path: users, body: `{"email": "bob@example.com"}`, status: bad, msg: "'username' is a required property"},
			{name: "null username", method: "POST", path: users, body: `{"username": null}`, status: bad, msg: "'username' is a required property"},
			{name: "USERNAME is not username", method: "POST", path: users, body: `{"USERNAME": "bob19"}`, status: bad, msg: "'username' is a required property"},
			{name: "missing org name", method: "POST", path: "/api/v1/organization/", body: `{"email": "x@example.com"}`, status: bad, msg: "'name' is a required property"},
			{name: "missing application name", method: "POST", path: "/api/v1/organization/acme/applications", body: `{"description": "d"}`, status: bad, msg: "'name' is a required property"},
			{name: "missing application name on update", method: "PUT", path: "/api/v1/organization/acme/applications/" + acmeApp, body: `{"description": "d"}`, status: bad, msg: "'name' is a required property"},
			{name: "blank application name", method: "POST", path: "/api/v1/organization/acme/applications", body: `{"name": "  "}`, status: bad},
			{name: "blank application name on update", method: "PUT", path: "/api/v1/organization/acme/applications/" + acmeApp, body: `{"name": ""}`, status: bad},
			{name: "application name 256", method: "POST", path: "/api/v1/organization/acme/applications", body: map[string]any{"name": long}, status: bad},
			{name: "application avatar_email", method: "POST", path: "/api/v1/organization/acme/applications", body: `{"name": "x", "avatar_email": "nope"}`, status: bad, msg: "Invalid email address: nope"},
			// Names breaking Quay's rules.
			{name: "user Upper", method: "POST", path: users, body: `{"username": "Upper"}`, status: bad, msg: "Invalid namespace Upper: " + nameRule},
			{name: "user a", method: "POST", path: users, body: `{"username": "a"}`, status: bad, msg: "Invalid namespace a: " + lengthRule},
			{name: "user with space", method: "POST", path: users, body: `{"username": "with space"}`, status: bad, msg: "Invalid namespace with space: " + nameRule},
			{name: "user trailing-", method: "POST", path: users, body: `{"username": "trailing-"}`, status: bad, msg: "Invalid namespace trailing-: " + nameRule},
			{name: "user 256 chars", method: "POST", path: users, body: map[string]any{"username": long}, status: bad, msg: "Invalid namespace " + long + ": " + lengthRule},
			{name: "user empty", method: "POST", path: users, body: `{"username": ""}`, status: bad, msg: "Invalid namespace : " + nameRule},
			{name: "user robot-like", method: "POST", path: users, body: `{"username": "acme+bot"}`, status: bad, msg: "Invalid namespace acme+bot: " + nameRule},
			{name: "user non-ASCII", method: "POST", path: users, body: `{"username": "jürgen"}`, status: bad, msg: "Invalid namespace jürgen: " + nameRule},
			{name: "org Upper", method: "POST", path: "/api/v1/organization/", body: `{"name": "Upper"}`, status: bad, msg: "Invalid namespace Upper: " + nameRule},
			{name: "org a", method: "POST", path: "/api/v1/organization/", body: `{"name": "a"}`, status: bad, msg: "Invalid namespace a: " + lengthRule},
			{name: "org with space", method: "POST", path: "/api/v1/organization/", body: `{"name": "with space"}`, status: bad, msg: "Invalid namespace with space: " + nameRule},
			{name: "org trailing-", method: "POST", path: "/api/v1/organization/", body: `{"name": "trailing-"}`, status: bad, msg: "Invalid namespace trailing-: " + nameRule},
			{name: "org 256 chars", method: "POST", path: "/api/v1/organization/", body: map[string]any{"name": long}, status: bad, msg: "Invalid namespace " + long + ": " + lengthRule},
			// Invalid e-mails.
			{name: "email no at", method: "POST", path: users, body: `{"username": "bob07", "email": "not-an-email"}`, status: bad, msg: "Invalid email address: not-an-email"},
			{name: "email one-label domain", method: "POST", path: users, body: `{"username": "bob08", "email": "bob@localhost"}`, status: bad, msg: "Invalid email address: bob@localhost"},
			{name: "email empty local", method: "POST", path: users, body: `{"username": "bob09", "email": "@example.com"}`, status: bad, msg: "Invalid email address: @example.com"},
			{name: "email two ats", method: "POST", path: users, body: `{"username": "bob10", "email": "bob@@example.com"}`, status: bad, msg: "Invalid email address: bob@@example.com"},
			{name: "email space", method: "POST", path: users, body: `{"username": "bob11", "email": "b ob@example.com"}`, status: bad, msg: "Invalid email address: b ob@example.com"},
			{name: "email empty label", method: "POST", path: users, body: `{"username": "bob12", "email": "bob@example..com"}`, status: bad, msg: "Invalid email address: bob@example..com"},
			{name: "email too long", method: "POST", path: users, body: map[string]any{"username": "bob13", "email": strings.Repeat("b", 250) + "@x.io"}, status: bad, contains: "Invalid email address: "},
			{name: "org create email", method: "POST", path: "/api/v1/organization/", body: `{"name": "neworg17", "email": "nope"}`, status: bad, msg: "Invalid email address: nope"},
			{name: "org change email", method: "PUT", path: orgs + "acme", body: `{"email": "nope@"}`, status: bad, msg: "Invalid email address: nope@"},
			{name: "org change email (org admin)", method: "PUT", path: "/api/v1/organization/acme", body: `{"email": "nope"}`, status: bad, msg: "Invalid email address: nope"},
			{name: "org invoice address", method: "PUT", path: orgs + "acme", body: `{"invoice_email_address": "nope"}`, status: bad, msg: "Invalid email address: nope"},
			// Duplicates.
			{name: "username taken by user", method: "POST", path: users, body: `{"username": "alice"}`, status: bad, msg: "Username has already been taken by user cannot be reused: alice"},
			{name: "username taken by superuser", method: "POST", path: users, body: `{"username": "admin"}`, status: bad, msg: "Username has already been taken by user cannot be reused: admin"},
			{name: "username taken by org", method: "POST", path: users, body: `{"username": "acme"}`, status: bad, msg: "Username has already been taken by an organization and cannot be reused: acme"},
			{name: "email taken on create", method: "POST", path: users, body: `{"username": "bob15", "email": "alice@example.com"}`, status: bad, msg: "Email has already been used: alice@example.com"},
			{name: "email taken on change", method: "PUT", path: users + "alice", body: `{"email": "carol@example.com"}`, status: bad, msg: "E-mail address already used"},
			{name: "org name taken by user", method: "POST", path: "/api/v1/organization/", body: `{"name": "alice"}`, status: bad, contains: "already"},
			{name: "org name taken by org", method: "POST", path: "/api/v1/organization/", body: `{"name": "beta"}`, status: bad, contains: "already"},
			// Unknown users and organizations.
			{name: "get unknown user", method: "GET", path: users + "nosuch", status: notFound, msg: "Not Found"},
			{name: "get org as user", method: "GET", path: users + "acme", status: notFound, msg: "Not Found"},
			{name: "change unknown user", method: "PUT", path: users + "nosuch", body: `{"enabled": false}`, status: notFound, msg: "Not Found"},
			{name: "change org as user", method: "PUT", path: users + "acme", body: `{"enabled": false}`, status: notFound, msg: "Not Found"},
			{name: "delete unknown user", method: "DELETE", path: users + "nosuch", status: notFound, msg: "Not Found"},
			{name: "delete org as user", method: "DELETE", path: users + "acme", status: notFound, msg: "Not Found"},
			{name: "change unknown org", method: "PUT", path: orgs + "nosuch", body: `{"name": "other"}`, status: notFound, msg: "Not Found"},
			{name: "change user as org", method: "PUT", path: orgs + "alice", body: `{"name": "other"}`, status: notFound, msg: "Not Found"},
			{name: "delete unknown org", method: "DELETE", path: orgs + "nosuch", status: notFound, msg: "Not Found"},
			{name: "delete user as org", method: "DELETE", path: orgs + "alice", status: notFound, msg: "Not Found"},
			{name: "take ownership of unknown", method: "POST", path: "/api/v1/superuser/takeownership/nosuch", status: notFound, msg: "Not Found"},
			{name: "get unknown organization", method: "GET", path: "/api/v1/organization/nosuch", status: notFound, msg: "Not Found"},
			{name: "get unknown organization anonymously", anonymous: true, method: "GET", path: "/api/v1/organization/nosuch", status: notFound, msg: "Not Found"},
			{name: "get user as organization", method: "GET", path: "/api/v1/organization/alice", status: notFound, msg: "Not Found"},
			{name: "put unknown organization", method: "PUT", path: "/api/v1/organization/nosuch", body: `{"email": "x@example.com"}`, status: notFound, msg: "Not Found"},
			{name: "delete unknown organization", method: "DELETE", path: "/api/v1/organization/nosuch", status: notFound, msg: "Not Found"},
			{name: "delete user as organization", method: "DELETE", path: "/api/v1/organization/alice", status: notFound, msg: "Not Found"},
			{name: "applications of unknown org", method: "POST", path: "/api/v1/organization/nosuch/applications", body: `{"name": "x"}`, status: notFound, msg: "Not Found"},
			{name: "update unknown application", method: "PUT", path: "/api/v1/organization/acme/applications/NOSUCH", body: `{"name": "x"}`, status: notFound, msg: "Not Found"},
			{name: "delete unknown application", method: "DELETE", path: "/api/v1/organization/acme/applications/NOSUCH", status: notFound, msg: "Not Found"},
			{name: "reset unknown application", method: "POST", path: "/api/v1/organization/acme/applications/NOSUCH/resetclientsecret", status: notFound, msg: "Not Found"},
			{name: "delete application through another org", method: "DELETE", path: "/api/v1/organization/beta/applications/" + acmeApp, status: notFound, msg: "Not Found"},
			{name: "update application through another org", method: "PUT", path: "/api/v1/organization/beta/applications/" + acmeApp, body: `{"name": "stolen"}`, status: notFound, msg: "Not Found"},
			{name: "unknown API path", method: "POST", path: "/api/v1/nosuch", body: `{}`, status: notFound, msg: "Not Found"},
			{name: "method not allowed", method: "PATCH", path: users + "alice", body: `{"enabled": false}`, status: http.StatusMethodNotAllowed},
			// Tag expiration outside TAG_EXPIRATION_OPTIONS.
			{name: "tag expiration 12345", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": 12345}`, status: bad, contains: "12345"},
			{name: "tag expiration negative", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": -1}`, status: bad},
			{name: "tag expiration huge", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": 1000000000000000000}`, status: bad},
			{name: "tag expiration 12345 (org admin)", method: "PUT", path: "/api/v1/organization/acme", body: `{"tag_expiration_s": 12345}`, status: bad, contains: "12345"},
			{name: "valid email with invalid tag expiration", method: "PUT", path: orgs + "acme", body: `{"email": "ok@example.com", "tag_expiration_s": 5}`, status: bad},
			// Renames.
			{name: "rename onto user", method: "PUT", path: orgs + "acme", body: `{"name": "alice"}`, status: bad, contains: "already"},
			{name: "rename onto org", method: "PUT", path: orgs + "acme", body: `{"name": "beta"}`, status: bad, contains: "already"},
			{name: "rename onto org with other changes", method: "PUT", path: orgs + "acme", body: `{"name": "beta", "tag_expiration_s": 86400, "email": "new@example.com"}`, status: bad, contains: "already"},
			{name: "rename to Bad Name", method: "PUT", path: orgs + "acme", body: `{"name": "Bad Name"}`, status: bad, msg: "Invalid username Bad Name: " + nameRule},
			{name: "rename to a", method: "PUT", path: orgs + "acme", body: `{"name": "a"}`, status: bad, msg: "Invalid username a: " + lengthRule},
			{name: "rename to empty", method: "PUT", path: orgs + "acme", body: `{"name": ""}`, status: bad},
			{name: "rename to 256 chars", method: "PUT", path: orgs + "acme", body: map[string]any{"name": long}, status: bad, msg: "Invalid username " + long + ": " + lengthRule},
			// Superusers.
			{name: "delete configured superuser", method: "DELETE", path: users + "admin", status: bad, msg: "Cannot delete a superuser"},
			{name: "delete promoted superuser", method: "DELETE", path: users + "root2", status: bad, msg: "Cannot delete a superuser"},
			{name: "disable configured superuser", method: "PUT", path: users + "admin", body: `{"enabled": false}`, status: bad, msg: "Cannot update a superuser"},
			{name: "demote configured superuser", method: "PUT", path: users + "admin", body: `{"superuser": false}`, status: bad, msg: "Cannot update a superuser"},
			{name: "bad password for superuser", method: "PUT", path: users + "admin", body: `{"password": "short"}`, status: bad, msg: "Cannot update a superuser"},
			{name: "disable promoted superuser", method: "PUT", path: users + "root2", body: `{"enabled": false}`, status: bad, msg: "Cannot update a superuser"},
			{name: "take ownership of superuser", method: "POST", path: "/api/v1/superuser/takeownership/admin", status: bad, msg: "Cannot take ownership of a superuser"},
			{name: "take ownership of promoted superuser", method: "POST", path: "/api/v1/superuser/takeownership/root2", status: bad, msg: "Cannot take ownership of a superuser"},
			// Passwords.
			{name: "password too short", method: "PUT", path: users + "alice", body: `{"password": "short"}`, status: bad, msg: badPw},
			{name: "password 7 chars", method: "PUT", path: users + "alice", body: `{"password": "1234567"}`, status: bad, msg: badPw},
			{name: "password with space", method: "PUT", path: users + "alice", body: `{"password": "has white space"}`, status: bad, msg: badPw},
			{name: "password with tab", method: "PUT", path: users + "alice", body: `{"password": "tab\tinside1"}`, status: bad, msg: badPw},
			{name: "password empty", method: "PUT", path: users + "alice", body: `{"password": ""}`, status: bad, msg: badPw},
			{name: "bad password with other changes", method: "PUT", path: users + "alice", body: `{"enabled": false, "email": "new@example.com", "password": "short"}`, status: bad, msg: badPw},
			{name: "good password with taken email", method: "PUT", path: users + "alice", body: `{"password": "longenough1", "enabled": false, "email": "admin@example.com"}`, status: bad},
			// Page limits.
			{name: "users limit 0", method: "GET", path: users + "?limit=0", status: bad},
			{name: "users limit 101", method: "GET", path: users + "?limit=101", status: bad, msg: "Page limit cannot be above 100"},
			{name: "users limit -1", method: "GET", path: users + "?limit=-1", status: bad},
			{name: "users limit abc", method: "GET", path: users + "?limit=abc", status: bad, contains: "limit"},
			{name: "users limit 1.5", method: "GET", path: users + "?limit=1.5", status: bad, contains: "limit"},
			{name: "users limit empty", method: "GET", path: users + "?limit=", status: bad, contains: "limit"},
			{name: "orgs limit 0", method: "GET", path: orgs + "?limit=0", status: bad},
			{name: "orgs limit 101", method: "GET", path: orgs + "?limit=101", status: bad, msg: "Page limit cannot be above 100"},
			{name: "orgs limit -1", method: "GET", path: orgs + "?limit=-1", status: bad},
			{name: "orgs limit abc", method: "GET", path: orgs + "?limit=abc", status: bad, contains: "limit"},
			{name: "orgs limit 1.5", method: "GET", path: orgs + "?limit=1.5", status: bad, contains: "limit"},
			// Forged page tokens.
			{name: "users random token", method: "GET", path: users + "?limit=2&next_page=" + q("gAAAAABnotarealtoken"), status: bad, msg: "Invalid page token"},
			{name: "users random token without limit", method: "GET", path: users + "?next_page=" + q("xyz"), status: bad, msg: "Invalid page token"},
			{name: "users tampered token", method: "GET", path: users + "?limit=1&next_page=" + q(tamper(usersTok)), status: bad, msg: "Invalid page token"},
			{name: "users truncated token", method: "GET", path: users + "?limit=1&next_page=" + q(usersTok[:len(usersTok)-1]), status: bad, msg: "Invalid page token"},
			{name: "users huge token", method: "GET", path: users + "?limit=1&next_page=" + strings.Repeat("A", 5000), status: bad, msg: "Invalid page token"},
			{name: "users token on orgs", method: "GET", path: orgs + "?limit=1&next_page=" + q(usersTok), status: bad, msg: "Invalid page token"},
			{name: "orgs token on users", method: "GET", path: users + "?limit=1&next_page=" + q(orgsTok), status: bad, msg: "Invalid page token"},
			{name: "orgs tampered token", method: "GET", path: orgs + "?limit=1&next_page=" + q(tamper(orgsTok)), status: bad, msg: "Invalid page token"},
			{name: "logs token on users", method: "GET", path: users + "?limit=1&next_page=" + q(logsTok), status: bad, msg: "Invalid page token"},
			{name: "users token on logs", method: "GET", path: logs + "?next_page=" + q(usersTok), status: bad, msg: "Invalid page token"},
			{name: "logs tampered token", method: "GET", path: logs + "?next_page=" + q(tamper(logsTok)), status: bad, msg: "Invalid page token"},
			{name: "logs random token", method: "GET", path: logs + "?next_page=" + q("not a token"), status: bad, msg: "Invalid page token"},
			// Log windows.
			{name: "logs start after end", method: "GET", path: logs + "?starttime=" + q("02/10/2025") + "&endtime=" + q("02/01/2025"), status: bad, contains: "starttime"},
			{name: "logs unparsable starttime", method: "GET", path: logs + "?starttime=2025-02-01", status: bad, contains: "starttime"},
			{name: "logs unparsable endtime", method: "GET", path: logs + "?endtime=" + q("13/01/2025"), status: bad, contains: "endtime"},
			{name: "logs nonexistent date", method: "GET", path: logs + "?starttime=" + q("02/30/2025"), status: bad, contains: "starttime"},
			{name: "logs ambiguous zone", method: "GET", path: logs + "?starttime=" + q("02/17/2025 CST"), status: bad, contains: "starttime"},
			{name: "logs page abc", method: "GET", path: logs + "?page=abc", status: bad, contains: "page"},
			{name: "aggregate start after end", method: "GET", path: aggr + "?starttime=" + q("02/10/2025") + "&endtime=" + q("02/01/2025"), status: bad, contains: "starttime"},
			{name: "aggregate unparsable starttime", method: "GET", path: aggr + "?starttime=yesterday", status: bad, contains: "starttime"},
			{name: "aggregate unparsable endtime", method: "GET", path: aggr + "?endtime=" + q("1/1/25"), status: bad, contains: "endtime"},
			{name: "aggregate window over 31 days", method: "GET", path: aggr + "?starttime=" + q("01/01/2025") + "&endtime=" + q("02/15/2025"), status: bad, contains: "31 days"},
			{name: "aggregate window 32 days", method: "GET", path: aggr + "?starttime=" + q("01/01/2025") + "&endtime=" + q("02/01/2025"), status: bad, contains: "31 days"},
			// Size and content type.
			{name: "2 MiB body", method: "POST", path: users, body: big, status: http.StatusRequestEntityTooLarge, contains: "larger"},
			{name: "2 MiB body on change", method: "PUT", path: users + "alice", body: `{"enabled": false, "pad": "` + strings.Repeat("y", 2<<20) + `"}`, status: http.StatusRequestEntityTooLarge},
			{name: "text/plain", method: "POST", path: users, body: `{"username": "bob16"}`, headers: []string{"Content-Type", "text/plain"}, status: http.StatusUnsupportedMediaType, msg: not415},
			{name: "form content type", method: "PUT", path: users + "alice", body: `{"enabled": false}`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: http.StatusUnsupportedMediaType, msg: not415},
			{name: "empty content type", method: "PUT", path: orgs + "acme", body: `{"name": "acme2"}`, headers: []string{"Content-Type", ""}, status: http.StatusUnsupportedMediaType, msg: not415},
			{name: "text/json", method: "POST", path: "/api/v1/organization/", body: `{"name": "neworg18"}`, headers: []string{"Content-Type", "text/json"}, status: http.StatusUnsupportedMediaType, msg: not415},
			// First-user bootstrap on a non-empty instance.
			{name: "initialize non-empty", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin", "password": "longenough1", "email": "n@example.com"}`, status: bad, msg: "Cannot initialize user in a non-empty database"},
			{name: "initialize non-empty with token", method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin", "password": "longenough1", "access_token": true}`, status: bad, msg: "Cannot initialize user in a non-empty database"},
			{name: "initialize non-empty bad password", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin", "password": "short"}`, status: bad, msg: "Cannot initialize user in a non-empty database"},
			{name: "initialize non-empty missing password", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin"}`, status: bad, msg: "Cannot initialize user in a non-empty database"},
			{name: "initialize malformed", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin", `, status: bad},
			{name: "initialize text/plain", anonymous: true, method: "POST", path: "/api/v1/user/initialize", body: `{"username": "newadmin", "password": "longenough1"}`, headers: []string{"Content-Type", "text/plain"}, status: http.StatusUnsupportedMediaType, msg: not415},
		}

		snap := func(t testing.TB) string { return snapshot(t, store) }
		checkRefusals(t, adm, e.anonymous(), snap, cases)

		// Positive controls: the corrected requests succeed, and the
		// mutating ones do change the snapshot, so the checks above
		// cannot pass vacuously.
		controls := []goodInput{
			{name: "users limit 1", method: "GET", path: users + "?limit=1", status: http.StatusOK},
			{name: "users limit 100", method: "GET", path: users + "?limit=100", status: http.StatusOK},
			{name: "users real token", method: "GET", path: users + "?limit=1&next_page=" + q(usersTok), status: http.StatusOK},
			{name: "users disabled=false", method: "GET", path: users + "?disabled=false", status: http.StatusOK},
			{name: "orgs real token", method: "GET", path: orgs + "?limit=1&next_page=" + q(orgsTok), status: http.StatusOK},
			{name: "logs real token", method: "GET", path: logs + "?next_page=" + q(logsTok), status: http.StatusOK},
			{name: "logs window", method: "GET", path: logs + "?starttime=" + q("02/01/2025") + "&endtime=" + q("02/10/2025"), status: http.StatusOK},
			{name: "logs window with zone", method: "GET", path: logs + "?starttime=" + q("02/01/2025 UTC") + "&endtime=" + q("02/10/2025 +0200"), status: http.StatusOK},
			{name: "aggregate 31 days", method: "GET", path: aggr + "?starttime=" + q("01/01/2025") + "&endtime=" + q("01/31/2025"), status: http.StatusOK},
			{name: "get alice", method: "GET", path: users + "alice", status: http.StatusOK},
			{name: "get acme", method: "GET", path: "/api/v1/organization/acme", status: http.StatusOK},
			{name: "create zed (charset)", method: "POST", path: users, body: `{"username": "zed", "email": "zed@example.com"}`,
				headers: []string{"Content-Type", "application/json; charset=utf-8"}, status: http.StatusOK, changes: true},
			{name: "disable alice", method: "PUT", path: users + "alice", body: `{"enabled": false}`, status: http.StatusOK, changes: true},
			{name: "enable alice (+json)", method: "PUT", path: users + "alice", body: `{"enabled": true}`,
				headers: []string{"Content-Type", "application/merge-patch+json"}, status: http.StatusOK, changes: true},
			{name: "alice password", method: "PUT", path: users + "alice", body: `{"password": "longenough1"}`, status: http.StatusOK, changes: true},
			{name: "alice email", method: "PUT", path: users + "alice", body: `{"email": "alice2@example.com"}`, status: http.StatusOK, changes: true},
			{name: "acme tag expiration", method: "PUT", path: orgs + "acme", body: `{"tag_expiration_s": 86400}`, status: http.StatusOK, changes: true},
			{name: "acme tag expiration (org admin)", method: "PUT", path: "/api/v1/organization/acme", body: `{"tag_expiration_s": 604800}`, status: http.StatusOK, changes: true},
			{name: "acme email", method: "PUT", path: orgs + "acme", body: `{"email": "billing@example.com", "invoice_email_address": "inv@example.com"}`, status: http.StatusOK, changes: true},
			{name: "second application", method: "POST", path: "/api/v1/organization/acme/applications", body: `{"name": "second", "avatar_email": "app@example.com"}`, status: http.StatusOK, changes: true},
			{name: "rename application", method: "PUT", path: "/api/v1/organization/acme/applications/" + acmeApp, body: `{"name": "renamed"}`, status: http.StatusOK, changes: true},
			{name: "rename beta", method: "PUT", path: orgs + "beta", body: `{"name": "gamma"}`, status: http.StatusOK, changes: true},
			{name: "take ownership of carol", method: "POST", path: "/api/v1/superuser/takeownership/carol", status: http.StatusOK, changes: true},
			{name: "create delta", method: "POST", path: "/api/v1/organization/", body: `{"name": "delta"}`, status: http.StatusCreated, changes: true},
			{name: "delete delta", method: "DELETE", path: orgs + "delta", status: http.StatusNoContent, changes: true},
			{name: "delete zed", method: "DELETE", path: users + "zed", status: http.StatusNoContent, changes: true},
			{name: "demote root2", method: "PUT", path: users + "root2", body: `{"superuser": false}`, status: http.StatusOK, changes: true},
			{name: "delete root2", method: "DELETE", path: users + "root2", status: http.StatusNoContent, changes: true},
		}
		checkControls(t, adm, snap, controls)
	})
}

// listPage is one page of a paginated list response.
type listPage struct {
	Users         []struct{ Username string } `json:"users"`
	Organizations []struct{ Name string }     `json:"organizations"`
	Logs          []struct {
		Kind     string         `json:"kind"`
		Datetime string         `json:"datetime"`
		Metadata map[string]any `json:"metadata"`
	} `json:"logs"`
	NextPage *string `json:"next_page"`
}

// walk follows next_page from first until it is absent and returns the
// pages. Every page but the last must be full (size items, when size > 0)
// and carry a token; the last must carry none.
func walk(t *testing.T, c *client, first string, size int, count func(listPage) int) []listPage {
	t.Helper()
	var pages []listPage
	path := first
	for range 1000 {
		r := c.do("GET", path, nil)
		mustStatus(t, r, http.StatusOK)
		var p listPage
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		if p.NextPage != nil && *p.NextPage == "" {
			t.Fatalf("page %d: next_page is present but empty", len(pages)+1)
		}
		if strings.Contains(string(r.Body), `"next_page":null`) {
			t.Fatalf("page %d: next_page is null, want absent", len(pages)+1)
		}
		pages = append(pages, p)
		n := count(p)
		if p.NextPage == nil {
			if n == 0 && len(pages) > 1 {
				t.Errorf("page %d: the last page is empty (the previous page should have had no next_page)", len(pages))
			}
			return pages
		}
		if size > 0 && n != size {
			t.Errorf("page %d: %d items with a next_page, want %d", len(pages), n, size)
		}
		sep := "?"
		if strings.Contains(first, "?") {
			sep = "&"
		}
		path = first + sep + "next_page=" + url.QueryEscape(*p.NextPage)
	}
	t.Fatalf("next_page still present after 1000 pages")
	return nil
}

func TestPaginationWalk(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		admin, err := store.Accounts.AccountByName(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		// 250 users (every fifth disabled) and 245 = 35×7 organizations,
		// written straight to the store without bcrypt.
		for i := range 250 {
			u := &wharf.Account{Name: fmt.Sprintf("user%03d", i), Kind: wharf.KindUser, Enabled: i%5 != 0, Verified: true}
			if err := store.Accounts.CreateAccount(ctx, u, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 245 {
			o := &wharf.Account{Name: fmt.Sprintf("org%03d", i), Kind: wharf.KindOrg, Enabled: true, Verified: true}
			if err := store.Accounts.CreateAccount(ctx, o, admin); err != nil {
				t.Fatal(err)
			}
		}
		names := func(kind wharf.AccountKind, enabledOnly bool) []string {
			accounts, err := store.Accounts.ListAccounts(ctx, wharf.AccountPage{Kind: kind, EnabledOnly: enabledOnly})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]string, len(accounts))
			for i, a := range accounts {
				out[i] = a.Name
			}
			return out
		}
		checkOnce := func(what string, got, want []string) {
			t.Helper()
			seen := map[string]int{}
			for _, n := range got {
				seen[n]++
			}
			for n, k := range seen {
				if k != 1 {
					t.Errorf("%s: %s listed %d times", what, n, k)
				}
			}
			for _, n := range want {
				if seen[n] == 0 {
					t.Errorf("%s: %s never listed", what, n)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: walked %d names, want %d in id order", what, len(got), len(want))
			}
		}
		userNames := func(pages []listPage) []string {
			var out []string
			for _, p := range pages {
				for _, u := range p.Users {
					out = append(out, u.Username)
				}
			}
			return out
		}

		t.Run("users", func(t *testing.T) {
			pages := walk(t, adm.boundTo(t), "/api/v1/superuser/users/?limit=7", 7, func(p listPage) int { return len(p.Users) })
			want := names(wharf.KindUser, false)
			if len(want) != 251 {
				t.Fatalf("store holds %d users, want 251", len(want))
			}
			checkOnce("users", userNames(pages), want)
			if len(pages) != 36 {
				t.Errorf("%d pages, want 36 (251 users by 7)", len(pages))
			}
		})
		t.Run("enabled users", func(t *testing.T) {
			pages := walk(t, adm.boundTo(t), "/api/v1/superuser/users/?disabled=false&limit=7", 7, func(p listPage) int { return len(p.Users) })
			want := names(wharf.KindUser, true)
			if len(want) != 201 {
				t.Fatalf("store holds %d enabled users, want 201", len(want))
			}
			checkOnce("enabled users", userNames(pages), want)
		})
		t.Run("organizations", func(t *testing.T) {
			pages := walk(t, adm.boundTo(t), "/api/v1/superuser/organizations/?limit=7", 7, func(p listPage) int { return len(p.Organizations) })
			var got []string
			for _, p := range pages {
				for _, o := range p.Organizations {
					got = append(got, o.Name)
				}
			}
			checkOnce("organizations", got, names(wharf.KindOrg, false))
			// 245 is a multiple of 7: the 35th page is full and must be the last.
			if len(pages) != 35 {
				t.Errorf("%d pages, want 35 (245 organizations by 7, no empty trailing page)", len(pages))
			}
		})

		t.Run("logs", func(t *testing.T) {
			// Runs of entries sharing one timestamp, including a run longer
			// than a page and runs straddling page boundaries, appended in
			// an order unrelated to time so that ids do not follow time.
			now := time.Now().UTC().Truncate(time.Second)
			runs := []int{1, 7, 3, 25, 2, 13, 1, 1, 20, 6, 19, 4}
			type run struct {
				at   time.Time
				seqs []int
			}
			var all []run
			seq := 0
			for i, n := range runs {
				r := run{at: now.Add(-time.Duration(2*i+1) * time.Minute)}
				if i%3 == 2 {
					r.at = now.Add(time.Duration(i) * time.Minute) // ahead of now, still in the default window
				}
				for range n {
					r.seqs = append(r.seqs, seq)
					seq++
				}
				all = append(all, r)
			}
			total := seq
			for _, i := range []int{3, 0, 7, 11, 1, 5, 9, 2, 10, 4, 8, 6} {
				r := all[i]
				// Each run in two halves, in separate transactions.
				half := len(r.seqs) / 2
				for _, part := range [][]int{r.seqs[half:], r.seqs[:half]} {
					var entries []wharf.LogEntry
					for _, s := range part {
						entries = append(entries, wharf.LogEntry{Kind: "org_create", Account: wharf.PartyOf(admin),
							Performer: wharf.PartyOf(admin), IP: "10.0.0.2", Time: r.at, Metadata: map[string]any{"seq": s}})
					}
					if err := store.Logs.AppendLogs(ctx, entries...); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Outside the default window: never listed.
			for _, at := range []time.Time{now.Add(-72 * time.Hour), now.Add(72 * time.Hour)} {
				if err := store.Logs.AppendLogs(ctx, wharf.LogEntry{Kind: "org_delete", Account: wharf.PartyOf(admin),
					Time: at, Metadata: map[string]any{"seq": -1}}); err != nil {
					t.Fatal(err)
				}
			}
			wantEntries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: now.Add(-12 * time.Hour), End: now.Add(12 * time.Hour), Limit: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			pages := walk(t, adm.boundTo(t), "/api/v1/superuser/logs", 20, func(p listPage) int { return len(p.Logs) })
			type key struct {
				kind, at string
				seq      any
			}
			var got, want []key
			for _, p := range pages {
				for _, l := range p.Logs {
					got = append(got, key{l.Kind, l.Datetime, l.Metadata["seq"]})
				}
			}
			for _, en := range wantEntries {
				var s any
				if v, ok := en.Metadata["seq"]; ok {
					s = v
				}
				want = append(want, key{en.Kind, en.Time.Format("Mon, 02 Jan 2006 15:04:05 -0000"), s})
			}
			if len(want) <= total {
				t.Fatalf("store lists %d entries in the window, want more than the %d appended", len(want), total)
			}
			seen := map[float64]int{}
			for _, k := range got {
				if s, ok := k.seq.(float64); ok {
					seen[s]++
				}
			}
			for s := range total {
				if seen[float64(s)] != 1 {
					t.Errorf("entry seq=%d listed %d times, want once", s, seen[float64(s)])
				}
			}
			if seen[-1] != 0 {
				t.Errorf("entries outside the window were listed %d times", seen[-1])
			}
			if len(got) != len(want) {
				t.Errorf("walked %d entries over %d pages, want %d", len(got), len(pages), len(want))
			} else if !slices.EqualFunc(got, want, func(a, b key) bool {
				return a.kind == b.kind && a.at == b.at && fmt.Sprint(a.seq) == fmt.Sprint(b.seq)
			}) {
				t.Errorf("walk order differs from the store's newest-first order")
			}
			var prev time.Time
			for i, k := range got {
				at, err := time.Parse("Mon, 02 Jan 2006 15:04:05 -0700", k.at)
				if err != nil {
					t.Fatalf("entry %d: datetime %q: %v", i, k.at, err)
				}
				if i > 0 && at.After(prev) {
					t.Errorf("entry %d (%s) is newer than the one before it (%s)", i, k.at, prev)
				}
				prev = at
			}
			if wantPages := (len(want) + 19) / 20; len(pages) != wantPages {
				t.Errorf("%d pages, want %d", len(pages), wantPages)
			}
		})
	})
}
