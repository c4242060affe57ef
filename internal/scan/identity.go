package scan

import (
	"net/url"
	"strings"
)

// Identity names what a server is, independent of the client's key for it
// and of secrets in its command line: the launched package or image, or the
// remote URL without credentials. Lockfiles and signatures key on it.
type Identity struct {
	// Kind is npm, pypi, image, url or command.
	Kind string `json:"kind"`
	// Name is the package, image repository, URL (scheme, host, path) or
	// command base name.
	Name string `json:"name"`
	// Version is the pinned version or tag, empty when unpinned.
	Version string `json:"version,omitempty"`
	// Digest is an image digest when pinned by one.
	Digest string `json:"digest,omitempty"`
}

// Key is the stable lockfile key: kind:name.
func (i Identity) Key() string { return i.Kind + ":" + i.Name }

// Identify computes an entry's identity.
func Identify(e Entry) Identity {
	if e.URL != "" && e.Command == "" {
		u, err := url.Parse(e.URL)
		if err != nil {
			return Identity{Kind: "url", Name: "(unparseable)"}
		}
		return Identity{Kind: "url", Name: strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.Path}
	}
	argv := append([]string{e.Command}, e.Args...)
	if ps := launchedPackages(argv); len(ps) > 0 {
		p := ps[0]
		id := Identity{Kind: p.ecosystem, Name: p.name}
		switch p.ecosystem {
		case "image":
			ref := p.spec
			if r, d, ok := strings.Cut(ref, "@"); ok {
				id.Digest, ref = d, r
			}
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				id.Version = ref[i+1:]
			}
		default:
			if p.pinned {
				v := strings.TrimPrefix(p.spec, p.name)
				id.Version = strings.TrimLeft(v, "@=")
			}
		}
		return id
	}
	// A plain command: its base name plus the first non-flag argument that
	// looks like a script (node server.js, python -m pkg).
	name := commandBase(e.Command)
	for i, a := range e.Args {
		if a == "-m" && i+1 < len(e.Args) {
			name += " -m " + e.Args[i+1]
			break
		}
		if !strings.HasPrefix(a, "-") {
			if strings.ContainsAny(a, "/\\") || strings.Contains(a, ".") {
				name += " " + strings.ReplaceAll(a, `\`, "/")
			}
			break
		}
	}
	return Identity{Kind: "command", Name: name}
}

// quoteArg quotes an argument for display when it holds spaces or quotes.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"'$`\\") {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
