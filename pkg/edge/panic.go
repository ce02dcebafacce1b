package edge

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// PanicCause is what the log may say of a recovered panic p: its type and
// the stack, never the value's text, which may quote a secret
// (panic(fmt.Sprintf("bad token %s", t)) is enough). The stack names
// functions, files and lines and shows arguments as machine words, never
// string contents. A runtime error's message is kept: the runtime writes it
// from types and indexes alone. Call it in the deferred function that
// recovered, so the stack is the panic's.
func PanicCause(p any) error {
	what := fmt.Sprintf("a value of type %T (its text is not logged: it may hold a secret)", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	return fmt.Errorf("panic: %s\n%s", what, debug.Stack())
}
