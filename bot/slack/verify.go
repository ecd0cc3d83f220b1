package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/policyteam/alertbot/watchers"
)

// MaxSignatureAge is how far a request's timestamp may lie from now, either
// way, before it is refused as a replay.
// https://docs.slack.dev/authentication/verifying-requests-from-slack
const MaxSignatureAge = 5 * time.Minute

// ErrBadSignature is wrapped by every error VerifySignature returns, so the
// HTTP handlers can map them all to 401.
var ErrBadSignature = errors.New("slack signature refused")

// VerifySignature checks Slack's request signature: the
// X-Slack-Signature header must be "v0=" + hex(HMAC-SHA256(secret,
// "v0:"+timestamp+":"+body)), compared in constant time, and the
// X-Slack-Request-Timestamp must lie within MaxSignatureAge of now. The
// clock is a parameter so the documented vector can be checked.
func VerifySignature(secret string, header http.Header, body []byte, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: no signing secret configured", ErrBadSignature)
	}
	tsText := header.Get("X-Slack-Request-Timestamp")
	if tsText == "" {
		return fmt.Errorf("%w: missing X-Slack-Request-Timestamp header", ErrBadSignature)
	}
	sig := header.Get("X-Slack-Signature")
	if sig == "" {
		return fmt.Errorf("%w: missing X-Slack-Signature header", ErrBadSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts <= 0 {
		// The timestamp is the sender's text: keep the error short.
		short, _ := watchers.Truncate(tsText, 32)
		return fmt.Errorf("%w: timestamp %q is not unix seconds", ErrBadSignature, short)
	}
	// Compare in seconds so huge timestamps cannot overflow a Duration.
	age := now.Unix() - ts
	if age > int64(MaxSignatureAge/time.Second) {
		return fmt.Errorf("%w: timestamp is %ds old (limit %s)", ErrBadSignature, age, MaxSignatureAge)
	}
	if -age > int64(MaxSignatureAge/time.Second) {
		return fmt.Errorf("%w: timestamp is %ds in the future (limit %s)", ErrBadSignature, -age, MaxSignatureAge)
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: signature version is not v0", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: signature is not 32 hex-encoded bytes", ErrBadSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:"))
	mac.Write([]byte(tsText))
	mac.Write([]byte(":"))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	return nil
}

// Sign returns the X-Slack-Signature value for body at ts, as Slack computes
// it. Tests and local tools use it to make signed requests.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
