package detect

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// RuleFiles lists the .yml and .yaml files under each root (a directory or
// a file), sorted per root, skipping directories named "tests" or
// "testdata": those hold rule test cases (see docs/rules.md), whose
// descriptors are YAML too but are not rules.
func RuleFiles(roots ...string) ([]string, error) {
	var out []string
	for _, root := range roots {
		var files []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && (d.Name() == "tests" || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(p)); ext == ".yml" || ext == ".yaml" {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing rules under %q: %w", root, err)
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}
