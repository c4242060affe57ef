//go:build !unix

package ingest

import "os"

// fileIdentity falls back to the path where inodes are not available;
// rotation then looks like a new file.
func fileIdentity(path string, _ os.FileInfo) string { return "path:" + path }
