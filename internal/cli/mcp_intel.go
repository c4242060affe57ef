package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/intel"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/spf13/cobra"
)

func init() { registerMCP("intel", newMCPIntelCmd) }

// mcpIntelFlags are the settings the command line gives beside intel.Config:
// keys come from environment variables named on the command line (a key
// in argv would show in ps), and one timeout and cache TTL for all
// connectors.
type mcpIntelFlags struct {
	vtEnv, otxEnv, abuseEnv string
	timeout, cacheTTL       time.Duration
}

func newMCPIntelCmd() *cobra.Command {
	var cfg intel.Config
	var fl mcpIntelFlags
	var addr, level, cfgPath, dataDir string
	var stateless bool
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Serve threat intelligence as MCP tools: indicator lookup, GeoIP/ASN, VirusTotal, OTX, AbuseIPDB",
		Long: `Serve threat intelligence as MCP tools: lookup_indicator (the local intel
store), enrich_ip (GeoIP and ASN from MaxMind-format .mmdb files), and the live
connectors virustotal_lookup, otx_lookup and abuseipdb_check, plus status.
With no flags the server starts and lists its tools; each tool says which
setting its backend needs. API keys come from the config file
(servers.intel.NAME.api_key, usually written as ${ENV_VAR}) or from the
environment variables named by --virustotal-key-env, --otx-key-env and
--abuseipdb-key-env; never from the command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := config.Load(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if dataDir != "" {
				c.DataDir = dataDir
			}
			applyIntelConfig(cmd, &cfg, c.Servers.Intel)
			if err := applyIntelFlags(cmd, &cfg, fl); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			log, err := telemetry.NewLogger(os.Stderr, level, "text")
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			// lookup_indicator reads the store 'serve' and 'mcpsoc intel
			// import' write under data_dir; without one it says so.
			store, err := openIntelLookup(cmd.Context(), c)
			if err != nil {
				return err
			}
			if store != nil {
				defer store.Close()
			}
			s, err := intel.New(cfg, &intel.Options{Logger: log.With("component", "servers.intel"), Indicators: intel.FromStore(store)})
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer s.Close()
			return serveKit(cmd, s.MCP(&mcpx.ServerOptions{Logger: log}), addr, stateless, 0)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "YAML config `file`; its servers.intel section configures the server (flags win)")
	f.StringVar(&dataDir, "data", "", "data `directory` holding the intel store (overrides data_dir)")
	f.StringVar(&cfg.GeoIPCity, "geoip-city", "", "GeoLite2-City (or -Country) .mmdb `file` for enrich_ip")
	f.StringVar(&cfg.GeoIPASN, "geoip-asn", "", "GeoLite2-ASN .mmdb `file` for enrich_ip")
	f.StringVar(&fl.vtEnv, "virustotal-key-env", "", "environment `variable` holding the VirusTotal API key")
	f.StringVar(&cfg.VirusTotal.BaseURL, "virustotal-url", "", "VirusTotal API v3 base `URL` (default "+intel.DefaultVirusTotalURL+")")
	f.StringVar(&fl.otxEnv, "otx-key-env", "", "environment `variable` holding the AlienVault OTX API key")
	f.StringVar(&cfg.OTX.BaseURL, "otx-url", "", "OTX base `URL` (default "+intel.DefaultOTXURL+")")
	f.StringVar(&fl.abuseEnv, "abuseipdb-key-env", "", "environment `variable` holding the AbuseIPDB API key")
	f.StringVar(&cfg.AbuseIPDB.BaseURL, "abuseipdb-url", "", "AbuseIPDB API v2 base `URL` (default "+intel.DefaultAbuseIPDBURL+")")
	f.DurationVar(&fl.timeout, "timeout", 0, "limit for one request to a live connector (default 15s)")
	f.DurationVar(&fl.cacheTTL, "cache-ttl", 0, "how long connector answers are reused (default 10m; negative disables the cache)")
	f.StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	f.BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	f.StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}

// applyIntelConfig fills, from the servers.intel section, every setting the
// command line did not give.
func applyIntelConfig(cmd *cobra.Command, cfg *intel.Config, c config.IntelServer) {
	fill(cmd, "geoip-city", &cfg.GeoIPCity, c.GeoIPCity)
	fill(cmd, "geoip-asn", &cfg.GeoIPASN, c.GeoIPASN)
	for _, a := range []struct {
		dst       *intel.API
		src       config.IntelAPI
		urlFlag   string
		keyEnvFlg string
	}{
		{&cfg.VirusTotal, c.VirusTotal, "virustotal-url", "virustotal-key-env"},
		{&cfg.OTX, c.OTX, "otx-url", "otx-key-env"},
		{&cfg.AbuseIPDB, c.AbuseIPDB, "abuseipdb-url", "abuseipdb-key-env"},
	} {
		fill(cmd, a.urlFlag, &a.dst.BaseURL, a.src.BaseURL)
		fill(cmd, a.keyEnvFlg, &a.dst.APIKey, a.src.APIKey)
		fill(cmd, "timeout", &a.dst.Timeout, a.src.Timeout)
		fill(cmd, "cache-ttl", &a.dst.CacheTTL, a.src.CacheTTL)
		a.dst.MaxResponseBytes = a.src.MaxResponseBytes
	}
}

// applyIntelFlags reads the keys named by the --*-key-env flags and applies
// --timeout and --cache-ttl to every connector.
func applyIntelFlags(cmd *cobra.Command, cfg *intel.Config, fl mcpIntelFlags) error {
	for _, k := range []struct {
		env, flag string
		dst       *intel.API
	}{{fl.vtEnv, "virustotal-key-env", &cfg.VirusTotal}, {fl.otxEnv, "otx-key-env", &cfg.OTX}, {fl.abuseEnv, "abuseipdb-key-env", &cfg.AbuseIPDB}} {
		if k.env == "" {
			continue
		}
		v := os.Getenv(k.env)
		if v == "" {
			return fmt.Errorf("--%s: environment variable %s is not set or empty", k.flag, k.env)
		}
		k.dst.APIKey = config.NewSecret(v)
	}
	for _, a := range []*intel.API{&cfg.VirusTotal, &cfg.OTX, &cfg.AbuseIPDB} {
		if cmd.Flags().Changed("timeout") {
			a.Timeout = fl.timeout
		}
		if cmd.Flags().Changed("cache-ttl") {
			a.CacheTTL = fl.cacheTTL
		}
	}
	return nil
}
