// Package faulttest serves the ways a provider's server fails below HTTP
// error statuses — it hangs, resets the connection, answers bytes that are
// not HTTP, answers 200 with a body that is not the JSON the caller expects,
// trickles the body slower than any timeout allows, or closes without a
// word — so that provider tests can check that each failure is bounded by
// the call's timeout, classified, and leaves no goroutine behind.
//
// A Server is a raw TCP listener on 127.0.0.1, not an http.Server: a real
// HTTP server cannot be told to answer garbage or to reset a connection.
// It reads each request as HTTP (so that the client has finished sending
// when the fault happens) and then misbehaves as its Mode says.
//
// Gateway runs a provider the way the HTTP API does, through
// pkg/lifecycle over an in-memory gateway, so that the same tests see the
// domain error (and so the HTTP status) each failure becomes.
package faulttest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how a Server misbehaves.
type Mode string

// The modes.
const (
	// Hang reads the request and never answers; only the client's
	// timeout ends the call.
	Hang Mode = "hang"
	// Reset reads the request and resets the connection (TCP RST).
	Reset Mode = "reset"
	// Garbage answers bytes that are not an HTTP response, then closes.
	Garbage Mode = "garbage"
	// BadJSON answers 200 OK, application/json, with Options.Body: JSON
	// that is broken, too large, or of the wrong shape.
	BadJSON Mode = "bad-json"
	// SlowBody answers 200 OK headers at once, then the body one byte per
	// Options.Trickle, far slower than any timeout.
	SlowBody Mode = "slow-body"
	// Close reads the request and closes the connection without answering.
	Close Mode = "close"
	// Banner writes GarbageBytes as soon as it accepts a connection, before
	// any request, as an SSH server does, then closes. A TLS client sees a
	// server that does not speak TLS. Requests stays 0.
	Banner Mode = "banner"
)

// TransportModes are the modes in which no usable HTTP response arrives.
var TransportModes = []Mode{Hang, Reset, Garbage, SlowBody, Close}

// GarbageBytes is what a Garbage server answers: an SSH banner and binary
// noise, as a misconfigured port would.
var GarbageBytes = []byte("SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02\xff\xfe garbage \x7f\r\n\r\n")

// BrokenJSON is a JSON object cut off in the middle, as a proxy that drops
// the connection after a buffer would leave it.
var BrokenJSON = []byte(`{"ok":true,"result":{"id":1,"data":[{"id":"gpt`)

// HugeJSON returns a well-formed JSON object of at least n bytes: one long
// string, so that only its size is wrong.
func HugeJSON(n int) []byte {
	b := make([]byte, 0, n+16)
	b = append(b, `{"pad":"`...)
	b = append(b, bytes.Repeat([]byte("a"), n)...)
	return append(b, `"}`...)
}

// Options configure a Server.
type Options struct {
	// Body is the BadJSON answer's body; nil means BrokenJSON.
	Body []byte
	// Trickle is SlowBody's wait between body bytes; 0 means 200ms.
	Trickle time.Duration
}

// Server is a listener that fails every request in one Mode.
type Server struct {
	// URL is http://127.0.0.1:<port>, without a trailing slash.
	URL string

	mode     Mode
	opts     Options
	ln       net.Listener
	quit     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	requests atomic.Int64
}

// NewServer starts a Server on a free loopback port. Like
// httptest.NewServer it panics if it cannot listen. Close it when done.
func NewServer(mode Mode, opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("faulttest: listen: " + err.Error())
	}
	if opts.Body == nil {
		opts.Body = BrokenJSON
	}
	if opts.Trickle <= 0 {
		opts.Trickle = 200 * time.Millisecond
	}
	s := &Server{URL: "http://" + ln.Addr().String(), mode: mode, opts: opts, ln: ln,
		quit: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Requests returns how many requests the server has read whole. A client
// that retried a transport failure would show more than one.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Close stops the listener, closes every open connection and waits until
// every goroutine of the server has returned, so that a leak check after
// Close sees only the client's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.quit)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			s.serve(c)
		}()
	}
}

func (s *Server) forget(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// serve reads one request from c and fails it.
func (s *Server) serve(c net.Conn) {
	if s.mode == Banner {
		_, _ = c.Write(GarbageBytes)
		return
	}
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	if _, err := io.Copy(io.Discard, req.Body); err != nil {
		return
	}
	s.requests.Add(1)
	switch s.mode {
	case Hang:
		// Wait for the client to give up (EOF) or for Close.
		_, _ = io.Copy(io.Discard, c)
	case Reset:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close now sends RST instead of FIN
		}
	case Garbage:
		_, _ = c.Write(GarbageBytes)
	case BadJSON:
		head := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
			strconv.Itoa(len(s.opts.Body)) + "\r\n\r\n"
		_, _ = c.Write(append([]byte(head), s.opts.Body...))
	case SlowBody:
		s.trickle(c)
	case Close:
	default:
		panic(fmt.Sprintf("faulttest: unknown mode %q", s.mode))
	}
}

// trickle sends 200 headers announcing a megabyte of body, then one byte
// per Trickle until the client hangs up or the server closes.
func (s *Server) trickle(c net.Conn) {
	const size = 1 << 20
	head := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n"
	if _, err := io.WriteString(c, head); err != nil {
		return
	}
	t := time.NewTicker(s.opts.Trickle)
	defer t.Stop()
	for range size {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if _, err := c.Write([]byte(" ")); err != nil {
			return
		}
	}
}
