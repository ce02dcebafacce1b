package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Defaults of a Client made by NewClient.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 2
	DefaultBackoff    = 500 * time.Millisecond
)

// Caps on what is read of an answer. Each kind of answer has its own cap,
// set by its caller (Request.MaxBytes) to what the real service plausibly
// sends: an endpoint a tenant controls (an AI baseUrl) must not make a
// health worker, which runs dozens of checks at once, read more than a
// real vendor would. These are the defaults.
const (
	// DefaultMaxResponseBytes caps a 2xx answer whose Request names no
	// MaxBytes: 1 MiB, ample for any JSON API answer Gatehouse reads but a
	// chat completion or a file (whose callers name their own caps).
	DefaultMaxResponseBytes = 1 << 20
	// MaxErrorBytes is what is kept of an error answer (not 2xx): error
	// envelopes are well under a kilobyte; the rest is not read, and a
	// cut-off envelope reads as none (the status alone classifies it).
	MaxErrorBytes = 64 << 10
)

// ErrTooLarge is what the reader handed to Request.Decode returns once the
// answer passes Request.MaxBytes; Do then answers a *ResponseError, "the
// response is too large", that wraps it.
var ErrTooLarge = errors.New("the response is too large")

// Client sends providers' outbound HTTP requests. Each call is bounded by
// Timeout or by ctx's deadline, whichever comes first; a 429 or 5xx answer
// is retried at most MaxRetries times, after the wait the server asked for
// (Retry-After, or Request.RetryAfter) or an exponential backoff, and only
// when that wait ends before the deadline. Other 4xx answers are never
// retried. Requests are not retried after a transport error: a timeout has
// used the time a retry would need.
type Client struct {
	// HTTP does the requests. For user-supplied URLs it must dial through an
	// ssrf.Guard (ssrf.Guard.Client).
	HTTP       *http.Client
	Timeout    time.Duration
	MaxRetries int
	// Backoff is the wait before the first retry when the server names
	// none; it doubles for each further retry.
	Backoff time.Duration
}

// NewClient returns a Client with the default timeout, retries and backoff
// that sends through hc; a nil hc means a plain client that keeps no idle
// connections (so no goroutine outlives a call). NewClient does no I/O.
func NewClient(hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableKeepAlives:   true,
		}}
	}
	return &Client{HTTP: hc, Timeout: DefaultTimeout, MaxRetries: DefaultMaxRetries, Backoff: DefaultBackoff}
}

// Request is one outbound call. Body is sent again on each retry.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// RetryAfter, when set, reads a provider-specific wait from a 429 or 5xx
	// response (Telegram puts it in the body); a zero result falls back to
	// the Retry-After header.
	RetryAfter func(*Response) time.Duration
	// DiscardBody leaves the answer's body unread (Response.Body is nil),
	// for a caller that needs only the status and headers: a webhook
	// delivery, where any 2xx is a delivery, must not fail because the
	// receiver's body is huge or trickles in after the status.
	DiscardBody bool
	// MaxBytes caps a 2xx answer's body; a longer one is a
	// *ResponseError. 0 means DefaultMaxResponseBytes. Error answers keep
	// at most MaxErrorBytes whatever it is.
	MaxBytes int64
	// Decode, when set, reads a 2xx answer's body as it arrives (a
	// json.Decoder over it, never a copy of the whole body first), through
	// a reader that fails with ErrTooLarge past MaxBytes; Response.Body is
	// then nil. Do returns Decode's error as it is unless reading the body
	// failed, in which case it returns that failure, classified.
	Decode func(io.Reader) error
}

// Response is the final answer to a Request, whatever its status.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Attempts is how many requests were sent (1 + retries).
	Attempts int
	// Latency is the time from the first attempt to the final answer.
	Latency time.Duration
}

// Do sends r and returns the final response, whatever its status: decoding
// an error status into a typed error is the provider's job. The error is
// an *UnreachableError when no response arrived (timeout, DNS, connection,
// SSRF refusal, too many redirects) or the body could not be read, a
// *ResponseError when a 2xx body is over its cap, or r.Decode's own error.
// No error text holds the request URL.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := c.HTTP
	if hc == nil {
		hc = NewClient(nil).HTTP
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
		if err != nil {
			return nil, &UnreachableError{Reason: "the request URL is invalid"}
		}
		for k, v := range r.Header {
			req.Header[k] = v
		}
		if len(r.Body) > 0 && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "Gatehouse/1")
		}
		host := req.URL.Host
		resp, err := hc.Do(req)
		if err != nil {
			return nil, transportError(host, err)
		}
		body, err := readBody(resp, r)
		// Closing a body that was not read to its end drops the connection
		// rather than waiting for the rest.
		resp.Body.Close()
		if err != nil {
			var de *decodeError
			switch {
			case errors.Is(err, ErrTooLarge):
				return nil, &ResponseError{Provider: host, Reason: "the response is too large", Err: ErrTooLarge}
			case errors.As(err, &de):
				return nil, de.err
			}
			return nil, transportError(host, err)
		}
		out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Attempts: attempt, Latency: time.Since(start)}
		if !retryable(out.Status) || attempt > c.MaxRetries {
			return out, nil
		}
		var wait time.Duration
		if r.RetryAfter != nil {
			wait = r.RetryAfter(out)
		}
		if wait <= 0 {
			wait = RetryAfterHeader(out.Header)
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return out, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return out, nil
		case <-timer.C:
		}
	}
}

// readBody reads what r asks of resp's body: nothing (DiscardBody), the
// first MaxErrorBytes of an error answer, a 2xx answer through r.Decode,
// or a 2xx answer whole. Its error wraps ErrTooLarge for a 2xx answer over
// its cap, is a *decodeError for Decode's own failure, and is otherwise
// the failure to read.
func readBody(resp *http.Response, r Request) ([]byte, error) {
	if r.DiscardBody {
		return nil, nil
	}
	if resp.StatusCode/100 != 2 {
		return io.ReadAll(io.LimitReader(resp.Body, MaxErrorBytes))
	}
	limit := r.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	// A Content-Length over the cap is refused before a byte is read.
	if resp.ContentLength > limit {
		return nil, ErrTooLarge
	}
	lr := &capReader{r: resp.Body, left: limit}
	if r.Decode == nil {
		return io.ReadAll(lr)
	}
	err := r.Decode(lr)
	if lr.err != nil {
		return nil, lr.err
	}
	if err != nil {
		return nil, &decodeError{err: err}
	}
	return nil, nil
}

// decodeError carries Request.Decode's own error through readBody.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }

// capReader reads at most left bytes, then fails with ErrTooLarge if more
// come; it remembers the first failure other than io.EOF, so that a
// decoder's error can be told from the body's.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left <= 0 {
		// One byte more tells a body of exactly the cap from a longer one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.err = ErrTooLarge
			return 0, c.err
		}
		if err != nil && err != io.EOF {
			c.err = err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// backoff is Backoff·2^(attempt-1) with ±20% jitter, so that many gateways
// limited at once do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	base := c.Backoff
	if base <= 0 {
		base = DefaultBackoff
	}
	d := base << (attempt - 1)
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

// RetryAfterHeader reads the wait a response asks for: retry-after-ms
// (OpenAI), or Retry-After in seconds or as an HTTP date. It returns 0 when
// there is none.
func RetryAfterHeader(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// transportError classifies a failure that produced no response. The
// *url.Error is dropped: its text holds the URL, and a Telegram URL holds
// the bot token.
func transportError(host string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var blocked *ssrf.BlockedError
	var dnsErr *net.DNSError
	var netErr net.Error
	var urlErr *ssrf.URLError
	var tlsErr tls.RecordHeaderError
	reason := "the connection failed"
	switch {
	case errors.As(err, &blocked):
		reason = blocked.Error()
	case errors.Is(err, ssrf.ErrTooManyRedirects):
		reason = "too many redirects"
	case errors.As(err, &urlErr):
		reason = urlErr.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		reason = "the request timed out"
	case errors.Is(err, context.Canceled):
		reason = "the request was canceled"
	case errors.As(err, &dnsErr):
		reason = "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "the connection was refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "the connection was closed unexpectedly"
	case errors.As(err, &tlsErr):
		reason = "the server did not answer TLS"
	// net/http's errors for the next two have no type of their own, only
	// these texts, which it has kept since Go 1 and Go 1.12.
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		reason = "the server answered plain HTTP to an https URL"
	case strings.Contains(err.Error(), "malformed HTTP"):
		// An answer that is not HTTP: a wrong port, a TLS or SSH server.
		reason = "the server did not answer HTTP"
	}
	return &UnreachableError{Host: host, Reason: reason, Err: err}
}
