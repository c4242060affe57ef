package pin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ChangeKind says how an object differs from the lockfile.
type ChangeKind string

// The change kinds.
const (
	Added           ChangeKind = "added"
	Removed         ChangeKind = "removed"
	Changed         ChangeKind = "changed"
	Renamed         ChangeKind = "renamed"
	IdentityChanged ChangeKind = "identity"
)

// Change is one difference between a pinned and a live server.
type Change struct {
	Kind ChangeKind `json:"kind"`
	// Object is tool, prompt, resource, resourceTemplate, instructions or
	// server (identity changes).
	Object string `json:"object"`
	// Name is the object's name (its URI for resources); OldName is set for
	// renames.
	Name    string `json:"name"`
	OldName string `json:"oldName,omitempty"`
	// Components lists the fields that changed (description, inputSchema…).
	Components []string `json:"components,omitempty"`
	// Diff is a readable, bounded account of what changed.
	Diff string `json:"diff,omitempty"`
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s %s", c.Object, c.Name, c.Kind)
	if c.OldName != "" {
		s += " from " + c.OldName
	}
	if len(c.Components) > 0 {
		s += " (" + strings.Join(c.Components, ", ") + ")"
	}
	if c.Diff != "" {
		s += ": " + c.Diff
	}
	return s
}

// Compare lists how current differs from locked. Equal canonical hashes are
// never a change; an object removed and another added with the same
// definition apart from its name is one rename.
func Compare(locked, current *Server) []Change {
	var out []Change
	if d := identityDiff(locked.Identity, current.Identity); d != "" {
		out = append(out, Change{Kind: IdentityChanged, Object: "server", Name: current.Identity.Key(), Diff: d})
	}
	switch {
	case locked.Instructions == nil && current.Instructions != nil:
		out = append(out, Change{Kind: Added, Object: "instructions", Name: "instructions", Diff: excerpt(current.Instructions.Definition, "instructions")})
	case locked.Instructions != nil && current.Instructions == nil:
		out = append(out, Change{Kind: Removed, Object: "instructions", Name: "instructions"})
	case locked.Instructions != nil && locked.Instructions.SHA256 != current.Instructions.SHA256:
		out = append(out, changed("instructions", "instructions", *locked.Instructions, *current.Instructions))
	}
	out = append(out, compareSet("tool", locked.Tools, current.Tools, "name")...)
	out = append(out, compareSet("prompt", locked.Prompts, current.Prompts, "name")...)
	out = append(out, compareSet("resource", locked.Resources, current.Resources, "uri")...)
	out = append(out, compareSet("resourceTemplate", locked.ResourceTemplates, current.ResourceTemplates, "uriTemplate")...)
	return out
}

func identityDiff(a, b Identity) string {
	var parts []string
	if a.Kind != b.Kind || a.Name != b.Name {
		parts = append(parts, fmt.Sprintf("%s → %s", a.Key(), b.Key()))
	}
	if a.Version != b.Version {
		parts = append(parts, fmt.Sprintf("version %q → %q", a.Version, b.Version))
	}
	if a.Digest != b.Digest {
		parts = append(parts, fmt.Sprintf("digest %q → %q", a.Digest, b.Digest))
	}
	return strings.Join(parts, ", ")
}

func compareSet(kind string, locked, current map[string]Object, keyField string) []Change {
	var out []Change
	var removed, added []string
	for _, name := range sortedNames(locked) {
		cur, ok := current[name]
		if !ok {
			removed = append(removed, name)
			continue
		}
		if cur.SHA256 != locked[name].SHA256 {
			out = append(out, changed(kind, name, locked[name], cur))
		}
	}
	for _, name := range sortedNames(current) {
		if _, ok := locked[name]; !ok {
			added = append(added, name)
		}
	}
	// Renames: same definition apart from the key field.
	used := map[string]bool{}
	for _, r := range removed {
		rest := withoutKey(locked[r].Components, keyField)
		match := ""
		for _, a := range added {
			if !used[a] && rest != "" && rest == withoutKey(current[a].Components, keyField) {
				match = a
				break
			}
		}
		if match != "" {
			used[match] = true
			out = append(out, Change{Kind: Renamed, Object: kind, Name: match, OldName: r, Components: []string{keyField}})
			continue
		}
		out = append(out, Change{Kind: Removed, Object: kind, Name: r})
	}
	for _, a := range added {
		if !used[a] {
			out = append(out, Change{Kind: Added, Object: kind, Name: a, Diff: excerpt(current[a].Definition, "description")})
		}
	}
	return out
}

// withoutKey fingerprints every component but the key.
func withoutKey(c map[string]string, key string) string {
	var b strings.Builder
	for _, k := range sortedKeys(c) {
		if k != key {
			b.WriteString(k + "=" + c[k] + ";")
		}
	}
	return b.String()
}

// CompareObject describes how one pinned object (kind tool, prompt,
// resource…) differs from its current definition: which fields changed and
// a readable diff of each. Equal hashes give a Change with no components.
func CompareObject(kind, name string, locked, current Object) Change {
	if locked.SHA256 == current.SHA256 {
		return Change{Kind: Changed, Object: kind, Name: name}
	}
	return changed(kind, name, locked, current)
}

func changed(kind, name string, old, cur Object) Change {
	c := Change{Kind: Changed, Object: kind, Name: name}
	keys := map[string]bool{}
	for k := range old.Components {
		keys[k] = true
	}
	for k := range cur.Components {
		keys[k] = true
	}
	var oldDef, curDef map[string]json.RawMessage
	_ = json.Unmarshal(old.Definition, &oldDef)
	_ = json.Unmarshal(cur.Definition, &curDef)
	var diffs []string
	for _, k := range sortedKeys(keys) {
		if old.Components[k] == cur.Components[k] {
			continue
		}
		c.Components = append(c.Components, k)
		diffs = append(diffs, k+": "+textDiff(render(oldDef[k]), render(curDef[k])))
	}
	c.Diff = strings.Join(diffs, "; ")
	return c
}

// render shows a JSON string as its text and anything else as canonical JSON.
func render(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// textDiff trims the common prefix and suffix and shows what was removed
// and inserted with a little context, bounded to keep reports readable.
func textDiff(a, b string) string {
	ra, rb := []rune(a), []rune(b)
	p := 0
	for p < len(ra) && p < len(rb) && ra[p] == rb[p] {
		p++
	}
	s := 0
	for s < len(ra)-p && s < len(rb)-p && ra[len(ra)-1-s] == rb[len(rb)-1-s] {
		s++
	}
	const ctx, max = 24, 240
	from := max0(p - ctx)
	pre := ""
	if from > 0 {
		pre = "…"
	}
	left := string(ra[from:p])
	oldMid := string(ra[p : len(ra)-s])
	newMid := string(rb[p : len(rb)-s])
	right := string(ra[len(ra)-s : min(len(ra), len(ra)-s+ctx)])
	post := ""
	if len(ra)-s+ctx < len(ra) {
		post = "…"
	}
	switch {
	case a == "":
		return "(absent) → " + clip(b, max)
	case b == "":
		return clip(a, max) + " → (absent)"
	}
	mid := ""
	if oldMid != "" {
		mid += "[-" + clip(oldMid, max) + "-]"
	}
	if newMid != "" {
		mid += "{+" + clip(newMid, max) + "+}"
	}
	return pre + left + mid + right + post
}

func excerpt(def json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(def, &m) != nil {
		return ""
	}
	return clip(render(m[field]), 160)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

func sortedNames(m map[string]Object) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
