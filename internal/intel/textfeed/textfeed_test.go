package textfeed

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

func TestReadTextBlocklist(t *testing.T) {
	f, err := os.Open("testdata/ipblocklist.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := ReadText(f, &Options{Type: ioc.IP})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Entries {
		got = append(got, e.Value)
	}
	if d := cmp.Diff([]string{"198.51.100.23", "203.0.113.45", "192.0.2.77", "2001:db8:bad::1"}, got); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Ref != "line 12" || !strings.Contains(b.Skipped[0].Reason, "bad IP") {
		t.Errorf("skipped: %+v", b.Skipped)
	}
}

func TestReadCSVMapping(t *testing.T) {
	f, err := os.Open("testdata/urlhaus.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := ReadCSV(f, &Options{Type: ioc.URL, Mapping: &Mapping{Value: "3", Labels: "7", Ref: "1", Description: "6"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []intel.Entry{
		{Type: ioc.URL, Value: "http://198.51.100.23/bins/mozi.m", Labels: []string{"elf", "mozi"}, Ref: "3051337", Description: "malware_download"},
		{Type: ioc.URL, Value: "https://dl.bad-cdn.example/invoice.zip", Labels: []string{"zip", "qakbot"}, Ref: "3051336", Description: "malware_download"},
	}
	if d := cmp.Diff(want, b.Entries); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Ref != "line 9" {
		t.Errorf("skipped: %+v", b.Skipped)
	}
}

func TestReadCSVOwnLayoutAndHeaderNames(t *testing.T) {
	in := "# c\ntype,value,confidence,expires,source\n,evil.example,80,2030-01-02,feodo\nip-dst,10.0.0.1\nsha-256," + strings.Repeat("AB", 32) + ",101\nbogus,x\n"
	b, err := ReadCSV(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) != 2 || len(b.Skipped) != 2 {
		t.Fatalf("entries %+v skipped %+v", b.Entries, b.Skipped)
	}
	if e := b.Entries[0]; e.Type != ioc.Domain || e.Confidence != 80 || e.ValidUntil.Year() != 2030 || e.Ref != "feodo" || b.Entries[1].Type != ioc.IP {
		t.Errorf("entries: %+v", b.Entries)
	}
	if !strings.Contains(b.Skipped[0].Reason, "confidence") || !strings.Contains(b.Skipped[1].Reason, "unknown indicator type") {
		t.Errorf("skipped: %+v", b.Skipped)
	}
	named := "indicator;kind;score\nbad.example;domain;55\n"
	b, err = ReadCSV(strings.NewReader(named), &Options{Comma: ';', Mapping: &Mapping{Value: "indicator", Type: "kind", Confidence: "score"}})
	if err != nil || len(b.Entries) != 1 || b.Entries[0].Confidence != 55 {
		t.Errorf("named columns: %+v %v", b, err)
	}
	if _, err := ReadCSV(strings.NewReader(named), &Options{Comma: ';', Mapping: &Mapping{Value: "nope"}}); err == nil {
		t.Error("missing header column accepted")
	}
	if _, err := ReadCSV(strings.NewReader(named), &Options{Mapping: &Mapping{}}); err == nil {
		t.Error("mapping without value accepted")
	}
}
