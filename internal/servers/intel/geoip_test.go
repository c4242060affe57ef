package intel

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Synthetic GeoIP data in the GeoLite2-City and GeoLite2-ASN record
// layouts (MaxMind's licence forbids shipping their databases; the layouts
// are what matters to the reader).
var (
	cityRows = []struct {
		cidr, iso, country, continent, city, subdivISO, subdiv, postal, tz, registered string
		lat, lon                                                                       float64
		radius                                                                         uint16
	}{
		{"81.2.69.0/24", "GB", "United Kingdom", "EU", "London", "ENG", "England", "EC2V", "Europe/London", "GB", 51.5142, -0.0931, 10},
		{"89.160.20.112/28", "SE", "Sweden", "EU", "Linköping", "E", "Östergötland County", "", "Europe/Stockholm", "DE", 58.4167, 15.6167, 76},
		{"2a01:4f8::/32", "DE", "Germany", "EU", "", "", "", "", "Europe/Berlin", "DE", 51.2993, 9.491, 200},
	}
	asnRows = []struct {
		cidr string
		asn  uint32
		org  string
	}{
		{"81.2.69.0/24", 20712, "Andrews & Arnold Ltd"},
		{"89.160.20.112/28", 29518, "Bredband2 AB"},
		{"2a01:4f8::/32", 24940, "Hetzner Online GmbH"},
	}
)

func names(s string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(s), "de": mmdbtype.String(s + " (de)")}
}

func writeMMDB(t testing.TB, path, dbType string, insert func(w *mmdbwriter.Tree)) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, Languages: []string{"en", "de"}})
	if err != nil {
		t.Fatal(err)
	}
	insert(w)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

func mustNet(t testing.TB, s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// writeGeoDBs writes a city and an ASN database into dir.
func writeGeoDBs(t testing.TB, dir string) (city, asn string) {
	t.Helper()
	city, asn = filepath.Join(dir, "GeoLite2-City.mmdb"), filepath.Join(dir, "GeoLite2-ASN.mmdb")
	writeMMDB(t, city, "GeoLite2-City", func(w *mmdbwriter.Tree) {
		for _, r := range cityRows {
			rec := mmdbtype.Map{
				"continent":          mmdbtype.Map{"code": mmdbtype.String(r.continent), "geoname_id": mmdbtype.Uint32(6255148), "names": names("Europe")},
				"country":            mmdbtype.Map{"iso_code": mmdbtype.String(r.iso), "geoname_id": mmdbtype.Uint32(1), "names": names(r.country), "is_in_european_union": mmdbtype.Bool(r.iso != "GB")},
				"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(r.registered), "geoname_id": mmdbtype.Uint32(2)},
				"location": mmdbtype.Map{"latitude": mmdbtype.Float64(r.lat), "longitude": mmdbtype.Float64(r.lon),
					"accuracy_radius": mmdbtype.Uint16(r.radius), "time_zone": mmdbtype.String(r.tz)},
			}
			if r.city != "" {
				rec["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(3), "names": names(r.city)}
				rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(r.subdivISO), "names": names(r.subdiv)}}
			}
			if r.postal != "" {
				rec["postal"] = mmdbtype.Map{"code": mmdbtype.String(r.postal)}
			}
			if err := w.Insert(mustNet(t, r.cidr), rec); err != nil {
				t.Fatal(err)
			}
		}
	})
	writeMMDB(t, asn, "GeoLite2-ASN", func(w *mmdbwriter.Tree) {
		for _, r := range asnRows {
			rec := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(r.asn), "autonomous_system_organization": mmdbtype.String(r.org)}
			if err := w.Insert(mustNet(t, r.cidr), rec); err != nil {
				t.Fatal(err)
			}
		}
	})
	return city, asn
}

func TestGeoDBs(t *testing.T) {
	city, asn := writeGeoDBs(t, t.TempDir())
	c, err := openGeoDB(city, "City")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	a, err := openGeoDB(asn, "ASN")
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()

	g, err := c.city(netip.MustParseAddr("81.2.69.142"))
	if err != nil || g == nil {
		t.Fatalf("city: %v %v", g, err)
	}
	if g.CountryISO != "GB" || g.Country != "United Kingdom" || g.City != "London" || g.Network != "81.2.69.0/24" ||
		*g.Latitude != 51.5142 || *g.Longitude != -0.0931 || g.AccuracyRadiusKM != 10 || g.Postal != "EC2V" ||
		len(g.Subdivisions) != 1 || g.Subdivisions[0] != "England" || g.InEU || g.RegisteredCountry != "" || g.Continent != "EU" {
		t.Errorf("London: %+v", g)
	}
	g, _ = c.city(netip.MustParseAddr("89.160.20.115"))
	if g == nil || g.City != "Linköping" || g.RegisteredCountry != "DE" || !g.InEU {
		t.Errorf("Linköping: %+v", g)
	}
	g, _ = c.city(netip.MustParseAddr("2a01:4f8:c17:1::1"))
	if g == nil || g.CountryISO != "DE" || g.City != "" || g.Network != "2a01:4f8::/32" {
		t.Errorf("IPv6: %+v", g)
	}
	if g, err := c.city(netip.MustParseAddr("8.8.8.8")); g != nil || err != nil {
		t.Errorf("absent: %+v %v", g, err)
	}
	n, err := a.asn(netip.MustParseAddr("2a01:4f8:c17:1::1"))
	if err != nil || n == nil || n.Number != 24940 || n.Organization != "Hetzner Online GmbH" {
		t.Errorf("asn: %+v %v", n, err)
	}
	if i := c.info(); i.Type != "GeoLite2-City" || i.BuildTime.IsZero() {
		t.Errorf("info: %+v", i)
	}

	// Swapped files and junk are configuration errors.
	if _, err := openGeoDB(asn, "City"); err == nil || !strings.Contains(err.Error(), "give it as the ASN database") {
		t.Errorf("ASN as city: %v", err)
	}
	if _, err := openGeoDB(city, "ASN"); err == nil || !strings.Contains(err.Error(), "not an ASN database") {
		t.Errorf("city as ASN: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.mmdb")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	if _, err := openGeoDB(junk, "City"); err == nil || !strings.Contains(err.Error(), "opening GeoIP database") {
		t.Errorf("junk: %v", err)
	}
}
