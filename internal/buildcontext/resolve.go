package buildcontext

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// ResolveDockerfile finds the build directory and the Dockerfile of a
// build in a context extracted at root, with the meaning Quay gives to a
// build request: contextPath is the directory inside the archive to build
// from ("" and "/" mean the archive's root, "/sub/" a subdirectory) and
// dockerfilePath is the Dockerfile's path inside the archive ("" means
// "/Dockerfile"). Relative paths start at the archive's root as well.
//
// Symlinks are followed while they stay inside root. The results are
// absolute host paths below root, with every symlink under root resolved,
// so that the builder can read them without following links. A path that
// leaves root, is missing or is of the wrong type is a wharf.Invalid error.
func ResolveDockerfile(root, contextPath, dockerfilePath string) (contextDir, dockerfile string, err error) {
	if dockerfilePath == "" {
		dockerfilePath = "/Dockerfile"
	}
	ctxRel, err := archivePath("Context directory", contextPath)
	if err != nil {
		return "", "", err
	}
	dfRel, err := archivePath("Dockerfile", dockerfilePath)
	if err != nil {
		return "", "", err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", "", wharf.Wrap(err, "open build context")
	}
	defer r.Close()
	// Checked through the root: a symlink leading out of it is an error
	// here rather than a path to somewhere else on the host.
	if err := statIn(r, ctxRel, "Context directory", true); err != nil {
		return "", "", err
	}
	if err := statIn(r, dfRel, "Dockerfile", false); err != nil {
		return "", "", err
	}
	if contextDir, err = hostPath(root, ctxRel); err != nil {
		return "", "", err
	}
	if dockerfile, err = hostPath(root, dfRel); err != nil {
		return "", "", err
	}
	return contextDir, dockerfile, nil
}

// archivePath cleans a path given in a build request into a path relative
// to the archive's root, refusing one whose ".." climbs above it (rather
// than stopping at the root as a rooted path.Clean would).
func archivePath(what, p string) (string, error) {
	rel := path.Clean(strings.TrimLeft(p, "/"))
	if !filepath.IsLocal(rel) {
		return "", wharf.Errorf(wharf.Invalid, "%s path %s leaves the build context", what, p)
	}
	return rel, nil
}

// statIn checks that rel exists inside r and is a directory (dir) or a
// regular file.
func statIn(r *os.Root, rel, what string, dir bool) error {
	shown := "/"
	if rel != "." {
		shown += rel
	}
	fi, err := r.Stat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return wharf.Errorf(wharf.Invalid, "%s not found at %s", what, shown)
	case err != nil && hostFault(err):
		return wharf.Wrap(err, "resolve build context path")
	case err != nil:
		// Mostly a symlink leading out of the context.
		return wharf.Errorf(wharf.Invalid, "%s at %s cannot be resolved inside the build context", what, shown)
	case dir && !fi.IsDir():
		return wharf.Errorf(wharf.Invalid, "%s at %s is not a directory", what, shown)
	case !dir && !fi.Mode().IsRegular():
		return wharf.Errorf(wharf.Invalid, "%s at %s is not a file", what, shown)
	}
	return nil
}

// hostPath turns rel, already checked through an os.Root, into an
// absolute path below root with its symlinks resolved.
func hostPath(root, rel string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", wharf.Wrap(err, "resolve build context path")
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", wharf.Wrap(err, "resolve build context path")
	}
	target, err := filepath.EvalSymlinks(filepath.Join(abs, filepath.FromSlash(rel)))
	if err != nil {
		return "", wharf.Wrap(err, "resolve build context path")
	}
	below, err := filepath.Rel(realRoot, target)
	// Only a tree changed since statIn could get here.
	if err != nil || !filepath.IsLocal(below) {
		return "", wharf.Errorf(wharf.Invalid, "path /%s leaves the build context", rel)
	}
	return filepath.Join(abs, below), nil
}
