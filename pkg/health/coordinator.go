package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Fanout starts one worker per task. In AWS it invokes the worker function
// asynchronously (healthlambda.LambdaFanout) and returns once the invokes are
// queued; locally InProcess runs the tasks and returns when they are done.
type Fanout interface {
	Dispatch(ctx context.Context, tasks []Task) error
}

// Tasks returns the tasks of a sweep split into segments parts.
func Tasks(sweep string, segments int) []Task {
	segments = min(max(segments, 1), MaxSegments)
	out := make([]Task, segments)
	for i := range out {
		out[i] = Task{Sweep: sweep, Segment: i, Segments: segments}
	}
	return out
}

// Coordinator starts sweeps: it names the sweep after its scheduled time
// and hands one task per segment to its Fanout. It reads nothing itself,
// so in AWS it needs no permission but to invoke the worker.
type Coordinator struct {
	fan      Fanout
	segments int
}

// NewCoordinator returns a Coordinator that splits sweeps into segments
// parts (0 means DefaultSegments). It does no I/O.
func NewCoordinator(fan Fanout, segments int) *Coordinator {
	if segments <= 0 {
		segments = DefaultSegments
	}
	return &Coordinator{fan: fan, segments: min(segments, MaxSegments)}
}

// Sweep starts the sweep scheduled at at and returns what it dispatched.
// Errors: the Fanout's (some tasks may have started; their segments are
// claimed by whichever workers run).
func (c *Coordinator) Sweep(ctx context.Context, at time.Time) (Report, error) {
	id := SweepID(at)
	tasks := Tasks(id, c.segments)
	err := c.fan.Dispatch(ctx, tasks)
	return Report{Sweep: id, Dispatched: len(tasks)}, err
}

// InProcess is the Fanout of the local runner and of `make health`: it
// runs every task on one Worker in goroutines of this process, which
// share one data-key cache, and waits for them.
type InProcess struct {
	Worker *Worker
	// Deadline bounds each run; zero means Worker's Config.Budget from
	// the start.
	Deadline time.Time
}

// Dispatch runs tasks and waits for them. Errors: the runs', joined.
func (f InProcess) Dispatch(ctx context.Context, tasks []Task) error {
	_, err := f.Run(ctx, tasks)
	return err
}

// Run runs tasks concurrently and returns their reports added up.
func (f InProcess) Run(ctx context.Context, tasks []Task) (Report, error) {
	var (
		mu   sync.Mutex
		rep  Report
		errs []error
		wg   sync.WaitGroup
	)
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.Worker.Run(ctx, t, f.Deadline)
			mu.Lock()
			defer mu.Unlock()
			rep.Add(r)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	rep.Dispatched = len(tasks)
	if len(tasks) > 0 {
		rep.Sweep = tasks[0].Sweep
	}
	return rep, errors.Join(errs...)
}

// Handler is the health-check function's entry point. It accepts two
// events: an EventBridge scheduled event, which starts a sweep through the
// Coordinator, and a Task (from the coordinator's asynchronous invoke),
// which runs on the Worker until the invocation's deadline.
type Handler struct {
	coord  *Coordinator
	worker *Worker
	log    *slog.Logger
}

// NewHandler returns a Handler. Either part may be nil when a function
// only plays the other role; such an event is then an error.
func NewHandler(coord *Coordinator, worker *Worker, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{coord: coord, worker: worker, log: log}
}

// scheduled is the part of an EventBridge scheduled event the handler reads.
type scheduled struct {
	Time       time.Time `json:"time"`
	DetailType string    `json:"detail-type"`
}

// Handle serves one invocation (the signature lambda.Start accepts).
// Errors: an event that is neither a Task nor a scheduled event, and those
// of Coordinator.Sweep and Worker.Run.
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) (Report, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(event, &probe); err != nil {
		return Report{}, fmt.Errorf("health: event is not a JSON object: %w", err)
	}
	if _, isTask := probe["segments"]; isTask {
		var t Task
		if err := json.Unmarshal(event, &t); err != nil {
			return Report{}, fmt.Errorf("health: bad task: %w", err)
		}
		if h.worker == nil {
			return Report{}, errors.New("health: this function does not run tasks")
		}
		deadline, _ := ctx.Deadline()
		return h.worker.Run(ctx, t, deadline)
	}
	var s scheduled
	if err := json.Unmarshal(event, &s); err != nil {
		return Report{}, fmt.Errorf("health: bad scheduled event: %w", err)
	}
	if h.coord == nil {
		return Report{}, errors.New("health: this function does not start sweeps")
	}
	if s.Time.IsZero() {
		s.Time = time.Now() // invoked by hand: a sweep now
	}
	rep, err := h.coord.Sweep(ctx, s.Time)
	h.log.Info("health: sweep started", "sweep", rep.Sweep, "dispatched", rep.Dispatched, "error", err)
	return rep, err
}
