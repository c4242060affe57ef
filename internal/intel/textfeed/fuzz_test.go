package textfeed

import (
	"bytes"

	"github.com/mcpsoc/mcpsoc/internal/intel"
	"os"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

func FuzzReadCSV(f *testing.F) {
	for _, p := range []string{"testdata/urlhaus.csv", "testdata/ipblocklist.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, true)
		}
	}
	f.Add([]byte("type,value\n,evil.example\n\"url\",\"http://x/a,b\"\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, mapped bool) {
		o := &Options{}
		if mapped {
			o.Mapping = &Mapping{Value: "3", Labels: "7", Confidence: "2"}
		}
		for _, read := range []func() ([]any, error){
			func() ([]any, error) { b, err := ReadCSV(bytes.NewReader(data), o); return entries(b.Entries), err },
			func() ([]any, error) { b, err := ReadText(bytes.NewReader(data), nil); return entries(b.Entries), err },
		} {
			es, err := read()
			if err != nil {
				continue
			}
			s := ioc.NewSet()
			for _, e := range es {
				in := e.(ioc.Indicator)
				// Everything a reader returns is normalized and accepted.
				if err := s.Add(in); err != nil {
					t.Fatalf("reader returned an indicator Add rejects: %v", err)
				}
			}
		}
	})
}

func entries(es []intel.Entry) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = ioc.Indicator{Type: e.Type, Value: e.Value, Confidence: e.Confidence, Expires: e.ValidUntil}
	}
	return out
}
