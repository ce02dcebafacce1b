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

// maxResponseBytes bounds what is read of any response: a chat completion
// is far smaller, and a hostile endpoint must not fill the Lambda's memory.
const maxResponseBytes = 8 << 20

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
// SSRF refusal, too many redirects) or a *ResponseError when the body could
// not be read whole. No error text holds the request URL.
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
		var body []byte
		if !r.DiscardBody {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		}
		// Closing a body that was not read to its end drops the connection
		// rather than waiting for the rest.
		resp.Body.Close()
		if err != nil {
			return nil, transportError(host, err)
		}
		if len(body) > maxResponseBytes {
			return nil, &ResponseError{Provider: host, Reason: "the response is too large"}
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
