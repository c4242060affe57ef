package jsonlog

import (
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// ECSName is the format of documents already in Elastic Common Schema, such
// as the events MCPSoc's gateway and scanner send to the SOC: every path
// keeps its own name. It is chosen by name only; auto detection leaves
// foreign JSON to "json", which namespaces it.
const ECSName = "ecs"

func init() {
	parse.Register(ECSName, func(cfg *parse.Config) (parse.Parser, error) {
		m := cfg.JSON
		m.Namespace = "ecs"
		return ecsParser{p: &Parser{m: m}}, nil
	})
}

// ecsParser wraps the JSON parser without its Detect method.
type ecsParser struct{ p *Parser }

var _ parse.Parser = ecsParser{}

func (ecsParser) Name() string { return ECSName }

func (e ecsParser) Parse(ev *event.Event, rec *parse.Record) error { return e.p.Parse(ev, rec) }
