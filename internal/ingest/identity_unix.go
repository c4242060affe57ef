//go:build unix

package ingest

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity names a file by device and inode, which stay the same when
// it is renamed (log rotation) and change when a new file takes its path.
func fileIdentity(path string, fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	return "path:" + path
}
