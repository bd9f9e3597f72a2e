package main

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionText(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"stamped", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206230151-396e06070e26"},
			Settings: vcs("vcs", "git", "vcs.revision", "396e06070e264864d60f22a68c0c1b17a85d385b", "vcs.time", "2026-12-06T23:01:51Z", "vcs.modified", "false")},
			"wharf v0.0.0-20261206230151-396e06070e26\ncommit 396e06070e264864d60f22a68c0c1b17a85d385b (2026-12-06T23:01:51Z)\ngo1.26.8 linux/amd64\n"},
		{"uncommitted changes", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206230151-396e06070e26+dirty"},
			Settings: vcs("vcs.revision", "396e06070e264864d60f22a68c0c1b17a85d385b", "vcs.time", "2026-12-06T23:01:51Z", "vcs.modified", "true")},
			"wharf v0.0.0-20261206230151-396e06070e26+dirty\ncommit 396e06070e264864d60f22a68c0c1b17a85d385b (2026-12-06T23:01:51Z, with uncommitted changes)\ngo1.26.8 linux/amd64\n"},
		{"not stamped", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			"wharf (devel)\ncommit unknown (built without version control information)\ngo1.26.8 linux/amd64\n"},
		{"no build information", debug.BuildInfo{},
			"wharf (devel)\ncommit unknown (built without version control information)\ngo1.26.8 linux/amd64\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, versionText(&tc.info, "go1.26.8 linux/amd64")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
