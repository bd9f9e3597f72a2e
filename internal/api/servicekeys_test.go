package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/servicekey"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// httpDateRE is the HTTP-date jsonify gives datetimes: "Tue, 18 Feb 2025 19:28:15 GMT".
var httpDateRE = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$`)

// keySnapshot is snapshot plus every service key with all its fields.
func keySnapshot(t testing.TB, store *db.DB) string {
	t.Helper()
	keys, err := store.ServiceKeys.ListServiceKeys(context.Background(), "", time.Time{})
	if err != nil {
		t.Fatalf("snapshot: list service keys: %v", err)
	}
	var b strings.Builder
	b.WriteString(snapshot(t, store))
	for _, k := range keys {
		k.Approval = approvalWithoutAccount(k.Approval)
		raw, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "service_key %s\n", raw)
	}
	return b.String()
}

func approvalWithoutAccount(a *wharf.ServiceKeyApproval) *wharf.ServiceKeyApproval {
	if a == nil {
		return nil
	}
	c := *a
	c.Approver = nil
	return &c
}

// TestServiceKeyLifecycle runs the seed's curl examples (§7.21.6, 7.21.7,
// 7.21.18–7.21.21) with real values, checks the views field by field, and
// proves that the keys really sign and verify: a JWT signed with the private
// key createServiceKey returns verifies until the key expires or is deleted,
// and a key a service publishes itself verifies only once approved.
func TestServiceKeyLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		verifier := servicekey.New(store.ServiceKeys, servicekey.Options{}).Verifier()
		expiration := time.Now().Add(24 * time.Hour).Truncate(time.Second)

		// §7.21.6 createServiceKey.
		r := adm.do("POST", "/api/v1/superuser/keys", fmt.Sprintf(`{
        "service": "quay",
        "expiration": %d, "name": "my key", "metadata": {"foo": "bar", "creator": "spoofed"}, "notes": "whazzup"
      }`, expiration.Unix()))
		mustStatus(t, r, http.StatusOK)
		created := r.JSON(t)
		if diff := cmp.Diff([]string{"kid", "name", "private_key", "public_key", "service"}, sortedKeys(created)); diff != "" {
			t.Fatalf("create response keys (-want +got):\n%s", diff)
		}
		kid := created["kid"].(string)
		if created["name"] != "my key" || created["service"] != "quay" || len(kid) != 43 ||
			!strings.HasPrefix(created["public_key"].(string), "-----BEGIN PUBLIC KEY-----\n") {
			t.Fatalf("create response %v", created)
		}
		priv := parsePrivateKey(t, created["private_key"].(string))

		// §7.21.7 listServiceKeys and §7.21.21 getServiceKey: the view.
		adminView := adm.do("GET", "/api/v1/superuser/users/admin", nil).JSON(t)
		want := map[string]any{
			"approval": map[string]any{"approval_type": "ServiceKeyApprovalType.SUPERUSER", "approved_date": "<date>",
				"approver": adminView, "notes": "whazzup"},
			"created_date":      "<date>",
			"expiration_date":   expiration.UTC().Format(http.TimeFormat),
			"jwk":               map[string]any{"e": "AQAB", "kid": kid, "kty": "RSA", "n": b64url(priv.N.Bytes())},
			"kid":               kid,
			"metadata":          map[string]any{"foo": "bar", "created_by": "Quay Superuser Panel", "creator": "admin", "ip": "127.0.0.1"},
			"name":              "my key",
			"rotation_duration": nil,
			"service":           "quay",
		}
		r = adm.do("GET", "/api/v1/superuser/keys", nil)
		mustStatus(t, r, http.StatusOK)
		var list struct{ Keys []map[string]any }
		if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Keys) != 1 {
			t.Fatalf("list: %s", r.Body)
		}
		checkKeyView(t, list.Keys[0], want)
		r = adm.do("GET", "/api/v1/superuser/keys/"+kid, nil)
		mustStatus(t, r, http.StatusOK)
		checkKeyView(t, r.JSON(t), want)
		checkSortedJSON(t, r.Body)

		// The private key signs tokens wharf accepts.
		token := signJWT(t, priv, kid, serviceClaims("quay", "wharf"))
		if _, err := verifier.Verify(ctx, token, "quay"); err != nil {
			t.Fatalf("a JWT signed with createServiceKey's private key was refused: %v", err)
		}
		// ... until the key expires,
		later := servicekey.NewVerifier(store.ServiceKeys, func() time.Time { return expiration.Add(time.Second) })
		if _, err := later.Verify(ctx, token, "quay"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("a JWT of an expired key: %v", err)
		}

		// §7.21.20 updateServiceKey.
		newExp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
		r = adm.do("PUT", "/api/v1/superuser/keys/"+kid, fmt.Sprintf(`{
        "name": "renamed key",
        "metadata": {"team": "infra"},
        "expiration": %d
      }`, newExp.Unix()))
		mustStatus(t, r, http.StatusOK)
		want["name"] = "renamed key"
		want["expiration_date"] = newExp.UTC().Format(http.TimeFormat)
		want["metadata"].(map[string]any)["team"] = "infra"
		checkKeyView(t, r.JSON(t), want)

		// ... and until it is deleted (§7.21.19).
		r = adm.do("DELETE", "/api/v1/superuser/keys/"+kid, nil)
		mustStatus(t, r, http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Fatalf("delete body %q", r.Body)
		}
		if _, err := verifier.Verify(ctx, token, "quay"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("a JWT of a deleted key: %v", err)
		}
		mustStatus(t, adm.do("GET", "/api/v1/superuser/keys/"+kid, nil), http.StatusNotFound)

		// A service publishes its own key through the key server.
		svcKey := sharedRSAKey(t)
		put := func(kid, signer, query string) *response {
			return adm.do("PUT", "/keys/services/clair/keys/"+kid+query, publicJWK(&svcKey.PublicKey),
				"Authorization", "Bearer "+signJWT(t, svcKey, signer, serviceClaims("clair", e.srv.URL)))
		}
		r = put("clair-1", "clair-1", fmt.Sprintf("?expiration=%d&rotation=600", newExp.Unix()))
		mustStatus(t, r, http.StatusAccepted)
		r = adm.do("GET", "/api/v1/superuser/keys/clair-1", nil)
		mustStatus(t, r, http.StatusOK)
		pending := r.JSON(t)
		if pending["approval"] != nil || pending["rotation_duration"] != float64(600) || pending["name"] != "" ||
			pending["expiration_date"] != newExp.UTC().Format(http.TimeFormat) {
			t.Fatalf("submitted key view %s", r.Body)
		}
		clairToken := signJWT(t, svcKey, "clair-1", serviceClaims("clair", "wharf"))
		if _, err := verifier.Verify(ctx, clairToken, "clair"); !errors.Is(err, servicekey.ErrUnknownKey) {
			t.Fatalf("a JWT of an unapproved key: %v", err)
		}
		mustStatus(t, e.anonymous().do("GET", "/keys/services/clair/keys/clair-1", nil), http.StatusConflict)
		if r := e.anonymous().do("GET", "/keys/services/clair/keys", nil); string(r.Body) != "{\"keys\":[]}\n" {
			t.Fatalf("JWKS before approval: %s", r.Body)
		}

		// §7.21.18 approveServiceKey: 201, empty body.
		r = adm.do("POST", "/api/v1/superuser/approvedkeys/clair-1", `{
        "notes": "looks good"
      }`)
		mustStatus(t, r, http.StatusCreated)
		if len(r.Body) != 0 {
			t.Fatalf("approve body %q", r.Body)
		}
		if _, err := verifier.Verify(ctx, clairToken, "clair"); err != nil {
			t.Fatalf("a JWT of the approved key: %v", err)
		}
		mustStatus(t, adm.do("POST", "/api/v1/superuser/approvedkeys/clair-1", `{}`), http.StatusCreated) // again: no change
		approved := adm.do("GET", "/api/v1/superuser/keys/clair-1", nil).JSON(t)
		if a, _ := approved["approval"].(map[string]any); a == nil || a["notes"] != "looks good" || a["approver"] == nil {
			t.Fatalf("approval %v", approved["approval"])
		}
		r = e.anonymous().do("GET", "/keys/services/clair/keys/clair-1", nil)
		mustStatus(t, r, http.StatusOK)
		if cc := r.Header.Get("Cache-Control"); cc != "max-age=86400" {
			t.Errorf("Cache-Control %q", cc)
		}
		if got := r.JSON(t); got["n"] != b64url(svcKey.N.Bytes()) || got["kid"] != "clair-1" {
			t.Fatalf("published JWK %s", r.Body)
		}
		r = e.anonymous().do("GET", "/keys/services/clair/keys", nil)
		var jwks struct{ Keys []map[string]any }
		if json.Unmarshal(r.Body, &jwks) != nil || len(jwks.Keys) != 1 || jwks.Keys[0]["kid"] != "clair-1" {
			t.Fatalf("JWKS %s", r.Body)
		}

		// Rotation signed by the approved key keeps the approval; the key
		// itself withdraws it.
		mustStatus(t, put("clair-2", "clair-1", ""), http.StatusOK)
		mustStatus(t, adm.do("GET", "/api/v1/superuser/keys/clair-1", nil), http.StatusNotFound)
		rotated := adm.do("GET", "/api/v1/superuser/keys/clair-2", nil).JSON(t)
		if rotated["approval"] == nil || rotated["metadata"].(map[string]any)["created_by"] != "Key Rotation" {
			t.Fatalf("rotated key %v", rotated)
		}
		r = e.anonymous().do("DELETE", "/keys/services/clair/keys/clair-2", nil,
			"Authorization", "Bearer "+signJWT(t, svcKey, "clair-2", serviceClaims("clair", e.srv.URL)))
		mustStatus(t, r, http.StatusNoContent)

		// The action log: every change, with Quay's metadata.
		entries, err := store.Logs.ListLogs(ctx, wharf.LogQuery{Start: time.Unix(0, 0), End: time.Now().Add(time.Hour), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		byKind := map[string]wharf.LogEntry{}
		for i := len(entries) - 1; i >= 0; i-- {
			if strings.HasPrefix(entries[i].Kind, "service_key_") {
				kinds = append(kinds, entries[i].Kind)
				if _, seen := byKind[entries[i].Kind]; !seen {
					byKind[entries[i].Kind] = entries[i]
				}
			}
		}
		wantKinds := []string{"service_key_create", "service_key_approve", "service_key_extend", "service_key_modify", "service_key_delete",
			"service_key_create", "service_key_approve", "service_key_rotate", "service_key_delete"}
		if diff := cmp.Diff(wantKinds, kinds); diff != "" {
			t.Fatalf("log kinds (-want +got):\n%s", diff)
		}
		createMeta := byKind["service_key_create"].Metadata
		for k, v := range map[string]any{"kid": kid, "preshared": true, "service": "quay", "name": "my key",
			"expiration_date": float64(expiration.Unix()), "auto_approved": true} {
			if createMeta[k] != v {
				t.Errorf("service_key_create metadata %s = %v, want %v (all: %v)", k, createMeta[k], v, createMeta)
			}
		}
		if _, ok := createMeta["oauth_token_id"]; !ok || byKind["service_key_create"].Performer.Name != "admin" || byKind["service_key_create"].Account.Name != "" {
			t.Errorf("service_key_create entry %+v", byKind["service_key_create"])
		}
		if m := byKind["service_key_extend"].Metadata; m["old_expiration_date"] != float64(expiration.Unix()) || m["expiration_date"] != float64(newExp.Unix()) || m["name"] != "renamed key" {
			t.Errorf("service_key_extend metadata %v", m)
		}
		if m := byKind["service_key_delete"].Metadata; m["created_date"] == nil || m["kid"] != kid {
			t.Errorf("service_key_delete metadata %v", m)
		}
		for _, en := range entries {
			raw, _ := json.Marshal(en.Metadata)
			if strings.Contains(string(raw), "PRIVATE KEY") || strings.Contains(string(raw), b64url(priv.D.Bytes())[:32]) {
				t.Fatalf("a private key reached the action log: %s", raw)
			}
		}
	})
}

// checkSortedJSON fails unless every object in raw lists its keys in
// sorted order, as Flask's jsonify writes them.
func checkSortedJSON(t *testing.T, raw []byte) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	type frame struct {
		object bool
		last   string
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			if top != nil && top.object {
				if top.key {
					k := v.(string)
					if k < top.last {
						t.Errorf("key %q follows %q: keys are not sorted in %s", k, top.last, raw)
					}
					top.last = k
				}
				top.key = !top.key
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkKeyView compares a service key view with want, where "<date>" stands
// for any HTTP-date.
func checkKeyView(t *testing.T, got, want map[string]any) {
	t.Helper()
	var walk func(path string, g, w any)
	walk = func(path string, g, w any) {
		if w == "<date>" {
			if s, _ := g.(string); !httpDateRE.MatchString(s) {
				t.Errorf("%s = %v, want an HTTP-date", path, g)
			}
			return
		}
		wm, ok := w.(map[string]any)
		if !ok {
			if !cmp.Equal(g, w) {
				t.Errorf("%s = %#v, want %#v", path, g, w)
			}
			return
		}
		gm, ok := g.(map[string]any)
		if !ok {
			t.Errorf("%s = %#v, want an object", path, g)
			return
		}
		if diff := cmp.Diff(sortedKeys(wm), sortedKeys(gm)); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", path, diff)
		}
		for k := range wm {
			walk(path+"."+k, gm[k], wm[k])
		}
	}
	walk("key", got, want)
}

// TestServiceKeyBadInput: every refused request answers 4xx with the error
// JSON and leaves the store (accounts, logs, service keys) exactly as it was.
func TestServiceKeyBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		adm := e.bootstrap()
		future := time.Now().Add(time.Hour).Unix()
		r := adm.do("POST", "/api/v1/superuser/keys", map[string]any{"service": "quay", "name": "k", "expiration": future})
		mustStatus(t, r, http.StatusOK)
		kid := r.JSON(t)["kid"].(string)
		// A key that expired 8 days ago is stale: hidden from get and update.
		old := time.Now().Add(-8 * 24 * time.Hour).UTC()
		if err := store.ServiceKeys.CreateServiceKey(ctx, &wharf.ServiceKey{Kid: "stale", Service: "quay", JWK: publicJWK(&sharedRSAKey(t).PublicKey),
			CreatedAt: old.Add(-time.Hour), ExpiresAt: &old}, wharf.ServiceKeyGC{}); err != nil {
			t.Fatal(err)
		}
		svcKey := sharedRSAKey(t)
		jwt := func(service, kid, aud string) []string {
			return []string{"Authorization", "Bearer " + signJWT(t, svcKey, kid, serviceClaims(service, aud))}
		}
		jwk := publicJWK(&svcKey.PublicKey)
		const keys, approve, ks = "/api/v1/superuser/keys", "/api/v1/superuser/approvedkeys/", "/keys/services/"
		const bad = http.StatusBadRequest
		past := time.Now().Add(-time.Minute).Unix()
		cases := []badInput{
			// createServiceKey.
			{name: "create: expiration in the past", method: "POST", path: keys, body: map[string]any{"service": "quay", "expiration": past}, status: bad, msg: "Expiration date cannot be in the past"},
			{name: "create: expiration now-ish zero", method: "POST", path: keys, body: `{"service": "quay", "expiration": 0}`, status: bad, msg: "Expiration date cannot be in the past"},
			{name: "create: expiration missing", method: "POST", path: keys, body: `{"service": "quay"}`, status: bad, msg: "'expiration' is a required property"},
			{name: "create: expiration string", method: "POST", path: keys, body: `{"service": "quay", "expiration": "tomorrow"}`, status: bad, contains: "'expiration'"},
			{name: "create: expiration object", method: "POST", path: keys, body: `{"service": "quay", "expiration": {}}`, status: bad, contains: "'expiration'"},
			{name: "create: expiration year 10000", method: "POST", path: keys, body: `{"service": "quay", "expiration": 253402300800}`, status: bad, msg: "Invalid expiration date: year 10000 is out of range"},
			{name: "create: expiration huge", method: "POST", path: keys, body: `{"service": "quay", "expiration": 1e300}`, status: bad, contains: "Invalid expiration date"},
			{name: "create: expiration overflow", method: "POST", path: keys, body: `{"service": "quay", "expiration": 1e400}`, status: bad, contains: "Invalid expiration date"},
			{name: "create: service missing", method: "POST", path: keys, body: `{"expiration": null}`, status: bad, msg: "'service' is a required property"},
			{name: "create: service number", method: "POST", path: keys, body: `{"service": 5, "expiration": null}`, status: bad, contains: "'service'"},
			{name: "create: service upper case", method: "POST", path: keys, body: `{"service": "Quay", "expiration": null}`, status: bad, contains: "Invalid service name"},
			{name: "create: service with dash", method: "POST", path: keys, body: `{"service": "my-svc", "expiration": null}`, status: bad, contains: "Invalid service name"},
			{name: "create: service empty", method: "POST", path: keys, body: `{"service": "", "expiration": null}`, status: bad, contains: "Invalid service name"},
			{name: "create: service newline", method: "POST", path: keys, body: `{"service": "quay\n", "expiration": null}`, status: bad, contains: "Invalid service name"},
			{name: "create: service too long", method: "POST", path: keys, body: map[string]any{"service": strings.Repeat("a", 256), "expiration": nil}, status: bad, contains: "Invalid service name"},
			{name: "create: friendly name", method: "POST", path: keys, body: `{"service": "quay", "name": "bad!name", "expiration": null}`, status: bad, msg: "Invalid service key friendly name: bad!name"},
			{name: "create: friendly name number", method: "POST", path: keys, body: `{"service": "quay", "name": 5, "expiration": null}`, status: bad, contains: "'name'"},
			{name: "create: metadata string", method: "POST", path: keys, body: `{"service": "quay", "metadata": "x", "expiration": null}`, status: bad, contains: "'metadata'"},
			{name: "create: metadata array", method: "POST", path: keys, body: `{"service": "quay", "metadata": [1], "expiration": null}`, status: bad, contains: "'metadata'"},
			{name: "create: notes number", method: "POST", path: keys, body: `{"service": "quay", "notes": 1, "expiration": null}`, status: bad, contains: "'notes'"},
			{name: "create: not JSON", method: "POST", path: keys, body: `{"service": `, status: bad},
			{name: "create: no body", method: "POST", path: keys, status: http.StatusUnsupportedMediaType, msg: not415},
			// getServiceKey.
			{name: "get: unknown kid", method: "GET", path: keys + "/nope", status: http.StatusNotFound},
			{name: "get: stale key", method: "GET", path: keys + "/stale", status: http.StatusNotFound},
			{name: "get: trailing slash", method: "GET", path: keys + "/", status: http.StatusNotFound},
			// updateServiceKey.
			{name: "update: unknown kid", method: "PUT", path: keys + "/nope", body: `{"name": "x"}`, status: http.StatusNotFound},
			{name: "update: stale key", method: "PUT", path: keys + "/stale", body: `{"name": "x"}`, status: http.StatusNotFound},
			{name: "update: expiration in the past", method: "PUT", path: keys + "/" + kid, body: map[string]any{"expiration": past}, status: bad, msg: "Cannot have an expiration date in the past"},
			{name: "update: good expiration, bad name", method: "PUT", path: keys + "/" + kid, body: map[string]any{"expiration": future + 3600, "name": "bad!"}, status: bad, msg: "Invalid service key friendly name: bad!"},
			{name: "update: bad name, good metadata", method: "PUT", path: keys + "/" + kid, body: `{"name": "a;b", "metadata": {"x": 1}}`, status: bad, msg: "Invalid service key friendly name: a;b"},
			{name: "update: metadata string", method: "PUT", path: keys + "/" + kid, body: `{"metadata": "x"}`, status: bad, contains: "'metadata'"},
			{name: "update: metadata array", method: "PUT", path: keys + "/" + kid, body: `{"metadata": []}`, status: bad, contains: "'metadata'"},
			{name: "update: expiration boolean", method: "PUT", path: keys + "/" + kid, body: `{"expiration": true}`, status: bad, contains: "'expiration'"},
			{name: "update: JSON array", method: "PUT", path: keys + "/" + kid, body: `[]`, status: bad},
			// deleteServiceKey and approveServiceKey.
			{name: "delete: unknown kid", method: "DELETE", path: keys + "/nope", status: http.StatusNotFound},
			{name: "approve: unknown kid", method: "POST", path: approve + "nope", body: `{}`, status: http.StatusNotFound},
			{name: "approve: no body", method: "POST", path: approve + kid, status: http.StatusUnsupportedMediaType, msg: not415},
			{name: "approve: notes number", method: "POST", path: approve + kid, body: `{"notes": 5}`, status: bad, contains: "'notes'"},
			{name: "approve: null body", method: "POST", path: approve + kid, body: `null`, status: bad, msg: "Missing JSON body"},
			// The key server.
			{name: "key server: no JWT", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: jwk, status: bad},
			{name: "key server: Basic auth", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: jwk, headers: []string{"Authorization", "Basic YTpi"}, status: bad},
			{name: "key server: JWT for another audience", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: jwk, headers: jwt("svc", "k1", "http://elsewhere"), status: bad},
			{name: "key server: JWT of another issuer", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: jwk, headers: jwt("other", "k1", e.srv.URL), status: bad},
			{name: "key server: EC JWK", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: `{"kty": "EC", "x": "AA", "y": "AA"}`, headers: jwt("svc", "k1", e.srv.URL), status: bad},
			{name: "key server: JWK not an object", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: `"x"`, headers: jwt("svc", "k1", e.srv.URL), status: bad},
			{name: "key server: bad service name", anonymous: true, method: "PUT", path: ks + "Bad/keys/k1", body: jwk, headers: jwt("Bad", "k1", e.srv.URL), status: bad, contains: "Invalid service name"},
			{name: "key server: past expiration", anonymous: true, method: "PUT", path: ks + "svc/keys/k1?expiration=" + fmt.Sprint(past), body: jwk, headers: jwt("svc", "k1", e.srv.URL), status: bad},
			{name: "key server: bad expiration", anonymous: true, method: "PUT", path: ks + "svc/keys/k1?expiration=soon", body: jwk, headers: jwt("svc", "k1", e.srv.URL), status: bad},
			{name: "key server: bad rotation", anonymous: true, method: "PUT", path: ks + "svc/keys/k1?rotation=" + url.QueryEscape("1h"), body: jwk, headers: jwt("svc", "k1", e.srv.URL), status: bad},
			{name: "key server: kid taken", anonymous: true, method: "PUT", path: ks + "quay/keys/" + kid, body: jwk, headers: jwt("quay", kid, e.srv.URL), status: http.StatusConflict},
			{name: "key server: unknown signer", anonymous: true, method: "PUT", path: ks + "svc/keys/k1", body: jwk, headers: jwt("svc", "nope", e.srv.URL), status: http.StatusForbidden},
			{name: "key server: signer of another service", anonymous: true, method: "DELETE", path: ks + "svc/keys/" + kid, headers: jwt("svc", kid, e.srv.URL), status: http.StatusForbidden},
			{name: "key server: delete without kid", anonymous: true, method: "DELETE", path: ks + "quay/keys/" + kid, headers: jwt("quay", "", e.srv.URL), status: bad},
			{name: "key server: delete signed by a forged key", anonymous: true, method: "DELETE", path: ks + "quay/keys/" + kid, headers: jwt("quay", kid, e.srv.URL), status: bad},
			{name: "key server: get unknown", anonymous: true, method: "GET", path: ks + "quay/keys/nope", status: http.StatusNotFound},
			{name: "key server: get of another service", anonymous: true, method: "GET", path: ks + "clair/keys/" + kid, status: http.StatusNotFound},
		}
		snap := func(t testing.TB) string { return keySnapshot(t, store) }
		checkRefusals(t, adm, e.anonymous(), snap, cases)

		// Positive controls: the corrected requests change the store.
		controls := []goodInput{
			{name: "create", method: "POST", path: keys, body: map[string]any{"service": "quay_2", "name": "ok: name/1", "expiration": nil}, status: http.StatusOK, changes: true},
			{name: "update", method: "PUT", path: keys + "/" + kid, body: map[string]any{"expiration": future + 3600, "name": "good name"}, status: http.StatusOK, changes: true},
			{name: "update nothing", method: "PUT", path: keys + "/" + kid, body: `{}`, status: http.StatusOK},
			{name: "key server submit", method: "PUT", path: ks + "svc/keys/k1", body: jwk, headers: jwt("svc", "k1", e.srv.URL), status: http.StatusAccepted, changes: true},
			{name: "approve", method: "POST", path: approve + "k1", body: `{}`, status: http.StatusCreated, changes: true},
			{name: "approve again", method: "POST", path: approve + "k1", body: `{"notes": "x"}`, status: http.StatusCreated},
			{name: "delete stale", method: "DELETE", path: keys + "/stale", status: http.StatusNoContent, changes: true},
		}
		checkControls(t, adm, snap, controls)
	})
}
