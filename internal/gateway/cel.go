package gateway

import (
	"context"
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
)

// celCostLimit bounds the work of one condition evaluation, so a policy
// cannot turn a tool call into a CPU sink.
const celCostLimit = 100_000

// celEnv declares what a policy condition may read: the call's decoded
// arguments and the caller.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("args", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("subject", cel.StringType),
		cel.Variable("roles", cel.ListType(cel.StringType)),
		cel.Variable("scopes", cel.ListType(cel.StringType)),
		cel.Variable("upstream", cel.StringType),
		cel.Variable("tool", cel.StringType),
	)
})

// compileCondition type-checks a rule's "when" expression, which must be
// boolean.
func compileCondition(expr string) (cel.Program, error) {
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("condition must be boolean, is %s", ast.OutputType())
	}
	return env.Program(ast, cel.CostLimit(celCostLimit), cel.InterruptCheckFrequency(100))
}

// evalCondition runs a compiled condition. An evaluation error (a missing
// argument, a wrong type, the cost limit) is returned, and callers treat
// it as "condition does not hold" for allow rules.
func evalCondition(ctx context.Context, prg cel.Program, p *Principal, upstream, tool string, args map[string]any) (bool, error) {
	roles, scopes := p.Roles, p.Scopes
	if roles == nil {
		roles = []string{}
	}
	if scopes == nil {
		scopes = []string{}
	}
	out, _, err := prg.ContextEval(ctx, map[string]any{
		"args": args, "subject": p.Subject, "roles": roles, "scopes": scopes, "upstream": upstream, "tool": tool,
	})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %T", out.Value())
	}
	return b, nil
}
