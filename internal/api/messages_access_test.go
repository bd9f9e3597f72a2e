package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/message"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Global messages and app-specific tokens in the access matrix
// (TestAccessMatrix): spec §8, §9 and §15 with wharf's rules (tokens need
// super:user to write messages, user:admin for app tokens; a token uuid of
// another user is 404).

// newMessage publishes a message straight through the service and returns its uuid.
func (x *accessCellCtx) newMessage() string {
	x.t.Helper()
	m, err := message.New(x.f.store.Messages).Create(x.t.Context(), &wharf.Caller{},
		message.Fields{Content: "cell " + x.f.nextName("msg"), MediaType: "text/plain", Severity: "info"})
	if err != nil {
		x.t.Fatal(err)
	}
	return m.UUID
}

// newAppToken makes an app token of owner() straight through the service
// and returns its uuid.
func (x *accessCellCtx) newAppToken() string {
	x.t.Helper()
	owner := x.f.accounts[x.owner()]
	_, tok, err := identity.NewAppTokens(x.f.store.Accounts, 0, time.Now).Create(x.t.Context(), &wharf.Caller{Account: owner}, "cell token")
	if err != nil {
		x.t.Fatal(err)
	}
	return tok.UUID
}

// accessOtherUsersToken: a token uuid of another user is 404, whoever asks.
var accessOtherUsersToken = []accessVariant{{suffix: "-other-users-token", target: tgtOther, want: http.StatusNotFound,
	callers: []accessCaller{callerNormalToken, callerNormalSession, callerAuditorToken, callerAdminSession, callerAdminTokenSuper}}}

func messageAccessMatrix() []accessEndpoint {
	const GET, POST, DELETE = http.MethodGet, http.MethodPost, http.MethodDelete
	return []accessEndpoint{
		{method: GET, route: "/api/v1/messages", class: clsPublicRead, want: wantAll(200), build: fixedPath("/api/v1/messages"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				if _, isList := bodyField(t, r, "messages").([]any); !isList {
					t.Errorf("messages: %s", r.Body)
				}
			}},
		{method: POST, route: "/api/v1/messages", class: clsAdmin, want: wantAdminister(201),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/messages", body: map[string]any{"message": map[string]any{
					"content": "posted " + x.f.nextName("msg"), "media_type": "text/markdown", "severity": "warning"}}}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				if len(r.Body) != 0 {
					t.Errorf("body %q, want empty", r.Body)
				}
				want := rq.body.(map[string]any)["message"].(map[string]any)["content"]
				all, _ := x.f.store.Messages.ListMessages(t.Context())
				for _, m := range all {
					if m.Content == want {
						return
					}
				}
				t.Errorf("message %q not stored", want)
			}},
		{method: DELETE, route: "/api/v1/message/{uuid}", class: clsAdmin, want: wantAdminister(204),
			build: func(x *accessCellCtx) accessRequest {
				if x.target != tgtOwn {
					return accessRequest{path: "/api/v1/message/" + wharf.NewUUID()}
				}
				return accessRequest{path: "/api/v1/message/" + x.newMessage()}
			},
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, _ *response) {
				if _, err := x.f.store.Messages.MessageByUUID(t.Context(), strings.TrimPrefix(rq.path, "/api/v1/message/")); !wharf.IsCode(err, wharf.NotFound) {
					t.Errorf("message still there after delete: %v", err)
				}
			},
			// A uuid no message has is 404 (Quay: 204), after the access check.
			variants: []accessVariant{{suffix: "-unknown-uuid", target: tgtOther, want: http.StatusNotFound,
				callers: []accessCaller{callerAdminSession, callerAdminTokenSuper}}}},
	}
}

func appTokenAccessMatrix() []accessEndpoint {
	const GET, POST, DELETE = http.MethodGet, http.MethodPost, http.MethodDelete
	tokenPath := func(x *accessCellCtx) accessRequest {
		return accessRequest{path: "/api/v1/user/apptoken/" + x.newAppToken()}
	}
	return []accessEndpoint{
		{method: GET, route: "/api/v1/user/apptoken", class: clsSignedIn, want: wantUsers(200), build: fixedPath("/api/v1/user/apptoken"),
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				body := r.JSON(t)
				if _, isList := body["tokens"].([]any); !isList || body["only_expiring"] != nil {
					t.Errorf("list: %s", r.Body)
				}
			}},
		{method: POST, route: "/api/v1/user/apptoken", class: clsSignedInFresh, want: wantUsers(200),
			build: func(x *accessCellCtx) accessRequest {
				return accessRequest{path: "/api/v1/user/apptoken", body: map[string]any{"title": "ci"}}
			},
			ok: func(t *testing.T, x *accessCellCtx, _ accessRequest, r *response) {
				tok, _ := bodyField(t, r, "token").(map[string]any)
				if code, _ := tok["token_code"].(string); len(code) != identity.AppTokenLength || tok["title"] != "ci" {
					t.Errorf("created: %s", r.Body)
				}
			}},
		{method: GET, route: "/api/v1/user/apptoken/{token_uuid}", class: clsSignedInFresh, want: wantUsers(200), build: tokenPath,
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, r *response) {
				tok, _ := bodyField(t, r, "token").(map[string]any)
				if _, shown := tok["token_code"]; shown || !strings.HasSuffix(rq.path, tok["uuid"].(string)) {
					t.Errorf("token: %s", r.Body)
				}
			},
			variants: accessOtherUsersToken},
		{method: DELETE, route: "/api/v1/user/apptoken/{token_uuid}", class: clsSignedInFresh, want: wantUsers(204), build: tokenPath,
			ok: func(t *testing.T, x *accessCellCtx, rq accessRequest, _ *response) {
				owner := x.f.accounts[x.owner()]
				if _, err := x.f.store.Accounts.AppTokenByUUID(t.Context(), owner.ID, strings.TrimPrefix(rq.path, "/api/v1/user/apptoken/")); !wharf.IsCode(err, wharf.NotFound) {
					t.Errorf("token still there after revoke: %v", err)
				}
			},
			variants: accessOtherUsersToken},
	}
}
