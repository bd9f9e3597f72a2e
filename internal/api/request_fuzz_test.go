package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/auditlog"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// fuzzTargets are request types real handlers decode into.
var fuzzTargets = []func() any{
	func() any { return new(changeUserRequest) },
	func() any { return new(updateOrgRequest) },
	func() any { return new(initializeRequest) },
	func() any { return new(createUserRequest) },
	func() any { return new(applicationRequest) },
	func() any { return new(createOrgRequest) },
	func() any { return new(createServiceKeyRequest) },
	func() any { return new(updateServiceKeyRequest) },
	func() any { return new(approveServiceKeyRequest) },
	func() any { return new(jwkRequest) },
	func() any { return new(createMessageRequest) },
	func() any { return new(createAppTokenRequest) },
}

// checkClientError fails unless err is a *wharf.Error whose code maps to a
// 4xx status with a message to show.
func checkClientError(t *testing.T, err error) *wharf.Error {
	t.Helper()
	var we *wharf.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *wharf.Error", err, err)
	}
	if we.Code == wharf.Internal {
		t.Fatalf("client input produced an internal error: %v", err)
	}
	pt, ok := problemTypes[we.Code]
	if !ok || pt.status < 400 || pt.status > 499 {
		t.Fatalf("code %q maps to status %d, want 4xx", we.Code, pt.status)
	}
	if we.Message == "" {
		t.Fatalf("error %v has no message", err)
	}
	return we
}

// isJSONMediaType is what decodeJSON must accept: application/json or application/*+json.
func isJSONMediaType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func FuzzDecodeJSON(f *testing.F) {
	const js = "application/json"
	seeds := []struct {
		body, ct string
	}{
		{`{"password": "longenough1", "email": "a@example.com", "enabled": false, "superuser": true}`, js},
		{`{"name": "acme2", "email": "billing@example.com", "invoice_email": true, "invoice_email_address": "inv@example.com", "tag_expiration_s": 86400}`, js},
		{`{"username": "admin", "password": "adminpass1", "email": "admin@example.com", "access_token": true}`, js},
		{`{"username": "alice", "email": "alice@example.com"}`, "application/json; charset=utf-8"},
		{`{"name": "cli", "description": "d", "application_uri": "https://x", "redirect_uri": "https://x/cb", "avatar_email": "a@x.io"}`, js},
		{`{"name": "acme"}`, "application/vnd.api+json"},
		{`{}`, js},
		{``, js},
		{`null`, js},
		{` null `, js},
		{`[]`, js},
		{`5`, js},
		{`"x"`, js},
		{`{"username": 5}`, js},
		{`{"enabled": "yes"}`, js},
		{`{"tag_expiration_s": "1w"}`, js},
		{`{"tag_expiration_s": 1e30}`, js},
		{`{"tag_expiration_s": 86400.5}`, js},
		{`{"email": 3}`, js},
		{`{"access_token": {"a": [1, 2, {"b": null}]}}`, js},
		{`{"username": "bob"} {"username": "dan"}`, js},
		{`{"username": "bob"}}`, js},
		{`{"username": "bob"}]`, js},
		{"\f{\"username\": \"bob\"}", js},
		{`{"USERNAME": "bob"}`, js},
		{`{"Enabled": false, "SuperUser": true}`, js},
		{`{"username": `, js},
		{`{"username": "\ud800"}`, js},
		{"{\"username\": \"\xff\xfe\"}", js},
		{`{"username": "bob"}`, "text/plain"},
		{`{"username": "bob"}`, ""},
		{`{"username": "bob"}`, "application/x-www-form-urlencoded"},
		{`{"username": "bob"}`, "application/json; charset"},
		{`{"username": "bob"}`, "APPLICATION/JSON"},
		{`{"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`, js},
		{`{"name": "` + strings.Repeat("x", 300) + `"}`, js},
		{`{"service": "quay", "name": "my key", "metadata": {"a": 1}, "notes": "n", "expiration": 1739906895.5}`, js},
		{`{"metadata": "x", "expiration": null}`, js},
		{`{"metadata": [1], "expiration": "tomorrow"}`, js},
		{`{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "secret"}`, js},
	}
	for _, s := range seeds {
		for target := range fuzzTargets {
			f.Add([]byte(s.body), s.ct, uint8(target), uint16(0))
		}
	}
	f.Add([]byte(`{"name": "acme", "email": "a@example.com"}`), js, uint8(1), uint16(16)) // over a tiny limit
	f.Fuzz(func(t *testing.T, body []byte, ct string, target uint8, limit uint16) {
		max := int64(MaxBodyBytes)
		if limit != 0 {
			max = int64(limit)
		}
		r := httptest.NewRequest(http.MethodPost, "/api/v1/superuser/users/", nil)
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(body)), max)
		r.Header.Set("Content-Type", ct)
		newDst := fuzzTargets[int(target)%len(fuzzTargets)]
		dst := newDst()
		err := decodeJSON(r, dst)

		jsonType := isJSONMediaType(ct)
		if err != nil {
			we := checkClientError(t, err)
			switch {
			case !jsonType && we.Code != wharf.UnsupportedMediaType:
				t.Fatalf("Content-Type %q: code %q, want %q", ct, we.Code, wharf.UnsupportedMediaType)
			case jsonType && int64(len(body)) > max && we.Code != wharf.TooLarge:
				t.Fatalf("%d-byte body over a %d-byte limit: code %q, want %q", len(body), max, we.Code, wharf.TooLarge)
			case jsonType && int64(len(body)) <= max && we.Code != wharf.Invalid:
				t.Fatalf("body within the limit: code %q, want %q", we.Code, wharf.Invalid)
			}
			// No false refusals: a JSON object that encoding/json maps onto
			// the request type must be accepted.
			fresh := newDst()
			trimmed := bytes.TrimLeft(body, " \t\r\n")
			if jsonType && int64(len(body)) <= max && len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(body, fresh) == nil {
				t.Fatalf("a valid JSON object was refused: %v\nbody: %q", err, body)
			}
			return
		}
		// Accepted: the request must have been JSON, within the limit, and
		// the body one JSON object (nothing else before or after it).
		if !jsonType {
			t.Fatalf("accepted Content-Type %q", ct)
		}
		if int64(len(body)) > max {
			t.Fatalf("accepted a %d-byte body over the %d-byte limit", len(body), max)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON: %q", body)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil || obj == nil {
			t.Fatalf("accepted a body that is not a JSON object: %q", body)
		}
		if err := json.Unmarshal(body, newDst()); err != nil {
			t.Fatalf("accepted a body encoding/json refuses for %T: %v\nbody: %q", dst, err, body)
		}
		// Quay's JSON schemas match property names exactly: a key that
		// differs from a field's name only in case sets nothing.
		exact := map[string]json.RawMessage{}
		for _, name := range structJSONNames(reflect.TypeOf(dst).Elem()) {
			if v, ok := obj[name]; ok {
				exact[name] = v
			}
		}
		exactBody, err := json.Marshal(exact)
		if err != nil {
			t.Fatal(err)
		}
		exactDst := newDst()
		if err := json.Unmarshal(exactBody, exactDst); err != nil {
			t.Fatalf("re-decoding the exact keys: %v", err)
		}
		if !reflect.DeepEqual(dst, exactDst) {
			got, _ := json.Marshal(dst)
			t.Fatalf("a key matched a field whose name differs in case: body %q decoded as %s, exact keys give %s", body, got, exactBody)
		}
	})
}

// structJSONNames lists the JSON names of a struct type's fields.
func structJSONNames(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// quayFalsy are the only values Quay's truthy_bool reads as false (spec
// §2.3); every other present value is true.
var quayFalsy = map[string]bool{"false": true, "False": true, "FALSE": true, "0": true, "": true, "null": true}

func FuzzQueryParams(f *testing.F) {
	for _, q := range []string{
		"", "limit=1", "limit=7", "limit=100", "limit=101", "limit=0", "limit=-1", "limit=abc", "limit=1.5",
		"limit=", "limit=+5", "limit=007", "limit=99999999999999999999", "limit=1&limit=500",
		"disabled=true", "disabled=True", "disabled=false", "disabled=False", "disabled=FALSE", "disabled=0",
		"disabled=1", "disabled=", "disabled=null", "disabled=maybe", "disabled=no", "includeOrgs=off", "disabled", "includeOrgs=False&includeTeams=true",
		"limit=10&next_page=gAAAAABn&disabled=false", "limit=%zz", "starttime=02/17/2025&endtime=02/18/2025",
		"starttime=02%2F17%2F2025+UTC&endtime=02%2F18%2F2025+%2B0200", "starttime=2025-02-17", "endtime=02/30/2025",
		"starttime=02/10/2025&endtime=02/01/2025", "starttime=1/1/2025&endtime=1/31/2025",
	} {
		f.Add(q)
	}
	now := time.Date(2025, 2, 17, 19, 29, 14, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/", RawQuery: raw}}
		q := r.URL.Query()

		n, err := pageLimit(r)
		switch {
		case !q.Has("limit"):
			if n != 0 || err != nil {
				t.Fatalf("no limit: got %d, %v; want 0, nil", n, err)
			}
		default:
			v := q.Get("limit")
			want, aerr := strconv.Atoi(v)
			if aerr == nil && want >= 1 && want <= 100 {
				if n != want || err != nil {
					t.Fatalf("limit=%q: got %d, %v; want %d, nil", v, n, err, want)
				}
				break
			}
			if err == nil {
				t.Fatalf("limit=%q accepted as %d", v, n)
			}
			if checkClientError(t, err).Code != wharf.Invalid {
				t.Fatalf("limit=%q: %v, want an invalid_request", v, err)
			}
			if aerr == nil && want > 100 && wharf.ErrorMessage(err) != "Page limit cannot be above 100" {
				t.Fatalf("limit=%q: message %q", v, wharf.ErrorMessage(err))
			}
		}

		for _, name := range []string{"disabled", "includeOrgs", "includeTeams"} {
			for _, def := range []bool{true, false} {
				b := queryBool(r, name, def)
				if !q.Has(name) {
					if b != def {
						t.Fatalf("%s absent: got %t; want the default %t", name, b, def)
					}
					continue
				}
				if v := q.Get(name); b == quayFalsy[v] {
					t.Fatalf("%s=%q read as %t; Quay reads only %v as false", name, v, b, []string{"false", "False", "FALSE", "0", "", "null"})
				}
			}
		}

		for _, span := range []time.Duration{0, 31 * 24 * time.Hour} {
			w, err := auditlog.ParseWindow(q.Get("starttime"), q.Get("endtime"), now, span)
			if err != nil {
				if checkClientError(t, err).Code != wharf.Invalid {
					t.Fatalf("window %q: %v, want an invalid_request", raw, err)
				}
				continue
			}
			if !w.Start.Before(w.End) {
				t.Fatalf("window %q: start %v not before end %v", raw, w.Start, w.End)
			}
			if span > 0 && w.End.Sub(w.Start) > span {
				t.Fatalf("window %q: %v longer than %v", raw, w.End.Sub(w.Start), span)
			}
		}
	})
}
