package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// Create-message is posted here rather than through discordgo's
// RequestRaw, for its cost per delivery: RequestRaw keeps its own
// rate-limit buckets (a map entry and lock per channel, duplicating
// ours) and reads the whole answer into a new slice. The request is the
// same: the body createBody wrote, through the adapter's client (its
// transport feeds our buckets the X-RateLimit-* headers, and its timeout
// and connection pool are those of every other call), with the session's
// Authorization and User-Agent.
// https://discord.com/developers/docs/resources/message#create-message

// maxAnswer bounds what is read of an answer: a created message echoes at
// most 2,000 characters of content and 6,000 of embeds, far below this.
const maxAnswer = 1 << 20

// answerBufs holds buffers for answers: an answer is done with once its
// id (a copy) or error is read, and each would otherwise allocate a few KB.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledAnswer is the largest buffer put back in answerBufs, so one
// huge answer does not stay held.
const maxPooledAnswer = 64 << 10

// apiError is what createMessage reads of an error answer: Discord's
// message and code, and for a 429 how long to wait (seconds, a float).
// https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
type apiError struct {
	Code       int      `json:"code"`
	Message    string   `json:"message"`
	RetryAfter *float64 `json:"retry_after"`
}

// createMessage posts body, a create-message body, to endpoint (the URL of
// a channel's messages at the configured host) and returns the new
// message's id. what names the call in errors. Its errors are
// bot.Transient or bot.Permanent, as classify makes them of discordgo's:
// 429 transient after the answer's retry_after (or Retry-After), 5xx
// after Retry-After, 408 and network errors transient, other statuses
// permanent with Discord's message and code. A 2xx answer without an id
// is transient: the message may have been posted, and the nonce makes
// the retry safe. There are no retries here; they are the dispatcher's.
func (a *Adapter) createMessage(ctx context.Context, what, endpoint string, body []byte) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, clientTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", bot.Permanent(fmt.Errorf("discord: %s: request: %w", what, err))
	}
	// The keys are canonical already, so they are set without Header.Set's
	// canonicalising.
	req.Header["Authorization"] = []string{a.auth}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{a.userAgent}
	resp, err := a.sendClient.Do(req)
	if err != nil {
		return "", classify(what, err) // drops the *url.Error's URL
	}
	defer resp.Body.Close()

	buf := answerBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledAnswer {
			buf.Reset()
			answerBufs.Put(buf)
		}
	}()
	buf.Reset()
	buf.Grow(int(min(max(resp.ContentLength, 0), maxAnswer)) + bytes.MinRead)
	// Read to the end (within the bound), so the connection goes back to
	// the idle pool; past the bound it is closed instead.
	_, rerr := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer+1))
	data := buf.Bytes()
	tooLong := len(data) > maxAnswer

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		var id string
		if rerr == nil && !tooLong {
			id, err = messageID(data)
		}
		if rerr != nil || tooLong || err != nil || id == "" {
			return "", bot.Transient(fmt.Errorf("discord: %s: response has no message id", what), 0)
		}
		return id, nil
	}
	var ae apiError
	if rerr != nil || tooLong || json.Unmarshal(data, &ae) != nil {
		ae = apiError{}
	}
	if code == http.StatusTooManyRequests {
		after, ok := retryAfter(ae.RetryAfter)
		if !ok {
			after, _ = seconds(resp.Header.Get("Retry-After"))
		}
		msg := ae.Message
		if msg == "" {
			msg = http.StatusText(code)
		}
		return "", rateLimited(what, msg, after)
	}
	var m *discordgo.APIErrorMessage
	if ae.Message != "" {
		m = &discordgo.APIErrorMessage{Code: ae.Code, Message: ae.Message}
	}
	return "", statusError(what, code, resp.Header, m)
}

// retryAfter converts a 429 answer's retry_after, in seconds, when it is
// there and sensible.
func retryAfter(s *float64) (time.Duration, bool) {
	if s == nil || math.IsNaN(*s) || *s < 0 || *s > 1e6 {
		return 0, false
	}
	return time.Duration(*s * float64(time.Second)), true
}
