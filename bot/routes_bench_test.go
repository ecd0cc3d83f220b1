package bot

import (
	"fmt"
	"testing"

	"github.com/policyteam/alertbot/watchers"
)

// BenchmarkRouteBurst: routing alone — 5,000 alerts over 5,000
// subscriptions (one channel per event, plus a few subscribed to all and
// to a tag), the shape of a burst of deadlines. Reported per alert.
func BenchmarkRouteBurst(b *testing.B) {
	const n = 5000
	var subs []Subscription
	for i := range n {
		subs = append(subs, Subscription{Channel: fmt.Sprintf("slack:C%05d", i), Target: fmt.Sprintf("event:e%05d", i)})
	}
	subs = append(subs, Subscription{Channel: "slack:CALL", Target: "all"}, Subscription{Channel: "slack:CTAG", Target: "tag:budget"})
	alerts := make([]watchers.Alert, n)
	for i := range alerts {
		alerts[i] = watchers.Alert{Key: fmt.Sprint(i), Watcher: "deadlines", Event: fmt.Sprintf("e%05d", i), Tags: []string{"budget"}}
	}
	b.ResetTimer()
	for b.Loop() {
		rt := newRouteTable(subs, nil, nil)
		for _, a := range alerts {
			if len(rt.channels(a)) != 3 {
				b.Fatal("wrong routing")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
}
