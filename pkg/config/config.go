// Package config reads Gatehouse's settings from its environment: one
// loader, with a typed helper per kind of value, used by every function and
// by the local runner; no other code reads the environment.
//
// A helper never fails on its own: it records each problem (a malformed
// number, a value out of range, a missing required setting) and returns
// the default, and Err returns every problem at once, so an operator who
// mistyped three variables hears of all three in one failed start. A bad
// value is an error, never a silent default: a limit or a timeout the
// operator believes is set but is not is the failure these settings exist
// to prevent. An empty value is the same as an unset one.
//
// README.md's "Configuration" table lists every variable read through this
// package; TestREADMEListsEveryVariable checks the table against the code.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads settings through a lookup function. It is not safe for
// concurrent use; a process reads its settings once, in main.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
	set    map[string]string // what value found set, by name
}

// New returns an Env reading through lookup, which has os.LookupEnv's
// contract.
func New(lookup func(string) (string, bool)) *Env { return &Env{lookup: lookup} }

// FromOS returns an Env reading the process environment.
func FromOS() *Env { return New(os.LookupEnv) }

// FromOSOver returns an Env reading the process environment over base: a
// variable unset or empty in the environment takes its value from base.
// The local runner's `health` and `rotate-credentials` read the settings
// a running `make run` recorded (Set) this way, so that what their own
// command line sets still wins.
func FromOSOver(base map[string]string) *Env {
	return New(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok && strings.TrimSpace(v) != "" {
			return v, true
		}
		v, ok := base[k]
		return v, ok
	})
}

// Set returns the variables the helpers have read that were set and not
// empty, with their values, in a new map.
func (e *Env) Set() map[string]string {
	out := make(map[string]string, len(e.set))
	for k, v := range e.set {
		out[k] = v
	}
	return out
}

// FromMap returns an Env reading m, for tests.
func FromMap(m map[string]string) *Env {
	return New(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

// Err returns every problem the helpers recorded, joined; nil when none.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// value returns the trimmed value of name and whether it is set and not
// empty.
func (e *Env) value(name string) (string, bool) {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	if ok && v != "" {
		if e.set == nil {
			e.set = map[string]string{}
		}
		e.set[name] = v
	}
	return v, ok && v != ""
}

// String returns the value of name, or def when it is unset or empty.
func (e *Env) String(name, def string) string {
	if v, ok := e.value(name); ok {
		return v
	}
	return def
}

// Required returns the value of name, recording a problem when it is unset
// or empty.
func (e *Env) Required(name string) string {
	v, ok := e.value(name)
	if !ok {
		e.errs = append(e.errs, fmt.Errorf("%s is not set", name))
	}
	return v
}

// Bool returns the value of name: true or false (also 1 or 0, any case);
// def when unset.
func (e *Env) Bool(name string, def bool) bool {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	e.errs = append(e.errs, fmt.Errorf("%s must be true or false, not %q", name, v))
	return def
}

// Int returns the value of name, a whole number from lo to hi; def when
// unset.
func (e *Env) Int(name string, def, lo, hi int) int {
	return e.integer(name, def, lo, hi, fmt.Sprintf("a whole number from %d to %d", lo, hi))
}

// Limit returns the value of name, a whole number from 0, which switches
// the limit off, to hi; def when unset.
func (e *Env) Limit(name string, def, hi int) int {
	return e.integer(name, def, 0, hi, fmt.Sprintf("an integer from 0 (no limit) to %d", hi))
}

func (e *Env) integer(name string, def, lo, hi int, want string) int {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.errs = append(e.errs, fmt.Errorf("%s must be %s, not %q", name, want, v))
		return def
	}
	return n
}

// Ports returns the value of name, a comma-separated list of TCP ports
// (1 to 65535), in the order written; def when unset.
func (e *Env) Ports(name string, def []uint16) []uint16 {
	ports, ok := list(e, name, func(f string) (uint16, bool) {
		n, err := strconv.ParseUint(f, 10, 16)
		return uint16(n), err == nil && n != 0
	}, "a comma-separated list of ports from 1 to 65535")
	if !ok {
		return def
	}
	return ports
}

// Days returns the value of name, a whole number of days from lo to hi,
// as a duration; def when unset.
func (e *Env) Days(name string, def time.Duration, lo, hi int) time.Duration {
	n := e.integer(name, -1, lo, hi, fmt.Sprintf("a whole number of days from %d to %d", lo, hi))
	if n < 0 {
		return def
	}
	return time.Duration(n) * 24 * time.Hour
}

// Prefixes returns the value of name, comma-separated IP networks in CIDR
// notation (149.154.160.0/20, 2001:db8::/32), each as its network address;
// nil when unset. Host bits set (149.154.167.1/20) are a problem, not
// silently cleared: the operator meant some other network.
func (e *Env) Prefixes(name string) []netip.Prefix {
	prefixes, _ := list(e, name, func(f string) (netip.Prefix, bool) {
		p, err := netip.ParsePrefix(f)
		return p, err == nil && p == p.Masked()
	}, "comma-separated networks such as 149.154.160.0/20")
	return prefixes
}

// list reads name as comma-separated items, each trimmed and parsed by
// parse, in the order written. ok is false when name is unset or when an
// item does not parse, which is then a problem saying the value must be
// want; the list is then nil, never partial.
func list[T any](e *Env, name string, parse func(string) (T, bool), want string) (items []T, ok bool) {
	v, set := e.value(name)
	if !set {
		return nil, false
	}
	for _, f := range strings.Split(v, ",") {
		item, ok := parse(strings.TrimSpace(f))
		if !ok {
			e.errs = append(e.errs, fmt.Errorf("%s must be %s, not %q", name, want, v))
			return nil, false
		}
		items = append(items, item)
	}
	return items, true
}

// Duration returns the value of name, a Go duration such as 10s or 3m
// from lo to hi (no upper bound when hi is 0); def when unset. A lo of 0
// allows 0; any other value under a millisecond is refused as a typo.
func (e *Env) Duration(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := e.value(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	valid := err == nil && (hi == 0 || d <= hi)
	if d == 0 {
		valid = valid && lo == 0
	} else {
		valid = valid && d >= max(lo, time.Millisecond)
	}
	if !valid {
		bound := ""
		if hi > 0 {
			bound = fmt.Sprintf(", at most %v", hi)
		}
		e.errs = append(e.errs, fmt.Errorf("%s must be a duration such as 10s or 3m%s, not %q", name, bound, v))
		return def
	}
	return d
}
