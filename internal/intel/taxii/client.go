package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/stix"
)

// Client polls TAXII 2.1 servers. The zero value works without
// authentication and with the default timeout and size limit.
type Client struct {
	// APIKey is sent as "Authorization: Bearer KEY" when set.
	APIKey string
	// Username and Password use HTTP Basic authentication instead.
	Username, Password string
	// HTTP is the client (nil: intel.NewHTTPClient(0), a 2-minute
	// timeout per request).
	HTTP *http.Client
	// MaxBytes bounds one response (0: intel.DefaultMaxBytes).
	MaxBytes int64
}

func (c *Client) get(ctx context.Context, u string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", MediaType)
	switch {
	case c.APIKey != "":
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	case c.Username != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = intel.NewHTTPClient(0)
	}
	b, h, err := intel.Do(hc, req, c.MaxBytes)
	if err != nil {
		return h, fmt.Errorf("taxii: %w", err)
	}
	if ct := h.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/taxii+json") && !strings.HasPrefix(ct, "application/json") {
		return h, fmt.Errorf("taxii: GET %s: content type %q is not TAXII JSON", req.URL.Redacted(), ct)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return h, fmt.Errorf("taxii: GET %s: %w", req.URL.Redacted(), err)
	}
	return h, nil
}

// resolve makes ref absolute against base (API roots may be relative).
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r).String()
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u, nil
}

// Discover reads the discovery resource at u (e.g. https://host/taxii2/)
// and returns it with its API roots made absolute.
func (c *Client) Discover(ctx context.Context, u string) (Discovery, error) {
	var d Discovery
	if _, err := c.get(ctx, u, &d); err != nil {
		return d, err
	}
	for i, r := range d.APIRoots {
		abs, err := resolve(u, r)
		if err != nil {
			return d, fmt.Errorf("taxii: api root %q: %w", r, err)
		}
		d.APIRoots[i] = abs
	}
	if d.Default != "" {
		abs, err := resolve(u, d.Default)
		if err != nil {
			return d, fmt.Errorf("taxii: default api root %q: %w", d.Default, err)
		}
		d.Default = abs
	}
	return d, nil
}

// APIRoot reads an API root's information.
func (c *Client) APIRoot(ctx context.Context, root string) (APIRoot, error) {
	var a APIRoot
	_, err := c.get(ctx, root, &a)
	return a, err
}

// Collections lists an API root's collections.
func (c *Client) Collections(ctx context.Context, root string) ([]Collection, error) {
	var out struct {
		Collections []Collection `json:"collections"`
	}
	u, err := resolve(root, "collections/")
	if err != nil {
		return nil, err
	}
	_, err = c.get(ctx, u, &out)
	return out.Collections, err
}

// PollOptions narrow a poll.
type PollOptions struct {
	// AddedAfter asks for objects added after it (zero: all).
	AddedAfter time.Time
	// Limit is the page size asked for (0: the server's default).
	Limit int
	// MaxPages bounds the requests of one poll (0: 10,000).
	MaxPages int
}

// PollResult is what one poll read.
type PollResult struct {
	Batch intel.Batch
	Stats stix.Stats
	// Pages is the number of requests made.
	Pages int
	// AddedLast is the newest X-TAXII-Date-Added-Last seen: the
	// AddedAfter of the next poll. Zero when no page carried it.
	AddedLast time.Time
}

// Poll reads a collection's objects, following "next" while "more" is
// true, and reduces the indicators among them to a batch.
func (c *Client) Poll(ctx context.Context, root, collection string, o *PollOptions) (PollResult, error) {
	if o == nil {
		o = &PollOptions{}
	}
	maxPages := o.MaxPages
	if maxPages <= 0 {
		maxPages = 10000
	}
	var res PollResult
	base, err := resolve(root, "collections/"+url.PathEscape(collection)+"/objects/")
	if err != nil {
		return res, err
	}
	next := ""
	for res.Pages < maxPages {
		q := url.Values{}
		if !o.AddedAfter.IsZero() {
			q.Set("added_after", o.AddedAfter.UTC().Format(time.RFC3339Nano))
		}
		if o.Limit > 0 {
			q.Set("limit", strconv.Itoa(o.Limit))
		}
		if next != "" {
			q.Set("next", next)
		}
		u := base
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var env Envelope
		h, err := c.get(ctx, u, &env)
		if err != nil {
			return res, err
		}
		res.Pages++
		if v := h.Get("X-TAXII-Date-Added-Last"); v != "" {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.After(res.AddedLast) {
				res.AddedLast = t
			}
		}
		for i, raw := range env.Objects {
			var obj stix.Object
			res.Stats.Objects++
			if err := json.Unmarshal(raw, &obj); err != nil {
				res.Batch.Skipped = append(res.Batch.Skipped, intel.Skip{Ref: fmt.Sprintf("page %d object %d", res.Pages, i), Reason: "not a STIX object: " + err.Error()})
				continue
			}
			if obj.Type != "indicator" {
				res.Stats.Other++
				continue
			}
			res.Stats.Indicators++
			es, sk := stix.FromIndicator(&obj)
			res.Batch.Entries = append(res.Batch.Entries, es...)
			res.Batch.Skipped = append(res.Batch.Skipped, sk...)
		}
		if !env.More {
			return res, nil
		}
		if env.Next == "" {
			// TAXII 2.1 without next: page on by the last date added.
			if res.AddedLast.IsZero() || !res.AddedLast.After(o.AddedAfter) {
				return res, fmt.Errorf("taxii: server says more but gives neither next nor a newer X-TAXII-Date-Added-Last")
			}
			o2 := *o
			o2.AddedAfter = res.AddedLast
			o = &o2
			continue
		}
		next = env.Next
	}
	res.Batch.Skipped = append(res.Batch.Skipped, intel.Skip{Ref: collection, Reason: fmt.Sprintf("stopped after %d pages", maxPages)})
	return res, nil
}
