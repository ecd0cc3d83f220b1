package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot/internal/wirejson"
)

// chat.postMessage is posted here rather than through slack-go, for its
// cost per delivery: slack-go sends a URL-encoded form (escaping the
// blocks' JSON byte by byte) and decodes the whole answer, which echoes
// the posted message with its blocks, into Block Kit types. The Web API
// takes JSON bodies for chat.postMessage, with the token as a bearer
// token, and the answer's fields read here are few.
// https://docs.slack.dev/apis/web-api#posting_json

// maxPostAnswer bounds the answer read: it echoes one message, which
// Slack caps well below this.
const maxPostAnswer = 1 << 20

// postBody is chat.postMessage's JSON body, as encoding/json writes it
// when appendPostBody cannot. Metadata is an object here, not the JSON
// string a form field carries.
// https://docs.slack.dev/reference/methods/chat.postMessage
type postBody struct {
	Channel  string          `json:"channel"`
	Text     string          `json:"text"`
	Blocks   []slack.Block   `json:"blocks,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// postAnswer is what Send reads of chat.postMessage's answer. The echoed
// message ("message") has no field here: it is not decoded.
type postAnswer struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Channel          string `json:"channel"`
	TS               string `json:"ts"`
	Warning          string `json:"warning"`
	ResponseMetadata struct {
		Messages []string `json:"messages"`
		Warnings []string `json:"warnings"`
	} `json:"response_metadata"`
}

// answerFields are the members of chat.postMessage's answer readAnswer
// decodes, in postAnswer's order.
var answerFields = []string{"ok", "error", "channel", "ts", "warning", "response_metadata"}

// readAnswer decodes chat.postMessage's answer: the members of
// answerFields picked out (wirejson.Pick) and decoded one by one, without
// walking the echoed message; encoding/json reads the whole answer when
// Pick leaves it to it.
func readAnswer(data []byte) (postAnswer, error) {
	var ans postAnswer
	vals, ok := wirejson.Pick(data, answerFields...)
	if !ok {
		err := json.Unmarshal(data, &ans)
		return ans, err
	}
	dst := []any{&ans.OK, &ans.Error, &ans.Channel, &ans.TS, &ans.Warning, &ans.ResponseMetadata}
	for i, v := range vals {
		if v == nil {
			continue
		}
		if s, ok := wirejson.PlainString(v); ok {
			if p, isString := dst[i].(*string); isString {
				*p = s
				continue
			}
		}
		if err := json.Unmarshal(v, dst[i]); err != nil {
			return postAnswer{}, err
		}
	}
	return ans, nil
}

// deliveryMetadata is the metadata a post of delivery id carries, as
// JSON: {"event_type":DeliveryEventType,"event_payload":{"delivery_id":id}}.
// The id goes as a JSON number, as Slack's examples do.
func deliveryMetadata(id int64) json.RawMessage {
	b := make([]byte, 0, 80)
	b = append(b, `{"event_type":"`+DeliveryEventType+`","event_payload":{"delivery_id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, "}}"...)
}

// postMessage posts blocks with text as their fallback to channel and
// returns the message's ts. A delivery (id != 0) carries the metadata
// Resolve looks for. Its errors are slack-go's, as slack-go's own calls
// return them, for classify: *slack.RateLimitedError for a 429 with
// Retry-After, slack.StatusCodeError for any other status than 200,
// slack.SlackErrorResponse for ok:false; anything else (network, an
// answer that is not JSON) is a plain error.
func (a *Adapter) postMessage(ctx context.Context, channel string, blocks []slack.Block, text string, id int64) (string, error) {
	var meta json.RawMessage
	if id != 0 {
		meta = deliveryMetadata(id)
	}
	body, ok := appendPostBody(make([]byte, 0, 2048), channel, text, blocks, meta)
	if !ok {
		// Blocks of a kind appendPostBody does not write.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// Slack text is escaped already; \u0026 for & would only add bytes.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(postBody{Channel: channel, Text: text, Blocks: blocks, Metadata: meta}); err != nil {
			return "", fmt.Errorf("encode chat.postMessage: %w", err)
		}
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.apiURL+"chat.postMessage", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("chat.postMessage request: %w", err)
	}
	// Without the charset Slack answers with a missing_charset warning.
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+a.botToken)
	resp, err := a.httpClient.Do(req)
	if err != nil {
		return "", err // a *url.Error: the URL holds no token
	}
	defer resp.Body.Close()
	// Read to the end, so the connection goes back to the idle pool.
	defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPostAnswer)) }()

	if resp.StatusCode == http.StatusTooManyRequests {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && secs >= 0 {
				return "", &slack.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
			}
		}
	}
	if resp.StatusCode != http.StatusOK {
		// Slack answers 5xx with an HTML page: not worth reading.
		return "", slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	// Sized by Content-Length, so the answer is read without regrowing.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(resp.ContentLength, 0), maxPostAnswer)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxPostAnswer)); err != nil {
		return "", fmt.Errorf("chat.postMessage answer: %w", err)
	}
	ans, err := readAnswer(buf.Bytes())
	if err != nil {
		// It may have posted: the dispatcher looks the delivery up
		// before sending it again.
		return "", fmt.Errorf("chat.postMessage answer is not JSON: %w", err)
	}
	if w := ans.Warning; w != "" || len(ans.ResponseMetadata.Warnings) > 0 {
		a.log.Debug("slack: chat.postMessage warning", "channel", channel, "warning", w, "warnings", ans.ResponseMetadata.Warnings)
	}
	if !ans.OK {
		return "", slack.SlackErrorResponse{Err: ans.Error, ResponseMetadata: slack.ResponseMetadata{
			Messages: ans.ResponseMetadata.Messages, Warnings: ans.ResponseMetadata.Warnings}}
	}
	if ans.TS == "" {
		return "", fmt.Errorf("chat.postMessage answered ok without a ts")
	}
	return ans.TS, nil
}
