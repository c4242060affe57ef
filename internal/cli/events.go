package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func init() { register("events", newEventsCmd) }

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Work with stored events"}
	var c apiClient
	var from, to string
	var limit int
	var asJSON bool
	search := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search stored events (field:value, \"phrases\", wildcards, AND/OR/NOT, ranges, CIDR, free text)",
		Long: `Search asks a running SOC (GET /api/v1/events). Examples:
  mcpsoc events search 'source.ip:203.0.113.0/24 AND event.action:block' --from now-24h
  mcpsoc events search 'destination.port:[1 TO 1024] NOT network.transport:udp'
  mcpsoc events search '"Failed password" AND user.name:root' --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := c.key()
			if err != nil {
				return err
			}
			v := url.Values{"q": {args[0]}}
			if from != "" {
				v.Set("from", from)
			}
			if to != "" {
				v.Set("to", to)
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "TIME\tDATASET\tACTION\tSOURCE\tDESTINATION\tMESSAGE")
			}
			shown := 0
			for shown < limit {
				v.Set("limit", strconv.Itoa(min(limit-shown, 1000)))
				page, err := c.searchPage(cmd, v, key)
				if err != nil {
					return err
				}
				for _, e := range page.Events {
					if asJSON {
						var line bytes.Buffer
						if err := json.Compact(&line, e.Event); err != nil {
							return err
						}
						line.WriteByte('\n')
						out.Write(line.Bytes())
					} else {
						writeEventRow(tw, e.Event)
					}
					shown++
				}
				if page.Next == "" || len(page.Events) == 0 {
					break
				}
				v.Set("cursor", page.Next)
			}
			if !asJSON {
				tw.Flush()
				fmt.Fprintf(cmd.ErrOrStderr(), "%d event(s)\n", shown)
			}
			return nil
		},
	}
	c.flags(search)
	search.Flags().StringVar(&from, "from", "", "lower `time` bound: RFC 3339, YYYY-MM-DD, now or now-24h")
	search.Flags().StringVar(&to, "to", "", "upper `time` bound (exclusive)")
	search.Flags().IntVar(&limit, "limit", 100, "at most `N` events")
	search.Flags().BoolVar(&asJSON, "json", false, "print events as NDJSON")
	cmd.AddCommand(search)
	return cmd
}

type eventsPage struct {
	Events []struct {
		ID    string          `json:"id"`
		Event json.RawMessage `json:"event"`
	} `json:"events"`
	Next string `json:"next"`
}

func (c *apiClient) searchPage(cmd *cobra.Command, v url.Values, key string) (eventsPage, error) {
	var page eventsPage
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, c.url("/api/v1/events")+"?"+v.Encode(), nil)
	if err != nil {
		return page, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return page, &ExitError{Code: 1, Err: fmt.Errorf("search failed: %s", e.Error.Message)}
		}
		return page, fmt.Errorf("search failed: %s", resp.Status)
	}
	return page, json.Unmarshal(b, &page)
}

func writeEventRow(w io.Writer, raw json.RawMessage) {
	var ev map[string]any
	_ = json.Unmarshal(raw, &ev)
	get := func(path string) string {
		var cur any = ev
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = m[k]
		}
		if cur == nil {
			return ""
		}
		return fmt.Sprint(cur)
	}
	endpoint := func(side string) string {
		ip, port := get(side+".ip"), get(side+".port")
		if port != "" && ip != "" {
			return ip + ":" + port
		}
		return ip
	}
	msg := get("message")
	if msg == "" {
		msg = get("event.original")
	}
	if len(msg) > 80 {
		msg = msg[:77] + "..."
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", get("@timestamp"), get("event.dataset"), get("event.action"),
		endpoint("source"), endpoint("destination"), strings.ReplaceAll(msg, "\t", " "))
}
