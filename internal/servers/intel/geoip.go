package intel

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// geoDB is an open MaxMind-format database.
type geoDB struct {
	path string
	r    *maxminddb.Reader
}

// openGeoDB opens an .mmdb file and checks it is of the expected kind:
// want is "City" (GeoLite2-City or -Country layout) or "ASN".
func openGeoDB(path, want string) (*geoDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening GeoIP database %s: %w", path, err)
	}
	t := r.Metadata.DatabaseType
	switch {
	case want == "ASN" && !strings.Contains(t, "ASN"):
		r.Close()
		return nil, fmt.Errorf("GeoIP database %s is of type %q, not an ASN database (GeoLite2-ASN layout)", path, t)
	case want == "City" && strings.Contains(t, "ASN"):
		r.Close()
		return nil, fmt.Errorf("GeoIP database %s is of type %q: give it as the ASN database, not the city database", path, t)
	}
	return &geoDB{path: path, r: r}, nil
}

func (g *geoDB) close() {
	if g != nil {
		g.r.Close()
	}
}

// DBInfo describes an open database.
type DBInfo struct {
	Path      string    `json:"path"`
	Type      string    `json:"type" jsonschema:"database type from its metadata, e.g. GeoLite2-City"`
	BuildTime time.Time `json:"build_time" jsonschema:"when the database was built; GeoIP data ages"`
}

func (g *geoDB) info() *DBInfo {
	if g == nil {
		return nil
	}
	return &DBInfo{Path: g.path, Type: g.r.Metadata.DatabaseType, BuildTime: g.r.Metadata.BuildTime().UTC()}
}

// cityRecord is the GeoLite2-City / GeoIP2-City record layout (a Country
// database has the same fields without city, location and postal).
type cityRecord struct {
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Continent struct {
		Code  string            `maxminddb:"code"`
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
		InEU    bool              `maxminddb:"is_in_european_union"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Subdivisions []struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Location struct {
		AccuracyRadius uint16   `maxminddb:"accuracy_radius"`
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		TimeZone       string   `maxminddb:"time_zone"`
	} `maxminddb:"location"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
}

// asnRecord is the GeoLite2-ASN record layout.
type asnRecord struct {
	Number       uint32 `maxminddb:"autonomous_system_number"`
	Organization string `maxminddb:"autonomous_system_organization"`
}

// Geo is the location part of enrich_ip.
type Geo struct {
	Network           string   `json:"network" jsonschema:"the database network containing the address"`
	CountryISO        string   `json:"country_iso,omitempty" jsonschema:"ISO 3166-1 alpha-2"`
	Country           string   `json:"country,omitempty"`
	InEU              bool     `json:"in_european_union,omitempty"`
	RegisteredCountry string   `json:"registered_country_iso,omitempty" jsonschema:"country the block is registered in, when it differs"`
	Continent         string   `json:"continent,omitempty" jsonschema:"continent code"`
	Subdivisions      []string `json:"subdivisions,omitempty" jsonschema:"regions, largest first"`
	City              string   `json:"city,omitempty"`
	Postal            string   `json:"postal_code,omitempty"`
	Latitude          *float64 `json:"latitude,omitempty"`
	Longitude         *float64 `json:"longitude,omitempty"`
	AccuracyRadiusKM  int      `json:"accuracy_radius_km,omitempty" jsonschema:"the location is within this radius in km (about 67% confidence)"`
	TimeZone          string   `json:"time_zone,omitempty"`
}

// ASN is the network-owner part of enrich_ip.
type ASN struct {
	Network      string `json:"network" jsonschema:"the database network containing the address"`
	Number       uint32 `json:"number" jsonschema:"autonomous system number"`
	Organization string `json:"organization,omitempty"`
}

func name(names map[string]string) string {
	if n, ok := names["en"]; ok {
		return n
	}
	for _, n := range names {
		return n
	}
	return ""
}

// city looks a up; nil when the database has no record.
func (g *geoDB) city(a netip.Addr) (*Geo, error) {
	res := g.r.Lookup(a)
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("reading GeoIP database %s: %w", g.path, err)
	}
	if !res.Found() {
		return nil, nil
	}
	var r cityRecord
	if err := res.Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding GeoIP record from %s: %w", g.path, err)
	}
	out := &Geo{Network: res.Prefix().String(), CountryISO: r.Country.ISOCode, Country: name(r.Country.Names), InEU: r.Country.InEU,
		Continent: r.Continent.Code, City: name(r.City.Names), Postal: r.Postal.Code,
		Latitude: r.Location.Latitude, Longitude: r.Location.Longitude, AccuracyRadiusKM: int(r.Location.AccuracyRadius), TimeZone: r.Location.TimeZone}
	if r.RegisteredCountry.ISOCode != r.Country.ISOCode {
		out.RegisteredCountry = r.RegisteredCountry.ISOCode
	}
	for _, s := range r.Subdivisions {
		if n := name(s.Names); n != "" {
			out.Subdivisions = append(out.Subdivisions, n)
		} else if s.ISOCode != "" {
			out.Subdivisions = append(out.Subdivisions, s.ISOCode)
		}
	}
	return out, nil
}

// asn looks a up; nil when the database has no record.
func (g *geoDB) asn(a netip.Addr) (*ASN, error) {
	res := g.r.Lookup(a)
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("reading ASN database %s: %w", g.path, err)
	}
	if !res.Found() {
		return nil, nil
	}
	var r asnRecord
	if err := res.Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding ASN record from %s: %w", g.path, err)
	}
	return &ASN{Network: res.Prefix().String(), Number: r.Number, Organization: r.Organization}, nil
}
