package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100 + 0.999999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// statusList is "200:1234 412:56", in status order.
func statusList(s *stats) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(s.statuses)) {
		parts = append(parts, fmt.Sprintf("%d:%d", code, s.statuses[code]))
	}
	if s.transport > 0 {
		parts = append(parts, fmt.Sprintf("transport:%d", s.transport))
	}
	return strings.Join(parts, " ")
}

// verdict is everything the soak found.
type verdict struct {
	load        loadResult
	inbox       inboxReport
	renames     renameReport
	shutdown    shutdownReport
	logs        logSummary
	interrupted bool
}

// totals are the figures summed over every kind.
type totals struct {
	requests, transport, bad, fivexx int
}

func (v verdict) totals() totals {
	var t totals
	for k := range v.load.kinds {
		s := &v.load.kinds[k]
		t.requests += len(s.latencies) + s.transport
		t.transport += s.transport
		t.bad += s.bad
		for code, n := range s.statuses {
			if code >= 500 {
				t.fivexx += n
			}
		}
	}
	return t
}

func (v verdict) lost() int { return v.inbox.lost + v.renames.reused }

// problems lists what makes the soak fail; none means it passed.
func (v verdict) problems() []string {
	t := v.totals()
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(t.fivexx, "5xx")
	add(t.transport, "transport errors")
	add(t.bad-t.fivexx, "unexpected 4xx/other statuses")
	add(v.load.checks, "wrong answers")
	add(v.inbox.lost, "lost Telegram updates")
	add(v.inbox.dups, "duplicated updates")
	add(v.inbox.corrupt, "updates stored wrong")
	add(v.inbox.unsent, "updates stored that were never sent")
	add(v.renames.reused, "lost renames (version acknowledged twice)")
	add(v.renames.unaudited, "gateways whose audit trail misses renames")
	add(v.renames.gateways-v.renames.finalRight, "gateways not named by their newest rename")
	if !v.shutdown.clean() {
		out = append(out, "unclean shutdown")
	}
	if v.interrupted {
		out = append(out, "interrupted")
	}
	return out
}

func (v verdict) ok() bool { return len(v.problems()) == 0 }

func (v verdict) print(w io.Writer, c config) {
	secs := v.load.elapsed.Seconds()
	fmt.Fprintf(w, "\nsoak of the local runner: %v, %d workers, %s, re-deliveries %.0f%% of webhooks (seed %d)\n\n",
		v.load.elapsed.Round(time.Millisecond), c.workers, c.mix, c.redeliver*100, c.seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\t\tstatuses")
	t := v.totals()
	var all []time.Duration
	row := func(name string, n int, sorted []time.Duration, statuses string) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t\t%s\n", name, n, float64(n)/secs,
			ms(percentile(sorted, 50)), ms(percentile(sorted, 90)), ms(percentile(sorted, 99)), ms(percentile(sorted, 100)), statuses)
	}
	for k := range v.load.kinds {
		s := &v.load.kinds[k]
		if len(s.latencies)+s.transport == 0 {
			continue
		}
		all = append(all, s.latencies...)
		row(kind(k).String(), len(s.latencies)+s.transport, s.latencies, statusList(s))
	}
	slices.Sort(all)
	row("all", t.requests, all, fmt.Sprintf("5xx:%d", t.fivexx))
	tw.Flush()
	cpu := "runner and emulators ?"
	if v.load.cpuKnown && t.requests > 0 {
		// CPU per request is the figure that survives a busy host.
		cpu = fmt.Sprintf("runner and emulators %.2f (%.2f ms of CPU per request)", v.load.runnerCPU.Seconds()/secs,
			float64(v.load.runnerCPU)/float64(time.Millisecond)/float64(t.requests))
	}
	fmt.Fprintf(w, "\nhost: %d CPUs, load average %s before the traffic, %s after; CPUs used during it: %s, load generator %.2f\n",
		runtime.NumCPU(), v.load.loadBefore, v.load.loadAfter, cpu, v.load.ownCPU.Seconds()/secs)

	fmt.Fprintf(w, "errors: %d transport, %d unexpected statuses (%d of them 5xx), %d wrong answers\n", t.transport, t.bad, t.fivexx, v.load.checks)
	for k := range v.load.kinds {
		for _, m := range v.load.kinds[k].samples {
			fmt.Fprintf(w, "  %s: %s\n", kind(k), m)
		}
	}
	for _, m := range v.load.checkSamples {
		fmt.Fprintf(w, "  check: %s\n", m)
	}
	fmt.Fprintf(w, "lost races: %d PUTs answered 412 and re-read\n", v.load.kinds[kindUpdate].statuses[412])
	in := v.inbox
	fmt.Fprintf(w, "telegram updates (%d gateways, %d never connected): sent %d (+%d re-deliveries), acknowledged %d, stored %d, duplicates %d, lost %d, stored wrong %d, stored unsent %d, unacknowledged but stored %d\n",
		in.gateways, in.idle, in.sent, in.resent, in.acked, in.stored, in.dups, in.lost, in.corrupt, in.unsent, in.unacked)
	for _, m := range in.samples {
		fmt.Fprintf(w, "  %s\n", m)
	}
	rn := v.renames
	fmt.Fprintf(w, "renames (%d gateways): acknowledged %d, versions acknowledged twice %d, gateway.updated audit events %d, names right %d/%d\n",
		rn.gateways, rn.acked, rn.reused, rn.audited, rn.finalRight, rn.gateways)
	for _, m := range rn.samples {
		fmt.Fprintf(w, "  %s\n", m)
	}
	var writes []string
	for _, k := range slices.Sorted(maps.Keys(v.logs.gatewayWrites)) {
		writes = append(writes, fmt.Sprintf("%s %d", k, v.logs.gatewayWrites[k]))
	}
	if len(writes) == 0 {
		writes = append(writes, "none")
	}
	fmt.Fprintf(w, "runner: log has %d ERROR and %d WARN lines; webhook bookkeeping writes: %s; stopped %s\n",
		v.logs.errors, v.logs.warnings, strings.Join(writes, ", "), v.shutdown)
	for _, m := range v.logs.samples {
		fmt.Fprintf(w, "  %s\n", snippet([]byte(m)))
	}

	result := "PASS"
	if p := v.problems(); len(p) > 0 {
		result = "FAIL — " + strings.Join(p, ", ") + ";"
	} else {
		result += " —"
	}
	fmt.Fprintf(w, "\nVERDICT: %s %.0f req/s for %v with %d workers, p50 %s ms, p99 %s ms; %d 5xx, %d lost updates\n",
		result, float64(t.requests)/secs, v.load.elapsed.Round(100*time.Millisecond), c.workers, ms(percentile(all, 50)), ms(percentile(all, 99)), t.fivexx, v.lost())
}
