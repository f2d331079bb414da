package bot

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
)

// Metrics are the bot's Prometheus counters. Labels are bounded sets (envelope types, Web API method
// names, Slack error codes); no label ever carries a token, a user id or message text.
type Metrics struct {
	envelopes   *prometheus.CounterVec
	acks        *prometheus.CounterVec
	ackLatency  *prometheus.HistogramVec
	retries     prometheus.Counter
	apiCalls    *prometheus.CounterVec
	connects    prometheus.Counter
	reconnects  prometheus.Counter
	connErrors  prometheus.Counter
	answers     prometheus.Counter
	batchSize   prometheus.Histogram
	reminders   prometheus.Counter
	dms         prometheus.Counter
	errs        *prometheus.CounterVec
	panics      prometheus.Counter
	connectedGa prometheus.Gauge
	tsAhead     prometheus.Counter
}

// NewMetrics makes the bot's metrics and registers them with reg (nil: kept but not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "internbot_envelopes_received_total", Help: "Socket Mode envelopes received, by type."}, []string{"type"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "internbot_envelopes_acked_total", Help: "Socket Mode envelopes acknowledged, by type."}, []string{"type"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "internbot_ack_latency_seconds", Help: "Time from an envelope's arrival to its ack, by type.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"type"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_envelopes_redelivered_total", Help: "Envelopes Slack sent again (retry_attempt > 0)."}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "internbot_slack_api_calls_total", Help: "Slack Web API calls, by method and outcome (ok, ratelimited, a Slack error code, or error)."},
			[]string{"method", "outcome"}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_socket_connections_total", Help: "Socket Mode connections made."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_socket_reconnects_total", Help: "Socket Mode connections after the first."}),
		connErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_socket_connection_errors_total", Help: "Failed attempts to open a Socket Mode connection."}),
		answers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_reaction_events_recorded_total", Help: "Poll reaction events committed to the database."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "internbot_reaction_batch_size", Help: "Reaction events per group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}),
		reminders: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_reminders_posted_total", Help: "Deadline reminders posted to the channel."}),
		dms: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_reminder_dms_sent_total", Help: "Reminder DMs sent."}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "internbot_handler_errors_total", Help: "Errors while handling work, by kind."}, []string{"kind"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_panics_recovered_total", Help: "Panics recovered in handlers."}),
		connectedGa: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "internbot_socket_connected", Help: "1 while a Socket Mode connection is up."}),
		tsAhead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "internbot_reaction_events_ahead_total",
			Help: "Poll reaction events refused because their event_ts was more than a minute ahead of Slack's clock (the poll is read back instead)."}),
	}
	if reg != nil {
		reg.MustRegister(m.envelopes, m.acks, m.ackLatency, m.retries, m.apiCalls, m.connects, m.reconnects,
			m.connErrors, m.answers, m.batchSize, m.reminders, m.dms, m.errs, m.panics, m.connectedGa, m.tsAhead)
	}
	return m
}

func (m *Metrics) envelope(typ string, retry int) {
	m.envelopes.WithLabelValues(typ).Inc()
	if retry > 0 {
		m.retries.Inc()
	}
}

func (m *Metrics) acked(typ string, received time.Time) {
	if typ == "" {
		typ = "unknown"
	}
	m.acks.WithLabelValues(typ).Inc()
	m.ackLatency.WithLabelValues(typ).Observe(time.Since(received).Seconds())
}

func (m *Metrics) apiCall(method string, err error) {
	outcome := "ok"
	var rl *slack.RateLimitedError
	switch {
	case err == nil:
	case errors.As(err, &rl):
		outcome = "ratelimited"
	case slackErrorCode(err) != "":
		outcome = slackErrorCode(err)
	default:
		outcome = "error"
	}
	m.apiCalls.WithLabelValues(method, outcome).Inc()
}

func (m *Metrics) connected(count int) {
	m.connects.Inc()
	if count > 0 {
		m.reconnects.Inc()
	}
	m.connectedGa.Set(1)
}

func (m *Metrics) disconnected()            { m.connectedGa.Set(0) }
func (m *Metrics) connectionError()         { m.connErrors.Inc(); m.connectedGa.Set(0) }
func (m *Metrics) answerRecorded()          { m.answers.Inc() }
func (m *Metrics) batch(n int)              { m.batchSize.Observe(float64(n)) }
func (m *Metrics) reminderPosted()          { m.reminders.Inc() }
func (m *Metrics) dmSent()                  { m.dms.Inc() }
func (m *Metrics) handlerError(kind string) { m.errs.WithLabelValues(kind).Inc() }
func (m *Metrics) panicked()                { m.panics.Inc() }
func (m *Metrics) eventTSAhead()            { m.tsAhead.Inc() }
