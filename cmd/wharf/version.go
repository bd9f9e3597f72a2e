package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// printVersion writes what "wharf version" prints: the module version, the
// commit the binary was built from, and the Go toolchain.
func printVersion(stdout io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	_, err := io.WriteString(stdout, versionText(info, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH))
	return err
}

// versionText formats build information. Go stamps the commit only when it
// builds inside a git checkout (not a git worktree) with -buildvcs on, as
// "make build" and "make image" ask; a binary built otherwise says so
// rather than guess.
func versionText(info *debug.BuildInfo, goVersion string) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	commit := "commit unknown (built without version control information)"
	if rev := settings["vcs.revision"]; rev != "" {
		when := settings["vcs.time"]
		if settings["vcs.modified"] == "true" {
			when += ", with uncommitted changes"
		}
		commit = fmt.Sprintf("commit %s (%s)", rev, when)
	}
	return fmt.Sprintf("wharf %s\n%s\n%s\n", version, commit, goVersion)
}
