package scan

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config parser in each format and
// checks every entry it returns through the static checks: nothing may
// panic, and entries always have a name and a transport.
func FuzzParse(f *testing.F) {
	_ = filepath.WalkDir("testdata/linux-home", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, uint8(0))
				f.Add(b, uint8(1))
				f.Add(b, uint8(2))
			}
		}
		return nil
	})
	exts := []string{"settings.json", "config.toml", "config.yaml"}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		cf, err := Parse(Source{Path: exts[int(kind)%len(exts)]}, data)
		if err != nil {
			return
		}
		for _, e := range cf.Entries {
			if e.Transport == "" {
				t.Fatalf("entry %+v has no transport", e)
			}
			CheckEntry(e, nil)
			PinIdentity(e)
			redactedCommandLine(e)
		}
	})
}
