package cli

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// apiClient holds the flags shared by commands that talk to a running SOC.
type apiClient struct {
	server  string
	apiKey  string
	dataDir string
	http    *http.Client
}

func (c *apiClient) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.server, "server", "http://127.0.0.1:8080", "`URL` of a running mcpsoc serve")
	cmd.Flags().StringVar(&c.apiKey, "api-key", "", "API `key` (default: $MCPSOC_API_KEY, then DATA/ingest.key)")
	cmd.Flags().StringVar(&c.dataDir, "data", "data", "data `directory` of a local serve, to find its ingest.key")
}

// key resolves the API key: the flag, the environment, then the key file a
// local serve wrote.
func (c *apiClient) key() (string, error) {
	if c.apiKey != "" {
		return c.apiKey, nil
	}
	if k := os.Getenv("MCPSOC_API_KEY"); k != "" {
		return k, nil
	}
	b, err := os.ReadFile(filepath.Join(c.dataDir, "ingest.key"))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return "", err
}

func (c *apiClient) client() *http.Client {
	if c.http == nil {
		c.http = &http.Client{Timeout: 5 * time.Minute}
	}
	return c.http
}

func (c *apiClient) url(path string) string {
	return strings.TrimRight(c.server, "/") + path
}
