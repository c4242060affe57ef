package waf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Exclusion is a rule exclusion for a false positive: remove a rule, or
// one target of a rule, everywhere or for request URIs under a path.
type Exclusion struct {
	RuleID string `json:"rule_id,omitempty" jsonschema:"the rule to exclude (digits, e.g. 942100); may be left out with transaction_id when that transaction matched one rule"`
	// TransactionID derives what is left out from one audit record: the
	// rule (when it matched only one besides the CRS verdicts), the path
	// and the variable the rule matched in.
	TransactionID string `json:"transaction_id,omitempty" jsonschema:"a false-positive transaction (waf_events transaction_id): rule_id, path and target default to what matched in it"`
	Path          string `json:"path,omitempty" jsonschema:"only for request URIs starting with this path (e.g. /api/search); empty: everywhere"`
	Target        string `json:"target,omitempty" jsonschema:"only this variable of the rule (e.g. ARGS:q, REQUEST_COOKIES:session, REQUEST_HEADERS:User-Agent); empty: the whole rule"`
	Reason        string `json:"reason,omitempty" jsonschema:"why this is a false positive; kept as a comment in the snippet and in the audit log (printable ASCII, at most 200 bytes)"`
}

var (
	ruleIDRe = regexp.MustCompile(`^[0-9]{1,9}$`)
	// pathRe accepts the URL path characters of RFC 3986 except the
	// double quote and backslash, which would end or escape the operator.
	pathRe = regexp.MustCompile(`^/[A-Za-z0-9/._~%!$&'()*+,;=:@-]*$`)
	// targetRe is a collection with an optional key; no comma, quote or
	// semicolon that could break out of the ctl action.
	targetRe  = regexp.MustCompile(`^[A-Z_]{2,40}(:[A-Za-z0-9_.\-/\[\]]{1,128})?$`)
	snippetID = regexp.MustCompile(`\bid:([0-9]+)`)
)

const maxExclReason = 200

func (x *Exclusion) check() error {
	x.RuleID = strings.TrimSpace(x.RuleID)
	x.Path = strings.TrimSpace(x.Path)
	x.Target = strings.TrimSpace(x.Target)
	x.Reason = strings.TrimSpace(x.Reason)
	if !ruleIDRe.MatchString(x.RuleID) {
		return fmt.Errorf("rule_id %q is not a rule id (digits only, e.g. 942100)", x.RuleID)
	}
	if x.Path != "" && (len(x.Path) > 512 || !pathRe.MatchString(x.Path)) {
		return fmt.Errorf("path %q must start with / and hold only URL path characters (no quotes, backslashes or spaces), at most 512 bytes", x.Path)
	}
	if x.Target != "" && !targetRe.MatchString(x.Target) {
		return fmt.Errorf("target %q is not a variable such as ARGS:q or REQUEST_HEADERS:User-Agent", x.Target)
	}
	if len(x.Reason) > maxExclReason {
		return fmt.Errorf("reason is %d bytes; at most %d are kept", len(x.Reason), maxExclReason)
	}
	for i := 0; i < len(x.Reason); i++ {
		if c := x.Reason[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("reason contains %q at byte %d: use printable ASCII on one line", c, i)
		}
	}
	return nil
}

// fileName is the snippet's file: one file per rule, path and target, so
// applying the same exclusion again replaces it.
func (x Exclusion) fileName() string {
	h := sha256.Sum256([]byte(x.Path + "\x00" + x.Target))
	return fmt.Sprintf("mcpsoc-exclusion-%s-%s.conf", x.RuleID, hex.EncodeToString(h[:4]))
}

// snippet renders the configuration. id is the id of our own rule (needed
// for the scoped forms). The snippet must be included before the CRS rules
// (where REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf is): its ctl actions
// run in phase 1, before the rules they change.
func (x Exclusion) snippet(id int, who string, at time.Time) string {
	var b strings.Builder
	b.WriteString("# Managed by mcpsoc (mcp waf apply_exclusion); edits are overwritten.\n")
	fmt.Fprintf(&b, "# rule %s", x.RuleID)
	if x.Target != "" {
		fmt.Fprintf(&b, " target %s", x.Target)
	}
	if x.Path != "" {
		fmt.Fprintf(&b, " for request URIs under %s", x.Path)
	} else {
		b.WriteString(" everywhere")
	}
	fmt.Fprintf(&b, "; by %s at %s\n", orDash(who), at.UTC().Format(time.RFC3339))
	if x.Reason != "" {
		fmt.Fprintf(&b, "# reason: %s\n", x.Reason)
	}
	switch {
	case x.Path == "" && x.Target == "":
		fmt.Fprintf(&b, "SecRuleRemoveById %s\n", x.RuleID)
	case x.Path == "":
		fmt.Fprintf(&b, "SecAction \"id:%d,phase:1,pass,nolog,ctl:ruleRemoveTargetById=%s;%s\"\n", id, x.RuleID, x.Target)
	case x.Target == "":
		fmt.Fprintf(&b, "SecRule REQUEST_URI \"@beginsWith %s\" \"id:%d,phase:1,pass,nolog,ctl:ruleRemoveById=%s\"\n", x.Path, id, x.RuleID)
	default:
		fmt.Fprintf(&b, "SecRule REQUEST_URI \"@beginsWith %s\" \"id:%d,phase:1,pass,nolog,ctl:ruleRemoveTargetById=%s;%s\"\n", x.Path, id, x.RuleID, x.Target)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ExclusionFile is one managed snippet file.
type ExclusionFile struct {
	File    string    `json:"file"`
	Content string    `json:"content"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modified"`
}

// listExclusions reads the managed snippet files in dir.
func listExclusions(dir string) ([]ExclusionFile, error) {
	ms, err := filepath.Glob(filepath.Join(dir, "mcpsoc-exclusion-*.conf"))
	if err != nil {
		return nil, err
	}
	sort.Strings(ms)
	out := []ExclusionFile{}
	for _, m := range ms {
		fi, err := os.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 64<<10 {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, fmt.Errorf("reading exclusion: %w", err)
		}
		out = append(out, ExclusionFile{File: m, Content: string(b), Size: fi.Size(), ModTime: fi.ModTime().UTC()})
	}
	return out, nil
}

// nextID picks the id of our rule: the one the file had already, or the
// lowest free id of [base, base+span) across the managed snippets.
func nextID(dir, file string, base, span int) (int, error) {
	fs, err := listExclusions(dir)
	if err != nil {
		return 0, err
	}
	used := map[int]bool{}
	for _, f := range fs {
		for _, m := range snippetID.FindAllStringSubmatch(f.Content, -1) {
			n, _ := strconv.Atoi(m[1])
			if f.File == file {
				return n, nil
			}
			used[n] = true
		}
	}
	for id := base; id < base+span; id++ {
		if !used[id] {
			return id, nil
		}
	}
	return 0, fmt.Errorf("all %d rule ids from %d are taken by managed exclusions: remove some or raise rule_id_base", span, base)
}

// CommandRun is the outcome of a validate or reload command.
type CommandRun struct {
	Command    []string `json:"command"`
	OK         bool     `json:"ok"`
	ExitCode   int      `json:"exit_code"`
	Output     string   `json:"output" jsonschema:"stdout and stderr, at most 4 KiB"`
	DurationMS float64  `json:"duration_ms"`
}

// runCommand runs argv with a timeout; a command that cannot start is an
// error, a non-zero exit is reported in the result.
func runCommand(ctx context.Context, argv []string, timeout time.Duration) (CommandRun, error) {
	run := CommandRun{Command: argv}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	run.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	run.Output = clip(strings.TrimSpace(out.String()), 4096)
	var ee *exec.ExitError
	switch {
	case err == nil:
		run.OK = true
	case ctx.Err() != nil:
		return run, fmt.Errorf("%s did not finish within %s", argv[0], timeout)
	case errors.As(err, &ee):
		run.ExitCode = ee.ExitCode()
	default:
		return run, fmt.Errorf("running %s: %w", argv[0], err)
	}
	return run, nil
}

// writeAtomic replaces path with data: a temporary file in the same
// directory (named so no Include glob on *.conf picks it up), synced, then
// renamed over path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".mcpsoc-tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// restore puts back what path held before a change: old content, or no
// file when old is nil.
func restore(path string, old []byte) error {
	if old == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeAtomic(path, old)
}
