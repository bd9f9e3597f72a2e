package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wharf-registry/wharf/internal/identity"
)

// TestAppendJSONMatchesEncodingJSON: the views that write their own JSON
// write what encoding/json writes for them, byte for byte.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	email := "<a&b>@example.com"
	limit := int64(1 << 30)
	full := &superUserView{Avatar: identity.AvatarFor("alice", email, "user"), Email: &email, Enabled: true,
		EncryptedPassword: "secret\"x", GlobalReadonlySuperUser: true, Kind: "user", Name: "alice", SuperUser: true,
		Username: "alice", Verified: true,
		QuotaReport: &quotaReport{BackfillStatus: "complete", ConfiguredQuota: &limit, QuotaBytes: 42, RunningBackfill: "complete"},
		Quotas: &[]quotaShort{{ID: 7, LimitBytes: limit, Limits: []quotaLimitView{{ID: 1, LimitPercent: 80, Type: "Warning"},
			{ID: 2, LimitPercent: 100, Type: "Reject"}}}, {ID: 8, LimitBytes: 1, Limits: []quotaLimitView{}}}}
	// A field added to the view must be added to appendJSON: full sets
	// every exported field, so the comparison below sees it (unexported
	// ones only hold what exported ones point to).
	fields := reflect.ValueOf(full).Elem()
	for i := range fields.NumField() {
		if fields.Type().Field(i).IsExported() && fields.Field(i).IsZero() {
			t.Fatalf("the full view leaves %s unset", fields.Type().Field(i).Name)
		}
	}
	bare := &superUserView{Avatar: identity.AvatarFor("b", "", "user"), Kind: "user", Name: "b", Username: "b"}
	noQuota := &superUserView{Kind: "user", Name: "c", Username: "c",
		QuotaReport: &quotaReport{BackfillStatus: "complete"}, Quotas: &[]quotaShort{}}
	nilLimits := &superUserView{Quotas: &[]quotaShort{{ID: 1}}}
	tests := []struct {
		name string
		view jsonAppender
	}{
		{"full user", full},
		{"bare user", bare},
		{"no quota", noQuota},
		{"nil limits", nilLimits},
		{"page", &userPage{NextPage: "token<&>", Users: []*superUserView{full, bare, noQuota}}},
		{"empty page", &userPage{Users: []*superUserView{}}},
		{"nil page", &userPage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.view)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.view.appendJSON(nil); string(got) != string(want) {
				t.Errorf("appendJSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzAppendJSONString: any string, the bytes encoding/json writes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "<script>&amp;", "\x00\b\f\n\r\t\x1f\x7f", "\xff\xfe", "\u2028\u2029é😀", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}
