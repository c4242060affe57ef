// Package builtin links every built-in log format into the binary: import
// it for its side effects wherever parse.New must know all formats.
package builtin

import (
	_ "github.com/mcpsoc/mcpsoc/internal/parse/cef"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/clamav"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/filterlog"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/fortigate"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/jsonlog"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/modsec"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/netfilter"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/panos"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/suricata"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/winlog"
)
