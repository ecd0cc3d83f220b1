package discord

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// BenchmarkInteraction measures a signed /alerts upcoming through the real
// HTTP server and Routes (signature check, parsing, handler, response).
// "serial" gives ns/op; "paced_500rps" sends at 500 requests/s, open loop,
// and reports the 99th percentile latency.
func BenchmarkInteraction(b *testing.B) {
	e := newEnv(b, nil)
	body := commandBody(b, 2, "alerts", "upcoming", strOpt("tag", "japan"), strOpt("within", "30d"))
	header := sign(e.priv, testNow, body)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128}}
	defer client.CloseIdleConnections()
	do := func() error {
		req, err := http.NewRequest(http.MethodPost, e.http.URL+"/discord/interactions", bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := do(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("paced_500rps", func(b *testing.B) {
		const interval = 2 * time.Millisecond // 500 requests/s
		lat := make([]time.Duration, b.N)
		var wg sync.WaitGroup
		var failed atomic.Int64
		start := time.Now()
		b.ResetTimer()
		for i := range b.N {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				if err := do(); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}()
		}
		wg.Wait()
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d requests failed", n)
		}
		slices.Sort(lat)
		p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(p(0.50), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
	})
}

// BenchmarkSendNoLimit measures Send to the fake with the global limiter
// off: rendering, JSON, discordgo, loopback HTTP and the fake's bookkeeping.
// cpu-µs/msg is the process's CPU per message, the adapter's and the
// fake's together.
func BenchmarkSendNoLimit(b *testing.B) {
	e := newEnv(b, func(c *Config) { c.GlobalRate = NoLimit })
	msg := alertMessage()
	var next atomic.Int64
	var channel atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	start, cpu0 := time.Now(), sharedtest.ProcessCPU()
	b.RunParallel(func(pb *testing.PB) {
		// One channel per goroutine: discordgo serialises requests per
		// bucket, as Discord's per-channel buckets would.
		ch := fmt.Sprint(1000 + channel.Add(1))
		for pb.Next() {
			out := bot.Outgoing{DeliveryID: next.Add(1), Channel: ch, Message: msg}
			if _, err := e.adapter.Send(ctx, out); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((sharedtest.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}
