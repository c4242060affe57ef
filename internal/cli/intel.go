package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/feeds"
	"github.com/mcpsoc/mcpsoc/internal/intel/taxii"
	intelsrv "github.com/mcpsoc/mcpsoc/internal/servers/intel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

func init() { register("intel", newIntelCmd) }

// openIntel opens serve's intel service; nil when intel.disabled.
func openIntel(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*feeds.Service, error) {
	if cfg.Intel.Disabled {
		return nil, nil
	}
	s, err := feeds.Open(ctx, cfg, nil, log, reg)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	return s, nil
}

// openIntelLookup opens the intel store for lookups only (no matcher in
// memory) for the MCP servers. It returns nil when intel is disabled or the
// store was never created: a lookup server does not create an empty store
// as a side effect, and its tool then says the store is not configured.
func openIntelLookup(ctx context.Context, cfg *config.Config) (*intel.Store, error) {
	if cfg.Intel.Disabled {
		return nil, nil
	}
	path := feeds.DBPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	st, err := intel.Open(ctx, path, &intel.Options{NoMatcher: true})
	if err != nil {
		return nil, fmt.Errorf("intel store: %w", err)
	}
	return st, nil
}

// intelIndicators is what serve's soc tools look indicators up in; nil
// when intel is disabled.
func intelIndicators(s *feeds.Service) intelsrv.Indicators {
	if s == nil {
		return nil
	}
	return intelsrv.FromStore(s.Store)
}

func newIntelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Threat intelligence: import feeds into the intel store, look up indicators, sync configured feeds",
	}
	cmd.AddCommand(newIntelImportCmd(), newIntelLookupCmd(), newIntelSyncCmd())
	return cmd
}

// intelFlags are the flags every intel subcommand shares to find the
// store.
type intelFlags struct{ cfgPath, dataDir string }

func (f *intelFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.cfgPath, "config", "c", "", "YAML config `file` (its data_dir and intel section)")
	cmd.Flags().StringVar(&f.dataDir, "data", "", "data `directory` (overrides data_dir)")
}

func (f *intelFlags) open(ctx context.Context) (*config.Config, *intel.Store, error) {
	cfg, err := config.Load(f.cfgPath)
	if err != nil {
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	if f.dataDir != "" {
		cfg.DataDir = f.dataDir
	}
	st, err := intel.Open(ctx, feeds.DBPath(cfg), &intel.Options{NoMatcher: true})
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

func newIntelImportCmd() *cobra.Command {
	var fl intelFlags
	var format, source, typ, mapping, delim, collection, keyEnv, user string
	var confidence int
	var ttl, timeout time.Duration
	var header, asJSON, verbose bool
	var maxBytes int64
	cmd := &cobra.Command{
		Use:   "import --format stix|taxii|misp-feed|misp|csv|text [--source NAME] FILE|URL...",
		Short: "Import indicators into the intel store and print what was added, updated and skipped",
		Long: `import reads each input in the given format and writes its indicators to the
intel store under data_dir (a running serve picks them up within
intel.refresh_interval). Formats:
  stix       a STIX 2.1 bundle, TAXII envelope or object array (file or URL)
  taxii      a TAXII 2.1 API root URL; --collection ID, or every readable collection
  misp-feed  a MISP feed: a directory or base URL holding manifest.json and event files
  misp       a MISP instance URL (events/restSearch); the key is read from --api-key-env
  csv        CSV; --mapping value=3,labels=7 picks columns (names need --header),
             default layout type,value[,confidence,expires,source]
  text       one value a line, '#' comments (abuse.ch-style lists)
Keys are read from the environment (--api-key-env), never from the command line.
Exit 1 when an input could not be read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !config.IntelFeedTypes[format] {
				return &ExitError{Code: 2, Err: fmt.Errorf("--format must be one of %s", strings.Join(feeds.Formats, ", "))}
			}
			m, err := parseMapping(mapping)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if confidence < 0 || confidence > 100 {
				return &ExitError{Code: 2, Err: errors.New("--confidence must be 0-100")}
			}
			ctx := cmd.Context()
			_, st, err := fl.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			key := config.NewSecret(os.Getenv(keyEnv))
			out := cmd.OutOrStdout()
			failed := 0
			for _, loc := range args {
				f := config.IntelFeed{Name: source, Type: format, Collection: collection, APIKey: key, Username: user,
					Timeout: timeout, MaxBytes: maxBytes, IndicatorType: typ, Mapping: m, Header: header, Delimiter: delim,
					Confidence: confidence, TTL: ttl}
				if user != "" { // Basic auth: the key is the password
					f.Password, f.APIKey = key, config.Secret{}
				}
				if f.Name == "" {
					f.Name = feeds.DefaultSourceName(loc)
				}
				if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
					f.URL = loc
				} else {
					f.Path = loc
				}
				var results []intel.Result
				var err error
				if format == "taxii" && collection == "" {
					results, err = importAllCollections(ctx, st, &f)
				} else {
					var r intel.Result
					r, err = feeds.Import(ctx, st, &f, time.Now())
					results = []intel.Result{r}
				}
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", loc, err)
					continue
				}
				for _, r := range results {
					printResult(out, loc, r, asJSON, verbose)
				}
			}
			if failed > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d inputs failed", failed, len(args))}
			}
			return nil
		},
	}
	fl.add(cmd)
	f := cmd.Flags()
	f.StringVarP(&format, "format", "f", "", "input `format`: stix, taxii, misp-feed, misp, csv or text (required)")
	f.StringVar(&source, "source", "", "source `name` recorded as provenance (default: the URL's host or the file's name)")
	f.StringVar(&typ, "type", "", "indicator `type` of every value of a csv or text input (default: inferred per value)")
	f.StringVar(&mapping, "mapping", "", "CSV `columns`: value=N,type=N,confidence=N,valid_until=N,description=N,labels=N,ref=N (numbers or header names)")
	f.BoolVar(&header, "header", false, "the CSV's first record names its columns")
	f.StringVar(&delim, "delimiter", "", "CSV field `separator` (default ',')")
	f.StringVar(&collection, "collection", "", "TAXII collection `id` (default: every readable collection of the API root)")
	f.StringVar(&keyEnv, "api-key-env", "MCPSOC_INTEL_API_KEY", "environment `variable` holding the TAXII bearer token or MISP key")
	f.StringVar(&user, "username", "", "TAXII Basic-auth `user` (the password is the --api-key-env value)")
	f.IntVar(&confidence, "confidence", 0, "confidence (0-100) for indicators the input gives none")
	f.DurationVar(&ttl, "ttl", 0, "expire indicators the input gives no valid_until after this `duration`")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "HTTP request timeout")
	f.Int64Var(&maxBytes, "max-bytes", intel.DefaultMaxBytes, "largest document read, in bytes")
	f.BoolVar(&asJSON, "json", false, "print each result as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "list every skipped record (default: the first 20)")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

// importAllCollections polls every readable collection of a TAXII API
// root, each as its own source "NAME/COLLECTION-ID".
func importAllCollections(ctx context.Context, st *intel.Store, f *config.IntelFeed) ([]intel.Result, error) {
	c := &taxii.Client{APIKey: f.APIKey.Value(), Username: f.Username, Password: f.Password.Value(),
		HTTP: intel.NewHTTPClient(f.Timeout), MaxBytes: f.MaxBytes}
	root := f.URL
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	cols, err := c.Collections(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []intel.Result
	for _, col := range cols {
		if !col.CanRead {
			continue
		}
		g := *f
		g.Collection = col.ID
		g.Name = f.Name + "/" + col.ID
		r, err := feeds.Import(ctx, st, &g, time.Now())
		if err != nil {
			return out, fmt.Errorf("collection %s: %w", col.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseMapping(s string) (*config.IntelMapping, error) {
	if s == "" {
		return nil, nil
	}
	m := &config.IntelMapping{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--mapping: %q is not field=column", kv)
		}
		dst := map[string]*string{"value": &m.Value, "type": &m.Type, "confidence": &m.Confidence, "valid_until": &m.ValidUntil,
			"description": &m.Description, "labels": &m.Labels, "ref": &m.Ref}[k]
		if dst == nil {
			return nil, fmt.Errorf("--mapping: unknown field %q (value, type, confidence, valid_until, description, labels, ref)", k)
		}
		*dst = v
	}
	if m.Value == "" {
		return nil, errors.New("--mapping needs value=COLUMN")
	}
	return m, nil
}

func printResult(w io.Writer, loc string, r intel.Result, asJSON, verbose bool) {
	if asJSON {
		b, _ := json.Marshal(struct {
			Input string `json:"input"`
			intel.Result
		}{loc, r})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "%s: source %s: added %d, updated %d, skipped %d\n", loc, r.Source, r.Added, r.Updated, len(r.Skipped))
	// Group the reasons so a large feed's skips read as a summary.
	counts := map[string]int{}
	for _, s := range r.Skipped {
		counts[skipKind(s.Reason)]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		return counts[kinds[i]] > counts[kinds[j]] || counts[kinds[i]] == counts[kinds[j]] && kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		fmt.Fprintf(w, "  skipped %d: %s\n", counts[k], k)
	}
	for i, s := range r.Skipped {
		if i == 20 && !verbose {
			fmt.Fprintf(w, "  … %d more (--verbose lists them all)\n", len(r.Skipped)-20)
			break
		}
		fmt.Fprintf(w, "  - %s: %s\n", s.Ref, s.Reason)
	}
}

// skipKind drops the quoted value from a reason so equal reasons group.
func skipKind(reason string) string {
	if i := strings.IndexAny(reason, `"'`); i > 0 {
		return strings.TrimSpace(reason[:i]) + " …"
	}
	return reason
}

func newIntelLookupCmd() *cobra.Command {
	var fl intelFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lookup VALUE",
		Short: "Look up an IP, CIDR, domain, URL, hash or email address in the intel store",
		Long: `lookup prints every stored indicator VALUE would match in an event (the value
itself, CIDR blocks holding an IP, parent domains, a URL's host, an email
address's domain) with each source's provenance and the related indicators.
Exit 1 when nothing matches.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := fl.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			ins, err := st.Lookup(cmd.Context(), args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if ins == nil {
					ins = []intel.Indicator{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				_ = enc.Encode(ins)
			} else {
				printIndicators(out, ins)
			}
			if len(ins) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s: not in the intel store", args[0])}
			}
			return nil
		},
	}
	fl.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the indicators as JSON")
	return cmd
}

func printIndicators(w io.Writer, ins []intel.Indicator) {
	now := time.Now()
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04")
	}
	for _, in := range ins {
		state := ""
		if in.Expired(now) {
			state = " (expired)"
		}
		fmt.Fprintf(w, "%s %s%s — matched %s, confidence %d, valid until %s\n", in.Type, in.Value, state, in.MatchedBy, in.Confidence, day(in.ValidUntil))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SOURCE\tFIRST SEEN\tLAST SEEN\tCONF\tLABELS\tREF")
		for _, p := range in.Sources {
			labels := strings.Join(p.Labels, ",")
			for _, k := range p.KillChain {
				labels += ",kill-chain:" + k.PhaseName
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Source, day(p.FirstSeen), day(p.LastSeen), p.Confidence, strings.Trim(labels, ","), p.Ref)
		}
		tw.Flush()
		for _, r := range in.Related {
			fmt.Fprintf(w, "  related: %s %s (%s %s)\n", r.Type, r.Value, r.Source, r.Ref)
		}
	}
}

func newIntelSyncCmd() *cobra.Command {
	var fl intelFlags
	var only []string
	cmd := &cobra.Command{
		Use:   "sync [--feed NAME]...",
		Short: "Sync the feeds configured in intel.feeds once, now",
		Long: `sync fetches every feed of the config's intel.feeds (or those named with
--feed) and imports them, as serve does on each feed's interval. Exit 1 when
a feed failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := fl.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if len(cfg.Intel.Feeds) == 0 {
				return &ExitError{Code: 2, Err: errors.New("the config has no intel.feeds")}
			}
			s := feeds.NewSyncer(st, cfg.Intel.Feeds, nil, nil)
			names := only
			if len(names) == 0 {
				for _, f := range cfg.Intel.Feeds {
					names = append(names, f.Name)
				}
			}
			failed := 0
			for _, n := range names {
				r, err := s.Sync(cmd.Context(), n)
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", n, err)
					continue
				}
				printResult(cmd.OutOrStdout(), n, r, false, false)
			}
			if failed > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d feeds failed", failed, len(names))}
			}
			return nil
		},
	}
	fl.add(cmd)
	cmd.Flags().StringSliceVar(&only, "feed", nil, "sync only this feed `name` (repeatable)")
	return cmd
}
