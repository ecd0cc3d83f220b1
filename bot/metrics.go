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
	leader     prometheus.Gauge
	epoch      prometheus.Gauge
	held       prometheus.Gauge
	claims     *prometheus.CounterVec
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
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbot_leader",
			Help: "1 while this process leads (runs the watchers' schedules and the Discord gateway), else 0.",
		}),
		epoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbot_leader_epoch",
			Help: "Epoch of the leader lease this process holds (rises with each change of leader); 0 while it follows.",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "alertbot_channel_claims",
			Help: "Channels whose deliveries this process holds (claimed, with deliveries pending), as of its last claim renewal.",
		}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertbot_delivery_claims_total",
			Help: "Delivery claims by platform and outcome: claimed (about to be sent), taken_over (claimed before by another process, looked up before any resend), refused (the channel passed to another process).",
		}, []string{"platform", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.alerts, m.deliveries, m.runs, m.commands, m.leader, m.epoch, m.held, m.claims)
	}
	return m
}

// SetLeader records whether this process leads, and its lease epoch.
func (m *Metrics) SetLeader(leading bool, epoch int64) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
	m.epoch.Set(float64(epoch))
}

// ChannelsHeld records how many channels this process holds.
func (m *Metrics) ChannelsHeld(n int) { m.held.Set(float64(n)) }

// Claims counts n delivery claims of platform with outcome (claimed,
// taken_over, refused).
func (m *Metrics) Claims(platform, outcome string, n int) {
	if n > 0 {
		m.claims.WithLabelValues(platform, outcome).Add(float64(n))
	}
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
