package slack

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	docsSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docsTS     = 1531420618
	docsSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func signedHeader(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	return h
}

func TestVerifySignatureDocsVector(t *testing.T) {
	body, err := os.ReadFile(sharedTestdata(t, "slack", "payloads", "slash_docs_signing_example.form"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(docsTS, 0)
	if err := VerifySignature(docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig), body, now); err != nil {
		t.Fatalf("documented vector refused: %v", err)
	}
	if got := Sign(docsSecret, docsTS, body); got != docsSig {
		t.Errorf("Sign = %s, want %s", got, docsSig)
	}

	tampered := append(append([]byte(nil), body...), "------"...)
	tests := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		now    time.Time
		want   string // substring of the error
	}{
		{"tampered body", docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig), tampered, now, "does not match"},
		{"wrong secret", docsSecret + "x", signedHeader(strconv.Itoa(docsTS), docsSig), body, now, "does not match"},
		{"stale", docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig), body, now.Add(MaxSignatureAge + time.Second), "old"},
		{"future", docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig), body, now.Add(-MaxSignatureAge - time.Second), "future"},
		{"missing timestamp", docsSecret, signedHeader("", docsSig), body, now, "X-Slack-Request-Timestamp"},
		{"missing signature", docsSecret, signedHeader(strconv.Itoa(docsTS), ""), body, now, "X-Slack-Signature"},
		{"no headers", docsSecret, http.Header{}, body, now, "missing"},
		{"bad timestamp", docsSecret, signedHeader("12e9", docsSig), body, now, "unix seconds"},
		// The sender's text is cut on a rune boundary, not echoed whole.
		{"long timestamp", docsSecret, signedHeader(strings.Repeat("日", 31)+"本本本", docsSig), body, now, `"` + strings.Repeat("日", 31) + `…"`},
		{"huge timestamp", docsSecret, signedHeader("9223372036854775807", docsSig), body, now, "future"},
		{"version v1", docsSecret, signedHeader(strconv.Itoa(docsTS), "v1="+docsSig[3:]), body, now, "version"},
		{"not hex", docsSecret, signedHeader(strconv.Itoa(docsTS), "v0=zz"+docsSig[5:]), body, now, "hex"},
		{"short", docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig[:20]), body, now, "hex"},
		{"no secret", "", signedHeader(strconv.Itoa(docsTS), docsSig), body, now, "no signing secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.secret, tt.header, tt.body, tt.now)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("error %v does not wrap ErrBadSignature", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}

	// The window is inclusive: exactly five minutes either way is accepted.
	for _, d := range []time.Duration{MaxSignatureAge, -MaxSignatureAge} {
		if err := VerifySignature(docsSecret, signedHeader(strconv.Itoa(docsTS), docsSig), body, now.Add(d)); err != nil {
			t.Errorf("now%+v: %v", d, err)
		}
	}
}

func TestVerifySignatureVectorFile(t *testing.T) {
	raw, err := os.ReadFile(sharedTestdata(t, "slack", "signing", "slack_signature_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			ID        string `json:"id"`
			Secret    string `json:"signing_secret"`
			Timestamp string `json:"timestamp"`
			Body      string `json:"body"`
			Signature string `json:"expected_signature"`
			Valid     bool   `json:"valid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 5 {
		t.Fatalf("only %d vectors in the file", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			now := time.Now()
			if ts, err := strconv.ParseInt(v.Timestamp, 10, 64); err == nil {
				now = time.Unix(ts, 0)
				if strings.Contains(v.ID, "stale") {
					// The vector is a valid HMAC made stale by the clock.
					now = now.Add(10 * time.Minute)
				}
			}
			err := VerifySignature(v.Secret, signedHeader(v.Timestamp, v.Signature), []byte(v.Body), now)
			if v.Valid && err != nil {
				t.Errorf("valid vector refused: %v", err)
			}
			if !v.Valid && err == nil {
				t.Error("invalid vector accepted")
			}
		})
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("1531420618", docsSig, []byte("a=b"))
	f.Add("", "", []byte{})
	f.Add("-1", "v0=", []byte{0xff})
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := signedHeader(ts, sig)
		// Must never panic, and never accept a signature we did not make.
		if err := VerifySignature(docsSecret, h, body, time.Unix(docsTS, 0)); err == nil {
			n, _ := strconv.ParseInt(ts, 10, 64)
			if Sign(docsSecret, n, body) != sig {
				t.Fatalf("accepted forged signature %q for ts %q", sig, ts)
			}
		}
	})
}
