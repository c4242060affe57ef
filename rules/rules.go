// Package rules embeds MCPSoc's own Sigma rule packs (firewall, WAF,
// antivirus, IDS, Linux, MCP abuse) so the binary detects out of the box.
// The rules are plain Sigma YAML in the folders beside this file; their
// test cases live in tests/ and run with 'mcpsoc rules test rules/'.
package rules

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed antivirus firewall ids linux mcp waf
var packs embed.FS

// FS returns the embedded rule packs.
func FS() fs.FS { return packs }

// WriteTo replaces dir with the embedded packs, so operators can read the
// rules the running binary uses, and returns dir.
func WriteTo(dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	err := fs.WalkDir(packs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := packs.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	return dir, err
}
