package config

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Intel configures the threat-intelligence store, its scheduled feeds and
// the TAXII 2.1 endpoint of 'serve' (see docs/intel.md). Files listed in
// detect.intel keep working beside it: they are matched but not stored.
type Intel struct {
	// Disabled leaves the intel store, its feeds and /taxii2/ out of serve.
	Disabled bool `yaml:"disabled"`
	// DB is the store's SQLite file (default data_dir/intel/intel.db).
	DB string `yaml:"db"`
	// RefreshInterval is how often serve loads indicators other processes
	// ('mcpsoc intel import') wrote into the store (default 10s).
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// PruneInterval is how often expired indicators are deleted
	// (default 10m).
	PruneInterval time.Duration `yaml:"prune_interval"`
	TAXII         TAXIIServer   `yaml:"taxii"`
	// Feeds are synced on their interval while serve runs, and on demand
	// with 'mcpsoc intel sync'.
	Feeds []IntelFeed `yaml:"feeds"`
}

// TAXIIServer configures the read-only TAXII 2.1 endpoint at /taxii2/.
type TAXIIServer struct {
	// Disabled leaves /taxii2/ unmounted.
	Disabled bool `yaml:"disabled"`
	// APIKeys may read the endpoint (api.api_keys may too). With no key at
	// all, every request is refused.
	APIKeys []Secret `yaml:"api_keys"`
	// MaxPage caps a page of objects (default 1000).
	MaxPage int `yaml:"max_page"`
}

// IntelFeed is one scheduled feed.
type IntelFeed struct {
	// Name is the source name indicators are recorded under.
	Name string `yaml:"name"`
	// Type is stix, taxii, misp-feed, misp, csv or text.
	Type string `yaml:"type"`
	// URL locates the feed: a file or bundle URL, a TAXII API root, a MISP
	// feed's base URL or a MISP instance. Path is a local file or feed
	// directory instead.
	URL  string `yaml:"url"`
	Path string `yaml:"path"`
	// Collection is the TAXII collection id (required for taxii).
	Collection string `yaml:"collection"`
	// APIKey authenticates: TAXII Bearer token, MISP automation key.
	APIKey Secret `yaml:"api_key"`
	// Username and Password use HTTP Basic for TAXII instead.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Interval between syncs (default 1h, at least 1m).
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one HTTP request (default 2m); MaxBytes one document
	// (default 256 MiB).
	Timeout  time.Duration `yaml:"timeout"`
	MaxBytes int64         `yaml:"max_bytes"`
	// IndicatorType is the type of every value of a csv or text feed ("":
	// inferred per value).
	IndicatorType string `yaml:"indicator_type"`
	// Mapping selects CSV columns (1-based numbers or header names).
	Mapping *IntelMapping `yaml:"mapping"`
	// Header says a CSV feed's first record names its columns.
	Header bool `yaml:"header"`
	// Delimiter is a CSV feed's field separator (default ",").
	Delimiter string `yaml:"delimiter"`
	// Confidence (0–100) is given to indicators the feed gives none.
	Confidence int `yaml:"confidence"`
	// TTL expires indicators the feed gives no valid_until, counted from
	// each sync that reports them (0: they do not expire).
	TTL time.Duration `yaml:"ttl"`
	// Tags restrict a MISP restSearch to events with one of them.
	Tags []string `yaml:"tags"`
}

// IntelMapping names the CSV columns of a feed.
type IntelMapping struct {
	Value       string `yaml:"value"`
	Type        string `yaml:"type"`
	Confidence  string `yaml:"confidence"`
	ValidUntil  string `yaml:"valid_until"`
	Description string `yaml:"description"`
	Labels      string `yaml:"labels"`
	Ref         string `yaml:"ref"`
}

// IntelFeedTypes are the accepted feed types.
var IntelFeedTypes = map[string]bool{"stix": true, "taxii": true, "misp-feed": true, "misp": true, "csv": true, "text": true}

var intelTypes = map[string]bool{"": true, "ip": true, "cidr": true, "domain": true, "url": true, "md5": true,
	"sha1": true, "sha256": true, "sha512": true, "email": true}

var feedNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

func (c *Config) intelDefaults() {
	in := &c.Intel
	if in.RefreshInterval == 0 {
		in.RefreshInterval = 10 * time.Second
	}
	if in.PruneInterval == 0 {
		in.PruneInterval = 10 * time.Minute
	}
	if in.TAXII.MaxPage == 0 {
		in.TAXII.MaxPage = 1000
	}
	for i := range in.Feeds {
		f := &in.Feeds[i]
		if f.Interval == 0 {
			f.Interval = time.Hour
		}
		if f.Timeout == 0 {
			f.Timeout = 2 * time.Minute
		}
		if f.MaxBytes == 0 {
			f.MaxBytes = 256 << 20
		}
	}
}

func (c *Config) validateIntel(add func(path, format string, args ...any)) {
	in := &c.Intel
	if in.RefreshInterval < time.Second {
		add("intel.refresh_interval", "must be at least 1s")
	}
	if in.PruneInterval < time.Second {
		add("intel.prune_interval", "must be at least 1s")
	}
	if in.TAXII.MaxPage < 1 || in.TAXII.MaxPage > 10000 {
		add("intel.taxii.max_page", "must be 1-10000")
	}
	names := map[string]bool{}
	for i, f := range in.Feeds {
		p := fmt.Sprintf("intel.feeds[%d]", i)
		if !feedNameRE.MatchString(f.Name) {
			add(p+".name", "must be 1-64 letters, digits, '_', '.', ':' or '-'; got %q", f.Name)
		} else if names[f.Name] {
			add(p+".name", "duplicate feed name %q", f.Name)
		}
		names[f.Name] = true
		if !IntelFeedTypes[f.Type] {
			add(p+".type", "must be stix, taxii, misp-feed, misp, csv or text; got %q", f.Type)
		}
		switch {
		case f.URL == "" && f.Path == "":
			add(p, "needs url or path")
		case f.URL != "" && f.Path != "":
			add(p, "has both url and path; give one")
		case f.URL != "":
			if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(p+".url", "must be an http or https URL")
			}
		}
		if (f.Type == "taxii" || f.Type == "misp") && f.URL == "" {
			add(p+".url", "a %s feed needs a url", f.Type)
		}
		if f.Type == "taxii" && f.Collection == "" {
			add(p+".collection", "a taxii feed needs a collection id")
		}
		if f.Type == "misp" && !f.APIKey.IsSet() {
			add(p+".api_key", "a misp feed needs the instance's automation key")
		}
		if f.Interval < time.Minute {
			add(p+".interval", "must be at least 1m")
		}
		if f.Timeout < 0 {
			add(p+".timeout", "must not be negative")
		}
		if f.MaxBytes < 0 {
			add(p+".max_bytes", "must not be negative")
		}
		if f.Confidence < 0 || f.Confidence > 100 {
			add(p+".confidence", "must be 0-100")
		}
		if f.TTL < 0 {
			add(p+".ttl", "must not be negative")
		}
		if !intelTypes[f.IndicatorType] {
			add(p+".indicator_type", "must be one of ip, cidr, domain, url, md5, sha1, sha256, sha512, email; got %q", f.IndicatorType)
		}
		if f.Mapping != nil && f.Mapping.Value == "" {
			add(p+".mapping.value", "is required when a mapping is given")
		}
		if (f.Mapping != nil || f.Header || f.Delimiter != "") && f.Type != "csv" {
			add(p, "mapping, header and delimiter apply to csv feeds only")
		}
		if len([]rune(f.Delimiter)) > 1 {
			add(p+".delimiter", "must be one character")
		}
	}
}

func (c *Config) intelPaths(abs func(*string)) {
	abs(&c.Intel.DB)
	for i := range c.Intel.Feeds {
		abs(&c.Intel.Feeds[i].Path)
	}
}
