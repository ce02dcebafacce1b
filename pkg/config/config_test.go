package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHelpers: each helper's default, valid values and refusals, with the
// problem naming the variable and the value.
func TestHelpers(t *testing.T) {
	env := FromMap(map[string]string{
		"S": " text ", "EMPTY": "  ", "B1": "TRUE", "B0": "0", "BX": "yes",
		"I": "7", "IX": "7.5", "ILOW": "0", "L0": "0", "LX": "-1",
		"D": "90s", "DZ": "0", "DZOK": "0s", "DX": "90", "DTINY": "10us", "DBIG": "2h",
		"DAYS": "3", "DAYSX": "0",
	})
	if got := env.String("S", "d"); got != "text" {
		t.Errorf("String = %q, want the trimmed value", got)
	}
	if got := env.String("EMPTY", "d"); got != "d" {
		t.Errorf("String of a blank value = %q, want the default", got)
	}
	if got := env.String("UNSET", "d"); got != "d" {
		t.Errorf("String of an unset value = %q", got)
	}
	if !env.Bool("B1", false) || env.Bool("B0", true) || !env.Bool("UNSET", true) || env.Bool("BX", false) {
		t.Error("Bool read wrongly")
	}
	if got := env.Int("I", 1, 1, 10); got != 7 {
		t.Errorf("Int = %d", got)
	}
	if got := env.Int("IX", 1, 1, 10); got != 1 {
		t.Errorf("Int of a fraction = %d, want the default", got)
	}
	env.Int("ILOW", 1, 1, 10)
	if got := env.Limit("L0", 5, 100); got != 0 {
		t.Errorf("Limit 0 = %d, want 0 (off)", got)
	}
	env.Limit("LX", 5, 100)
	if got := env.Duration("D", time.Second, time.Millisecond, time.Hour); got != 90*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if got := env.Duration("DZOK", time.Second, 0, 0); got != 0 {
		t.Errorf("Duration 0 where 0 is allowed = %v", got)
	}
	env.Duration("DZ", time.Second, time.Millisecond, 0)
	env.Duration("DX", time.Second, time.Millisecond, 0)
	env.Duration("DTINY", time.Second, time.Millisecond, 0)
	env.Duration("DBIG", time.Second, time.Millisecond, time.Hour)
	if got := env.Days("DAYS", time.Hour, 1, 30); got != 72*time.Hour {
		t.Errorf("Days = %v", got)
	}
	if got := env.Days("UNSET", time.Hour, 1, 30); got != time.Hour {
		t.Errorf("Days unset = %v", got)
	}
	env.Days("DAYSX", time.Hour, 1, 30)
	env.Required("MISSING")

	err := env.Err()
	if err == nil {
		t.Fatal("no problems recorded")
	}
	for _, want := range []string{
		`BX must be true or false, not "yes"`,
		`IX must be a whole number from 1 to 10, not "7.5"`,
		`ILOW must be a whole number from 1 to 10, not "0"`,
		`LX must be an integer from 0 (no limit) to 100, not "-1"`,
		`DZ must be a duration such as 10s or 3m, not "0"`,
		`DX must be a duration`, `DTINY must be a duration`,
		`DBIG must be a duration such as 10s or 3m, at most 1h0m0s, not "2h"`,
		`DAYSX must be a whole number of days from 1 to 30, not "0"`,
		`MISSING is not set`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems %q lack %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 10 {
		t.Errorf("%d problems recorded, want 10:\n%v", n, err)
	}
}

// TestSetAndFromOSOver: Set is what was read and set, and FromOSOver reads
// the environment over a recorded base, the environment winning (make
// health adopting a running make run's settings, issue 15 item 20).
func TestSetAndFromOSOver(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_A", "from-env")
	t.Setenv("GATEHOUSE_TEST_EMPTY", " ")
	e := FromOSOver(map[string]string{"GATEHOUSE_TEST_A": "base", "GATEHOUSE_TEST_B": "7", "GATEHOUSE_TEST_EMPTY": "base-empty"})
	got := []string{e.String("GATEHOUSE_TEST_A", ""), e.String("GATEHOUSE_TEST_EMPTY", ""), e.String("GATEHOUSE_TEST_UNSET", "def")}
	if n := e.Int("GATEHOUSE_TEST_B", 1, 1, 10); n != 7 {
		t.Errorf("Int from base = %d, want 7", n)
	}
	if want := []string{"from-env", "base-empty", "def"}; !slices.Equal(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
	want := map[string]string{"GATEHOUSE_TEST_A": "from-env", "GATEHOUSE_TEST_B": "7", "GATEHOUSE_TEST_EMPTY": "base-empty"}
	if set := e.Set(); !maps.Equal(set, want) {
		t.Errorf("Set = %v, want %v", set, want)
	}
}

// TestPorts: a comma-separated list of ports in the order written; a
// malformed list is a problem naming the variable, never a partial list.
func TestPorts(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []uint16
		wantErr bool
	}{
		{name: "unset", want: []uint16{80}},
		{name: "one", value: "443", want: []uint16{443}},
		{name: "several with spaces", value: "80, 443 ,11434,8443", want: []uint16{80, 443, 11434, 8443}},
		{name: "zero", value: "80,0", want: []uint16{80}, wantErr: true},
		{name: "too large", value: "65536", want: []uint16{80}, wantErr: true},
		{name: "not a number", value: "http", want: []uint16{80}, wantErr: true},
		{name: "empty item", value: "80,,443", want: []uint16{80}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := FromMap(map[string]string{"PORTS": tt.value})
			if got := env.Ports("PORTS", []uint16{80}); !slices.Equal(got, tt.want) {
				t.Errorf("Ports = %v, want %v", got, tt.want)
			}
			err := env.Err()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Err = %v, want an error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "PORTS") {
				t.Errorf("problem %q does not name the variable", err)
			}
		})
	}
}

// TestPrefixes: comma-separated networks, spaces allowed; a typo, a bare
// address or host bits are problems, never a silently different network.
func TestPrefixes(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        string
		wantErr     bool
	}{
		{name: "unset", value: "", want: "[]"},
		{name: "Telegram's", value: "149.154.160.0/20,91.108.4.0/22", want: "[149.154.160.0/20 91.108.4.0/22]"},
		{name: "spaces and IPv6", value: " 149.154.160.0/20 , 2001:67c:4e8::/48", want: "[149.154.160.0/20 2001:67c:4e8::/48]"},
		{name: "host bits", value: "149.154.167.1/20", want: "[]", wantErr: true},
		{name: "bare address", value: "149.154.167.1", want: "[]", wantErr: true},
		{name: "empty member", value: "149.154.160.0/20,", want: "[]", wantErr: true},
		{name: "typo", value: "149.154.160.0/33", want: "[]", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := FromMap(map[string]string{"RANGES": tt.value})
			got := env.Prefixes("RANGES")
			if fmt.Sprint(got) != tt.want || (env.Err() != nil) != tt.wantErr {
				t.Errorf("Prefixes(%q) = %v, error %v; want %s, error %v", tt.value, got, env.Err(), tt.want, tt.wantErr)
			}
		})
	}
}
