package event

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// coreField writes one typed field straight into an encoding: getCore
// returns the value as an interface (boxing it, and formatting times and
// addresses into new strings first), which was a good part of encoding's
// allocations. Each entry must write exactly what appendJSONValue writes
// for getCore's value; TestCoreFieldsMatchGetCore checks it.
type coreField struct {
	has func(e *Event) bool
	put func(dst []byte, e *Event) []byte
}

func strField(get func(e *Event) string) coreField {
	return coreField{
		has: func(e *Event) bool { return get(e) != "" },
		put: func(dst []byte, e *Event) []byte { return appendJSONString(dst, get(e)) },
	}
}

func timeField(get func(e *Event) time.Time) coreField {
	return coreField{
		has: func(e *Event) bool { return !get(e).IsZero() },
		put: func(dst []byte, e *Event) []byte {
			dst = append(dst, '"')
			dst = get(e).UTC().AppendFormat(dst, time.RFC3339Nano)
			return append(dst, '"')
		},
	}
}

func listField(get func(e *Event) []string) coreField {
	return coreField{
		has: func(e *Event) bool { return len(get(e)) > 0 },
		put: func(dst []byte, e *Event) []byte {
			dst = append(dst, '[')
			for i, s := range get(e) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, s)
			}
			return append(dst, ']')
		},
	}
}

func addrField(get func(e *Event) netip.Addr) coreField {
	return coreField{
		has: func(e *Event) bool { return get(e).IsValid() },
		put: func(dst []byte, e *Event) []byte {
			a := get(e)
			if a.Zone() != "" { // a zone is free text: quote it properly
				return appendJSONString(dst, a.String())
			}
			dst = append(dst, '"')
			dst = a.AppendTo(dst)
			return append(dst, '"')
		},
	}
}

func intField(get func(e *Event) int64) coreField {
	return coreField{
		has: func(e *Event) bool { return get(e) != 0 },
		put: func(dst []byte, e *Event) []byte { return strconv.AppendInt(dst, get(e), 10) },
	}
}

var coreFieldsByName = map[string]coreField{
	"@timestamp":          timeField(func(e *Event) time.Time { return e.Timestamp }),
	"event.ingested":      timeField(func(e *Event) time.Time { return e.Provenance.IngestTime }),
	"event.kind":          strField(func(e *Event) string { return e.Kind }),
	"event.category":      listField(func(e *Event) []string { return e.Category }),
	"event.type":          listField(func(e *Event) []string { return e.Type }),
	"event.action":        strField(func(e *Event) string { return e.Action }),
	"event.outcome":       strField(func(e *Event) string { return e.Outcome }),
	"event.dataset":       strField(func(e *Event) string { return e.Dataset }),
	"event.module":        strField(func(e *Event) string { return e.Module }),
	"event.severity":      intField(func(e *Event) int64 { return e.Severity }),
	"event.original":      strField(func(e *Event) string { return e.Original }),
	"message":             strField(func(e *Event) string { return e.Message }),
	"source.ip":           addrField(func(e *Event) netip.Addr { return e.Source.IP }),
	"source.port":         intField(func(e *Event) int64 { return int64(e.Source.Port) }),
	"destination.ip":      addrField(func(e *Event) netip.Addr { return e.Destination.IP }),
	"destination.port":    intField(func(e *Event) int64 { return int64(e.Destination.Port) }),
	"network.transport":   strField(func(e *Event) string { return e.Network.Transport }),
	"network.protocol":    strField(func(e *Event) string { return e.Network.Protocol }),
	"network.direction":   strField(func(e *Event) string { return e.Network.Direction }),
	"network.type":        strField(func(e *Event) string { return e.Network.Type }),
	"network.iana_number": strField(func(e *Event) string { return e.Network.IANANumber }),
	"observer.vendor":     strField(func(e *Event) string { return e.Observer.Vendor }),
	"observer.product":    strField(func(e *Event) string { return e.Observer.Product }),
	"observer.name":       strField(func(e *Event) string { return e.Observer.Name }),
	"observer.type":       strField(func(e *Event) string { return e.Observer.Type }),
	"observer.hostname":   strField(func(e *Event) string { return e.Observer.Hostname }),
	"rule.id":             strField(func(e *Event) string { return e.Rule.ID }),
	"rule.name":           strField(func(e *Event) string { return e.Rule.Name }),
	"rule.category":       strField(func(e *Event) string { return e.Rule.Category }),
	"mcpsoc.source":       strField(func(e *Event) string { return e.Provenance.SourceID }),
	"mcpsoc.parser":       strField(func(e *Event) string { return e.Provenance.Parser }),
}

// sortedCoreFields is coreFieldsByName in sortedCore's order.
var sortedCoreFields = func() []coreField {
	out := make([]coreField, len(sortedCore))
	for i, name := range sortedCore {
		f, ok := coreFieldsByName[name]
		if !ok {
			panic(fmt.Sprintf("event: typed field %s has no encoder", name))
		}
		out[i] = f
	}
	return out
}()
