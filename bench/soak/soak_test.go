package main

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p90 of 100", ms(hundred...), 90, 90 * time.Millisecond},
		{"max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p1 of 100", ms(hundred...), 1, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    mix
		wantErr bool
	}{
		{"list=35,get=25,update=15,webhook=25", mix{35, 25, 15, 25}, false},
		{"webhook=1", mix{0, 0, 0, 1}, false},
		{" get=2 , list=1", mix{1, 2, 0, 0}, false},
		{"list=0", mix{}, true},
		{"reread=5", mix{}, true}, // follows 412s, not drawn
		{"list=-1,get=2", mix{}, true},
		{"list", mix{}, true},
		{"", mix{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMix(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseMix(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseMix(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestMixPick checks that a kind of weight 0 is never drawn and every
// other one is.
func TestMixPick(t *testing.T) {
	m := mix{1, 0, 2, 1}
	r := rand.New(rand.NewPCG(1, 2))
	var got [numKinds]int
	for range 1000 {
		got[m.pick(r)]++
	}
	if got[kindGet] != 0 {
		t.Errorf("get drawn %d times with weight 0", got[kindGet])
	}
	for _, k := range []kind{kindList, kindUpdate, kindWebhook} {
		if got[k] == 0 {
			t.Errorf("%s never drawn", k)
		}
	}
}

func TestParseETag(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`"3"`, 3, true},
		{`W/"12"`, 12, true},
		{`3`, 0, false},
		{`""`, 0, false},
		{`"x"`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseETag(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseETag(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestUpdateBody checks that an update is the JSON the webhook accepts and
// that a re-delivery sends the same bytes.
func TestUpdateBody(t *testing.T) {
	g := &gw{botToken: "700000102:AAHxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
	b := updateBody(g, 42)
	var u struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			Chat struct{ ID int64 } `json:"chat"`
		} `json:"message"`
	}
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatalf("updateBody is not JSON: %v\n%s", err, b)
	}
	if u.UpdateID != 42 || u.Message.Chat.ID != 700000102 {
		t.Errorf("update_id %d chat %d, want 42 and 700000102", u.UpdateID, u.Message.Chat.ID)
	}
	if string(updateBody(g, 42)) != string(b) {
		t.Error("two bodies of the same update differ")
	}
}

func TestRole(t *testing.T) {
	var counts [3]int
	for j := range perUserLimit {
		counts[role(j)]++
	}
	if counts[roleTelegram] == 0 || counts[roleAI] != 1 || counts[roleIdle] != 1 {
		t.Errorf("roles of %d gateways: %v", perUserLimit, counts)
	}
}
