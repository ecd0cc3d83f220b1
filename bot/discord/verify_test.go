package discord

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":1}`)
	now := time.Unix(1750000000, 0)
	good := sign(priv, now, body)
	with := func(k, v string) http.Header {
		h := good.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	sigHex := good.Get("X-Signature-Ed25519")
	tests := []struct {
		name    string
		key     ed25519.PublicKey
		header  http.Header
		body    []byte
		now     time.Time
		wantErr string // "" for valid
	}{
		{"valid", pub, good, body, now, ""},
		{"valid 5 minutes later", pub, good, body, now.Add(5 * time.Minute), ""},
		{"valid clock 5 minutes behind", pub, good, body, now.Add(-5 * time.Minute), ""},
		{"tampered body", pub, good, []byte(`{"type":2}`), now, "does not verify"},
		{"wrong key", otherPub, good, body, now, "does not verify"},
		{"stale timestamp", pub, good, body, now.Add(5*time.Minute + time.Second), "older than 5 minutes"},
		{"future timestamp", pub, good, body, now.Add(-5*time.Minute - time.Second), "in the future"},
		{"non-hex signature", pub, with("X-Signature-Ed25519", "example invalid signature"), body, now, "not hex"},
		{"short signature", pub, with("X-Signature-Ed25519", sigHex[:len(sigHex)-2]), body, now, "63 bytes"},
		{"long signature", pub, with("X-Signature-Ed25519", sigHex+"00"), body, now, "65 bytes"},
		{"missing signature", pub, with("X-Signature-Ed25519", ""), body, now, "missing"},
		{"missing timestamp", pub, with("X-Signature-Timestamp", ""), body, now, "missing"},
		{"timestamp not a number", pub, with("X-Signature-Timestamp", "yesterday"), body, now, "unix seconds"},
		{"signed timestamp changed", pub, with("X-Signature-Timestamp", strconv.FormatInt(now.Unix()+1, 10)), body, now, "does not verify"},
		{"short public key", pub[:31], good, body, now, "public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.key, tt.header, tt.body, tt.now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Verify error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestVerifyDiscordVectors checks a PING really signed by Discord, and the
// derived failing variants, with the vector's own timestamp as now.
func TestVerifyDiscordVectors(t *testing.T) {
	p := sharedTestdata(t, "signing/discord_signature_vectors.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			ID        string `json:"id"`
			PublicKey string `json:"public_key_hex"`
			Timestamp string `json:"x_signature_timestamp"`
			Body      string `json:"body"`
			Signature string `json:"x_signature_ed25519"`
			Valid     bool   `json:"valid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 2 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	valid := 0
	for _, v := range file.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			key, err := ParsePublicKey(v.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("X-Signature-Ed25519", v.Signature)
			h.Set("X-Signature-Timestamp", v.Timestamp)
			err = Verify(key, h, []byte(v.Body), time.Unix(sec, 0))
			if got := err == nil; got != v.Valid {
				t.Fatalf("Verify valid = %v (err %v), want %v", got, err, v.Valid)
			}
			if v.Valid {
				valid++
				// The real signature is too old for a clock of today.
				if err := Verify(key, h, []byte(v.Body), time.Unix(sec, 0).Add(6*time.Minute)); err == nil {
					t.Fatal("a six-minute-old signature verified")
				}
			}
		})
	}
	if valid == 0 {
		t.Fatal("no valid vector was checked")
	}
}

// TestRealDiscordPing sends Discord's own signed PING (ssMMiles data2.json)
// through the HTTP endpoint.
func TestRealDiscordPing(t *testing.T) {
	p := sharedTestdata(t, "signing/ssmmiles_discord_interactions_data2.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	sec, err := strconv.ParseInt(d["TIMESTAMP_VALID"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.PublicKey = d["PUBLIC_KEY"]
		c.Now = func() time.Time { return time.Unix(sec, 0) }
	})
	header := func(sig, ts string) http.Header {
		h := http.Header{}
		h.Set("X-Signature-Ed25519", sig)
		h.Set("X-Signature-Timestamp", ts)
		return h
	}
	resp, body := e.post(t, []byte(d["BODY_VALID"]), header(d["SIGNATURE_VALID"], d["TIMESTAMP_VALID"]))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if strings.TrimSpace(string(body)) != `{"type":1}` {
		t.Errorf("body %s, want {\"type\":1}", body)
	}
	cases := map[string]http.Header{
		"discord's bad probe":      header(d["SIGNATURE_INVALID"], d["TIMESTAMP_INVALID"]),
		"valid signature, ts + 1":  header(d["SIGNATURE_VALID"], d["TIMESTAMP_INVALID"]),
		"non-hex signature":        header("example invalid signature", d["TIMESTAMP_VALID"]),
		"truncated signature":      header(d["SIGNATURE_VALID"][:126], d["TIMESTAMP_VALID"]),
		"no headers":               {},
		"signature of other body":  header(d["SIGNATURE_INVALID"], d["TIMESTAMP_VALID"]),
		"signature, zeroed":        header(strings.Repeat("0", 128), d["TIMESTAMP_VALID"]),
		"hex of wrong-length blob": header(hex.EncodeToString([]byte("short")), d["TIMESTAMP_VALID"]),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := e.post(t, []byte(d["BODY_VALID"]), h)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", resp.StatusCode, body)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		resp, _ := e.post(t, []byte(d["BODY_INVALID"]), header(d["SIGNATURE_VALID"], d["TIMESTAMP_VALID"]))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", resp.StatusCode)
		}
	})
	if n := len(e.handler.requests()); n != 0 {
		t.Errorf("handler ran %d times for PINGs and refused requests", n)
	}
}
