package slack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/policyteam/alertbot/bot"
	"github.com/policyteam/alertbot/bot/slack/slacktest"
	"github.com/policyteam/alertbot/watchers/sharedtest"
)

// benchServer is the real HTTP path: Routes on an httptest server, with a
// handler that answers at once.
func benchServer(b *testing.B) (*httptest.Server, func() *http.Request) {
	b.Helper()
	h := &fakeHandler{reply: func(req bot.Request) bot.Reply { return bot.Reply{Text: "Next: FY2025 budget in 7 days"} }}
	a, err := New(Config{BotToken: testToken, SigningSecret: testSecret, Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux, h)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	body := commandForm("U1", "C1", "upcoming", "")
	ts := strconv.FormatInt(testNow.Unix(), 10)
	newReq := func() *http.Request {
		// Signed per request, as Slack does, though outside the timing.
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", Sign(testSecret, testNow.Unix(), body))
		return req
	}
	return srv, newReq
}

func doBench(b *testing.B, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("status %d", resp.StatusCode)
	}
}

// BenchmarkSlashCommand measures a signed /alerts command through the HTTP
// server. "sequential" gives ns/op back to back; "paced500" sends 1,000
// requests at 500 req/s (2 s per op) and reports the p99 latency.
func BenchmarkSlashCommand(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		srv, newReq := benchServer(b)
		c := srv.Client()
		b.ReportAllocs()
		for b.Loop() {
			doBench(b, c, newReq())
		}
	})
	b.Run("paced500", func(b *testing.B) {
		srv, newReq := benchServer(b)
		c := srv.Client()
		c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		const n, perSecond = 1000, 500
		var all []time.Duration
		for b.Loop() {
			lat := make([]time.Duration, n)
			reqs := make([]*http.Request, n)
			for i := range reqs {
				reqs[i] = newReq()
			}
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / perSecond)
			for i := range n {
				<-tick.C
				wg.Go(func() {
					start := time.Now()
					doBench(b, c, reqs[i])
					lat[i] = time.Since(start)
				})
			}
			tick.Stop()
			wg.Wait()
			all = append(all, lat...)
		}
		slices.Sort(all)
		p := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(p(0.50), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
		b.ReportMetric(float64(all[len(all)-1])/float64(time.Millisecond), "max-ms")
	})
}

// BenchmarkSendNoLimit posts rendered alerts to the fake Web API with the
// limiter off: the adapter's own cost plus a loopback round trip. cpu-µs/msg
// is the process's CPU per message, the adapter's and the fake's together.
func BenchmarkSendNoLimit(b *testing.B) {
	fake := slacktest.NewServer()
	defer fake.Close()
	a, err := New(Config{BotToken: testToken, APIURL: fake.URL, ChannelRate: NoLimit})
	if err != nil {
		b.Fatal(err)
	}
	msg := goldenMessages()["reminder"]
	ctx := context.Background()
	b.ReportAllocs()
	start, cpu0 := time.Now(), sharedtest.ProcessCPU()
	i := 0
	for b.Loop() {
		i++
		if _, err := a.Send(ctx, bot.Outgoing{DeliveryID: int64(i), Channel: fmt.Sprintf("C%d", i%8), Message: msg}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((sharedtest.ProcessCPU()-cpu0).Microseconds())/float64(i), "cpu-µs/msg")
}

// BenchmarkRender is the Block Kit rendering of one alert.
func BenchmarkRender(b *testing.B) {
	msg := goldenMessages()["reminder"]
	b.ReportAllocs()
	for b.Loop() {
		Render(msg)
	}
}
