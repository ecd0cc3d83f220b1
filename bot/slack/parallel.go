package slack

import (
	"net"
	"net/http"
	"time"

	"github.com/policyteam/alertbot/bot"
)

// parallelSends is how many channels may have a send in flight at once.
// Each channel keeps its own limiter (about 1 message/s) and the
// dispatcher sends one channel's deliveries in order, one at a time. A few
// channels at once hide the round trip without approaching the
// workspace-wide limit Slack also applies (undocumented; a 429 there still
// pauses the channel that got it).
const parallelSends = 8

var _ bot.ParallelSender = (*Adapter)(nil)

// ParallelSends returns how many channels the dispatcher may send to at
// once. Slack has no idempotency key: this is safe because a send of
// unknown outcome is looked up through its metadata (Resolve) before any
// resend, so a crash with several sends in flight repeats none of them. A
// dispatcher that resends without resolving would repeat each of them.
func (a *Adapter) ParallelSends() int { return parallelSends }

// apiTransport is the Web API's HTTP transport: keep-alive with an idle
// connection for each parallel send. The default transport keeps two per
// host, so a burst over eight channels closed six connections after each
// round of sends and dialled them again.
func apiTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * parallelSends,
		MaxIdleConnsPerHost:   2 * parallelSends,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
