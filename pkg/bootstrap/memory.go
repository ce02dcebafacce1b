package bootstrap

import (
	"runtime/debug"

	"github.com/gatehouse/gatehouse/pkg/config"
)

// MemoryLimitPercent is the share of a function's memory given to the Go
// runtime as its soft memory limit (GOMEMLIMIT). The limit covers what the
// runtime allocates — heap, goroutine stacks, its own metadata — but not
// the binary's code, the kernel's socket buffers or the Lambda runtime's
// own bookkeeping; a fifth of the memory is left for those.
const MemoryLimitPercent = 80

// MemoryLimit returns the soft memory limit for a Lambda function whose
// memory is AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB, which Lambda sets from
// the template's MemorySize): MemoryLimitPercent of it, so that the
// garbage collector works harder as the heap nears the function's memory
// instead of letting it grow to twice the live heap (GOGC=100) and the
// function be killed for running out of memory — the health worker's 32
// concurrent checks in 512 MB get a limit of 409 MiB. ok is false when an
// explicit GOMEMLIMIT is set (the runtime read it at start, and the
// operator's value wins) or outside Lambda (no memory size: the local
// runner hosts every function in one process and sets no limit). A
// malformed memory size is recorded in env.
func MemoryLimit(env *config.Env) (limit int64, ok bool) {
	if env.String("GOMEMLIMIT", "") != "" {
		return 0, false
	}
	mb := env.Int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, 128, 10240)
	if mb == 0 {
		return 0, false
	}
	return int64(mb) << 20 * MemoryLimitPercent / 100, true
}

// applyMemoryLimit sets MemoryLimit's limit on the Go runtime, if any.
func applyMemoryLimit(env *config.Env) {
	if limit, ok := MemoryLimit(env); ok {
		debug.SetMemoryLimit(limit)
	}
}
