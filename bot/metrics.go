package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/policyteam/alertbot/watchers"
)

// Metrics are the bot's Prometheus metrics.
type Metrics struct {
	alerts     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	runs       *prometheus.CounterVec
	commands   *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests and replay).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbot_alerts_created_total",
			Help: "Alerts created, by kind.",
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbot_deliveries_total",
			Help: "Delivery attempts by platform and outcome (sent, retried, failed).",
		}, []string{"platform", "outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbot_watcher_runs_total",
			Help: "Watcher checks by kind and result (ok, error).",
		}, []string{"kind", "result"}),
		commands: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "alertbot_command_duration_seconds",
			Help:    "Time to answer a slash command, by platform.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 3},
		}, []string{"platform"}),
	}
	if reg != nil {
		reg.MustRegister(m.alerts, m.deliveries, m.runs, m.commands)
	}
	return m
}

// AlertCreated counts a new alert.
func (m *Metrics) AlertCreated(k watchers.Kind) { m.alerts.WithLabelValues(string(k)).Inc() }

// DeliverySent counts a delivered message.
func (m *Metrics) DeliverySent(platform string) {
	m.deliveries.WithLabelValues(platform, "sent").Inc()
}

// DeliveryRetried counts a failed send that will be retried.
func (m *Metrics) DeliveryRetried(platform string) {
	m.deliveries.WithLabelValues(platform, "retried").Inc()
}

// DeliveryFailed counts a delivery given up.
func (m *Metrics) DeliveryFailed(platform string) {
	m.deliveries.WithLabelValues(platform, "failed").Inc()
}

// WatcherRun counts a watcher check.
func (m *Metrics) WatcherRun(kind string, err error) {
	r := "ok"
	if err != nil {
		r = "error"
	}
	m.runs.WithLabelValues(kind, r).Inc()
}

// Command observes a command's latency.
func (m *Metrics) Command(platform string, d time.Duration) {
	m.commands.WithLabelValues(platform).Observe(d.Seconds())
}
