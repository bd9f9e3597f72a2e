package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// privateDir creates dir with mode 0700, or takes group and other access
// away from an existing one: the data directory and blob storage hold the
// database, secrets and private images, which other users of the host must
// reach through the API only. An older wharf created them 0755, so an
// existing directory is tightened rather than refused, with a warning. One
// wharf cannot change (a volume mount owned by another user) is only
// warned about: stopping a running deployment at upgrade would be worse,
// and the files wharf creates inside are private anyway.
func privateDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	// Keep the setgid and sticky bits: a group-owned volume relies on them.
	keep := fi.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
	if err := os.Chmod(dir, keep&^0o077); err != nil {
		log.Warn("directory is open to other users and cannot be made private",
			slog.String("path", dir), slog.String("mode", fi.Mode().Perm().String()), slog.Any("err", err))
		return nil
	}
	log.Warn("directory was open to other users: made private (owner only)",
		slog.String("path", dir), slog.String("was", fi.Mode().Perm().String()))
	return nil
}
