package av

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// roots confines file access to the configured directories. Paths are
// resolved (symlinks included) before the check, and files are then opened
// through os.Root, which refuses any component that escapes the root, so a
// symlink swapped in between the check and the open cannot lead outside.
type roots struct {
	list []root
}

type root struct {
	path string // absolute, symlinks resolved
	r    *os.Root
}

func openRoots(dirs []string) (*roots, error) {
	rs := &roots{}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			abs, err := filepath.Abs(d)
			if err != nil {
				return nil, fmt.Errorf("allowed root %q: %w", d, err)
			}
			d = abs
		}
		p, err := filepath.EvalSymlinks(d)
		if err != nil {
			return nil, fmt.Errorf("allowed root %q: %w", d, err)
		}
		r, err := os.OpenRoot(p)
		if err != nil {
			return nil, fmt.Errorf("allowed root %q: %w", d, err)
		}
		rs.list = append(rs.list, root{path: p, r: r})
	}
	return rs, nil
}

func (rs *roots) close() {
	for _, r := range rs.list {
		r.r.Close()
	}
}

func (rs *roots) names() string {
	var n []string
	for _, r := range rs.list {
		n = append(n, r.path)
	}
	return strings.Join(n, ", ")
}

// target is a path checked against the roots.
type target struct {
	path string // resolved absolute path
	root root
	rel  string // path relative to root, "." for the root itself
}

// within reports whether p (clean, absolute) is dir or below it.
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// checkPath validates a user-supplied path argument without touching the
// file system.
func checkPath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("path is required")
	case strings.ContainsRune(p, 0):
		return "", errors.New("path contains a NUL byte")
	case !filepath.IsAbs(p):
		return "", fmt.Errorf("path %q is not absolute: give the full path of a file inside an allowed root", p)
	}
	return filepath.Clean(p), nil
}

// resolve checks that p exists and, after resolving symlinks, lies inside
// an allowed root.
func (rs *roots) resolve(p string) (target, error) {
	clean, err := checkPath(p)
	if err != nil {
		return target{}, err
	}
	if len(rs.list) == 0 {
		return target{}, errors.New("no allowed roots are configured: start the server with --allow-root DIR (servers.av.allowed_roots) to scan or quarantine files")
	}
	resolved, err := filepath.EvalSymlinks(clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return target{}, fmt.Errorf("path %q does not exist", clean)
		}
		return target{}, fmt.Errorf("resolving %q: %w", clean, err)
	}
	return rs.locate(clean, resolved)
}

// resolveNew checks a path that may not exist yet (a restore target): its
// parent directory must exist and resolve inside an allowed root, and the
// path itself must not be a symlink.
func (rs *roots) resolveNew(p string) (target, error) {
	clean, err := checkPath(p)
	if err != nil {
		return target{}, err
	}
	if len(rs.list) == 0 {
		return target{}, errors.New("no allowed roots are configured: start the server with --allow-root DIR (servers.av.allowed_roots)")
	}
	dir, base := filepath.Split(clean)
	resolvedDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return target{}, fmt.Errorf("directory %q does not exist", dir)
		}
		return target{}, fmt.Errorf("resolving %q: %w", dir, err)
	}
	return rs.locate(clean, filepath.Join(resolvedDir, base))
}

func (rs *roots) locate(clean, resolved string) (target, error) {
	for _, r := range rs.list {
		if within(resolved, r.path) {
			rel, err := filepath.Rel(r.path, resolved)
			if err != nil {
				return target{}, err
			}
			return target{path: resolved, root: r, rel: rel}, nil
		}
	}
	if resolved != clean {
		return target{}, fmt.Errorf("path %q resolves to %q, which is outside the allowed roots (%s)", clean, resolved, rs.names())
	}
	return target{}, fmt.Errorf("path %q is outside the allowed roots (%s)", clean, rs.names())
}

// open opens the target through its root.
func (t target) open() (*os.File, error) {
	f, err := t.root.r.Open(t.rel)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", t.path, err)
	}
	return f, nil
}
