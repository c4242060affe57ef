package av

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Entry is the metadata kept next to a quarantined file, as
// <id>.json beside its content <id>.bin.
type Entry struct {
	ID            string    `json:"id" jsonschema:"quarantine entry id, the argument of restore_file"`
	OriginalPath  string    `json:"original_path" jsonschema:"absolute path the file was moved from (symlinks resolved)"`
	Size          int64     `json:"size" jsonschema:"size in bytes"`
	Mode          string    `json:"mode" jsonschema:"original permission bits in octal, e.g. 0644"`
	UID           int       `json:"uid" jsonschema:"original owner uid"`
	GID           int       `json:"gid" jsonschema:"original group gid"`
	Owner         string    `json:"owner,omitempty" jsonschema:"original owner name when known"`
	Group         string    `json:"group,omitempty" jsonschema:"original group name when known"`
	SHA256        string    `json:"sha256" jsonschema:"SHA-256 of the content, hex"`
	Signature     string    `json:"signature,omitempty" jsonschema:"ClamAV signature the file matched"`
	Reason        string    `json:"reason,omitempty" jsonschema:"why it was quarantined"`
	QuarantinedAt time.Time `json:"quarantined_at" jsonschema:"when it was quarantined (UTC)"`
}

// quarantine is a directory of quarantined files. Content files are kept
// read-only (0400) in a 0700 directory so nothing runs or reads them by
// accident; all access goes through os.Root.
type quarantine struct {
	dir string
	r   *os.Root
}

var idRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}$`)

func openQuarantine(dir string) (*quarantine, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("quarantine directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating quarantine directory: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("quarantine directory %q: %w", dir, err)
	}
	r, err := os.OpenRoot(resolved)
	if err != nil {
		return nil, fmt.Errorf("quarantine directory %q: %w", dir, err)
	}
	return &quarantine{dir: resolved, r: r}, nil
}

func newID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func names(uid, gid int) (string, string) {
	var un, gn string
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		un = u.Username
	}
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		gn = g.Name
	}
	return un, gn
}

// add moves the target file into the quarantine: the content is copied
// from an open descriptor (so what is hashed is what is kept), synced, and
// the original is removed only once the copy and its metadata are durable
// and the path still names the file that was copied.
func (q *quarantine) add(t target, sig, reason string, now time.Time) (Entry, error) {
	f, err := t.open()
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Entry{}, fmt.Errorf("stat %q: %w", t.path, err)
	}
	if !fi.Mode().IsRegular() {
		return Entry{}, fmt.Errorf("%q is not a regular file (%s)", t.path, fi.Mode().Type())
	}
	e := Entry{
		ID: newID(now), OriginalPath: t.path, Size: fi.Size(),
		Mode: fmt.Sprintf("%04o", fi.Mode().Perm()), Signature: sig, Reason: reason, QuarantinedAt: now.UTC(),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
		e.Owner, e.Group = names(e.UID, e.GID)
	}
	partial := e.ID + ".partial"
	out, err := q.r.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Entry{}, fmt.Errorf("creating quarantine file: %w", err)
	}
	cleanup := func() { _ = q.r.Remove(partial); _ = q.r.Remove(e.ID + ".bin"); _ = q.r.Remove(e.ID + ".json") }
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), f)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return Entry{}, fmt.Errorf("copying %q into quarantine: %w", t.path, err)
	}
	if n != fi.Size() {
		cleanup()
		return Entry{}, fmt.Errorf("%q changed size while being quarantined (%d bytes read, %d expected); nothing was moved", t.path, n, fi.Size())
	}
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	if err := q.r.Chmod(partial, 0o400); err != nil {
		cleanup()
		return Entry{}, fmt.Errorf("protecting quarantine file: %w", err)
	}
	if err := q.writeMeta(e); err != nil {
		cleanup()
		return Entry{}, err
	}
	if err := q.r.Rename(partial, e.ID+".bin"); err != nil {
		cleanup()
		return Entry{}, fmt.Errorf("finishing quarantine file: %w", err)
	}
	// The path must still name the file we copied before we delete it.
	cur, err := t.root.r.Lstat(t.rel)
	if err != nil || !os.SameFile(cur, fi) || cur.Size() != fi.Size() || !cur.ModTime().Equal(fi.ModTime()) {
		cleanup()
		return Entry{}, fmt.Errorf("%q was replaced or modified while being quarantined; nothing was moved", t.path)
	}
	if err := t.root.r.Remove(t.rel); err != nil {
		cleanup()
		return Entry{}, fmt.Errorf("removing %q after copying it into quarantine (the original is untouched): %w", t.path, err)
	}
	return e, nil
}

func (q *quarantine) writeMeta(e Entry) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	tmp := e.ID + ".json.tmp"
	f, err := q.r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing quarantine metadata: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = q.r.Rename(tmp, e.ID+".json")
	}
	if err != nil {
		_ = q.r.Remove(tmp)
		return fmt.Errorf("writing quarantine metadata: %w", err)
	}
	return nil
}

// get reads one entry's metadata.
func (q *quarantine) get(id string) (Entry, error) {
	if !idRE.MatchString(id) {
		return Entry{}, fmt.Errorf("%q is not a quarantine id (list_quarantine shows them, e.g. 20261121T150405Z-0123456789ab)", id)
	}
	b, err := q.r.ReadFile(id + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, fmt.Errorf("no quarantine entry %q", id)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("reading quarantine entry %q: %w", id, err)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil || e.ID != id {
		return Entry{}, fmt.Errorf("quarantine entry %q has damaged metadata", id)
	}
	return e, nil
}

// list returns every entry, newest first. Damaged metadata files are
// reported by name rather than skipped silently.
func (q *quarantine) list() ([]Entry, []string, error) {
	des, err := fs.ReadDir(q.r.FS(), ".")
	if err != nil {
		return nil, nil, fmt.Errorf("reading quarantine directory: %w", err)
	}
	var out []Entry
	var bad []string
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || !idRE.MatchString(id) {
			continue
		}
		e, err := q.get(id)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QuarantinedAt.After(out[j].QuarantinedAt) })
	return out, bad, nil
}

// restore writes an entry's content back to its original path, which must
// not exist, then drops the entry. It returns whether the original owner
// could be restored (only when running as root or as that owner).
func (q *quarantine) restore(e Entry, t target) (ownerRestored bool, err error) {
	src, err := q.r.Open(e.ID + ".bin")
	if err != nil {
		return false, fmt.Errorf("opening quarantined content of %q: %w", e.ID, err)
	}
	defer src.Close()
	mode, err := strconv.ParseUint(e.Mode, 8, 32)
	if err != nil || mode > 0o777 {
		return false, fmt.Errorf("quarantine entry %q has a bad mode %q", e.ID, e.Mode)
	}
	dst, err := t.root.r.OpenFile(t.rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("refusing to overwrite %q: a file already exists there; move it away first", t.path)
	}
	if err != nil {
		return false, fmt.Errorf("creating %q: %w", t.path, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(dst, h), src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
		err = fmt.Errorf("quarantined content of %q does not match its recorded sha256", e.ID)
	}
	if err != nil {
		_ = t.root.r.Remove(t.rel)
		return false, fmt.Errorf("restoring %q: %w", t.path, err)
	}
	if err := t.root.r.Chmod(t.rel, os.FileMode(mode)); err != nil {
		return false, fmt.Errorf("restoring the mode of %q: %w", t.path, err)
	}
	if err := t.root.r.Lchown(t.rel, e.UID, e.GID); err == nil {
		ownerRestored = true
	}
	if err := q.r.Remove(e.ID + ".bin"); err != nil {
		return ownerRestored, fmt.Errorf("file restored to %q but removing the quarantine copy failed: %w", t.path, err)
	}
	if err := q.r.Remove(e.ID + ".json"); err != nil {
		return ownerRestored, fmt.Errorf("file restored to %q but removing the quarantine metadata failed: %w", t.path, err)
	}
	return ownerRestored, nil
}
