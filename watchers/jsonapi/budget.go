package jsonapi

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits on one evaluation of a condition. A condition is configuration,
// but it runs on every check against a fetched document, and the check
// must end within its timeout whatever the condition says (issue 13:
// reduce(1..100000, #acc + string(#), ”) ran 9.3 s under a 5 s timeout).
const (
	// maxSteps bounds the elements expr's loops (map, filter, reduce,
	// all, any, count, sortBy, …) visit in one run, over all loops. A
	// reduce step also counts one per KiB of its accumulator, which the
	// step typically copies: reduce(1..100000, #acc + string(#), '')
	// stops after about 2,000 steps and 8 MB copied rather than 10,000
	// steps and 250 MB.
	maxSteps = 10_000
	// maxMemory is expr's memory budget (vm.VM.MemoryBudget): the
	// elements of the ranges, arrays and maps one run builds.
	maxMemory = 250_000
	// maxBuilt bounds the bytes of a string, or elements of an array,
	// that replace builds or that reduce carries from step to step, so
	// that a few steps cannot double a value into gigabytes.
	maxBuilt = 1 << 20
	// maxText bounds the text a condition reads: without loops, an
	// expression of at most maxConditionLen characters then builds at
	// most some megabytes.
	maxText = 64 << 10
	// maxNodes bounds a condition's syntax tree (expr's default is 10,000).
	maxNodes = 500
)

// Errors that stop a run; the check reports them with the condition.
var (
	errSteps  = fmt.Errorf("it takes more than %d loop steps", maxSteps)
	errMemory = fmt.Errorf("it builds more than %d elements", maxMemory)
	errBuilt  = fmt.Errorf("it builds a value larger than %d bytes or elements", maxBuilt)
)

// Names the compiled condition uses for its budget; a leading underscore
// keeps them apart from the documented value, previous and text.
const (
	ctxName  = "_ctx"
	stepName = "_step"
)

// runState is one run's budget, reached from the context that _step gets.
type runState struct{ steps int }

type runKey struct{}

// budgetOptions are the compile options that make a condition bounded:
// every loop body first calls _step (see stepPatch), replace checks the
// size of what it would build before building it, and repeat and join,
// which conditions do not need, are off.
func budgetOptions() []expr.Option {
	return []expr.Option{
		expr.MaxNodes(maxNodes),
		expr.DisableBuiltin("repeat"),
		expr.DisableBuiltin("join"),
		expr.Function(stepName, step, new(func(context.Context, any) bool)),
		expr.Function("replace", replace, new(func(string, string, string) string)),
		expr.Patch(stepPatch{}),
	}
}

// step counts one loop step against the run's budget and stops the run
// when the budget is spent, the check's context is done, or a reduce
// accumulator (acc; nil elsewhere) has grown beyond maxBuilt.
func step(params ...any) (any, error) {
	ctx, _ := params[0].(context.Context)
	if ctx == nil {
		return true, nil // not a run of ours (e.g. expr's constant folding)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	n := size(params[1])
	if n > maxBuilt {
		return false, errBuilt
	}
	st, _ := ctx.Value(runKey{}).(*runState)
	if st != nil {
		if st.steps += 1 + n/1024; st.steps > maxSteps {
			return false, errSteps
		}
	}
	return true, nil
}

// size is the length of a string, array or map; 0 for anything else.
func size(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case string:
		return len(v)
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	}
	return 0
}

// replace is expr's replace(s, old, new) that refuses, before building
// it, a result larger than maxBuilt: replace(text, "", text) would be
// quadratic in the text.
func replace(params ...any) (any, error) {
	s, old, repl := params[0].(string), params[1].(string), params[2].(string)
	n := strings.Count(s, old)
	if n > 0 && len(repl) > len(old) && len(s)+n*(len(repl)-len(old)) > maxBuilt {
		return nil, errBuilt
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// stepPatch makes every loop body start with a call to _step: the body B
// of each closure of a builtin (map, filter, reduce, …) becomes
// `_step(_ctx, acc) ? B : nil`, which has B's type and value, since _step
// returns true or stops the run. acc is reduce's #acc, else nil.
type stepPatch struct{}

// Visit implements ast.Visitor.
func (stepPatch) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BuiltinNode)
	if !ok {
		return
	}
	for _, arg := range b.Arguments {
		p, ok := arg.(*ast.PredicateNode)
		if !ok {
			continue
		}
		var acc ast.Node = &ast.NilNode{}
		if b.Name == "reduce" {
			acc = &ast.PointerNode{Name: "acc"}
		}
		call := &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: stepName},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: ctxName}, acc},
		}
		body := p.Node
		p.Node = &ast.ConditionalNode{Ternary: true, Cond: call, Exp1: body, Exp2: &ast.NilNode{}}
		p.Node.SetLocation(body.Location())
		call.SetLocation(body.Location())
	}
}

// run evaluates a compiled condition within the budget and ctx.
func run(ctx context.Context, prog *vm.Program, e env) (any, error) {
	e.Ctx = context.WithValue(ctx, runKey{}, &runState{})
	m := vm.VM{MemoryBudget: maxMemory}
	out, err := m.Run(prog, e)
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("stopped at the check's deadline: %w", ctx.Err())
	}
	for _, stop := range []error{errSteps, errBuilt} {
		if errors.Is(err, stop) {
			return nil, fmt.Errorf("stopped: %w (the limit for one check)", stop)
		}
	}
	var fe *file.Error
	if errors.As(err, &fe) && strings.Contains(fe.Message, "memory budget exceeded") {
		return nil, fmt.Errorf("stopped: %w (the limit for one check)", errMemory)
	}
	return nil, err
}
