package scan

import (
	"net/url"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/pin"
)

// PinIdentity names what an entry runs, independent of the client's key for
// it and of secrets in its command line: the launched package or image, the
// remote URL without credentials, or the command and its script. Lockfiles
// and signatures key on it.
func PinIdentity(e Entry) pin.Identity {
	if e.URL != "" && e.Command == "" {
		u, err := url.Parse(e.URL)
		if err != nil {
			return pin.Identity{Kind: "url", Name: "(unparseable)"}
		}
		return pin.Identity{Kind: "url", Name: strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.Path}
	}
	argv := append([]string{e.Command}, e.Args...)
	if ps := launchedPackages(argv); len(ps) > 0 {
		p := ps[0]
		id := pin.Identity{Kind: p.ecosystem, Name: p.name}
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
	return pin.Identity{Kind: "command", Name: name}
}

// quoteArg quotes an argument for display when it holds spaces or quotes.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"'$`\\") {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
