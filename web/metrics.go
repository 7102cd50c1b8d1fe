package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cowrite/cowrite/session"
)

// Metrics counts what the server does, for Prometheus. It implements
// session.Metrics; pass the same value to session.Config.Metrics and
// Config.Metrics, and GET /metrics serves it. Every label value is one of
// a fixed set known here (session's error and close codes); any other value
// is counted as "other", so no label ever carries a client-supplied string.
type Metrics struct {
	reg *prometheus.Registry

	conns, rooms                    prometheus.Gauge
	accepted, dedupe, resyncs, slow prometheus.Counter
	rejected, closes                *prometheus.CounterVec
	commitSeconds, batchOps         prometheus.Histogram
}

var _ session.Metrics = (*Metrics)(nil)

// errorCodes are the values of the reason label of rejected ops.
var errorCodes = map[string]bool{
	session.CodeBadFrame: true, session.CodeBadMessage: true, session.CodeUnknownType: true,
	session.CodeNotHello: true, session.CodeVersion: true, session.CodeBadDelta: true,
	session.CodeDoesNotFit: true, session.CodeFutureRev: true, session.CodeSeqConflict: true,
	session.CodeSeqOld: true, session.CodeReadOnly: true, session.CodeTooLarge: true,
	session.CodeUnavailable: true, session.CodeInternal: true, session.CodeBadDocID: true,
	session.CodeNotFound: true, session.CodeRateLimited: true, session.CodeShuttingDown: true,
}

// closeCodes are the values of the code label of closes.
var closeCodes = map[int]bool{
	session.CloseNormal: true, session.CloseGoingAway: true, session.CloseInternal: true,
	session.CloseProtocol: true, session.CloseUnauthorized: true, session.CloseHelloTimeout: true,
	session.CloseNotFound: true, session.CloseTooSlow: true, session.CloseResync: true,
	session.CloseUnavailable: true, session.CloseRateLimited: true,
	session.CloseTokenExpired: true, session.CloseRevoked: true,
}

const otherLabel = "other"

// NewMetrics returns Metrics registered on a registry of their own, with
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cowrite_connections",
			Help: "WebSocket sessions open."}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cowrite_rooms_open",
			Help: "Documents loaded in memory."}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "cowrite_ops_accepted_total",
			Help: "Ops sequenced, applied and made durable (WebSocket and REST)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cowrite_ops_rejected_total",
			Help: "Ops from clients refused, by error code."}, []string{"reason"}),
		dedupe: prometheus.NewCounter(prometheus.CounterOpts{Name: "cowrite_dedupe_hits_total",
			Help: "Resent ops answered with their first revision without applying them again."}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "cowrite_resyncs_total",
			Help: "Welcomes that told the client to reload (reset)."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{Name: "cowrite_slow_consumer_disconnects_total",
			Help: "Connections closed because the client did not read fast enough."}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cowrite_close_codes_total",
			Help: "WebSocket close codes sent, by code."}, []string{"code"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cowrite_commit_seconds",
			Help:    "Duration of one durable append of a room's batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		batchOps: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cowrite_commit_batch_ops",
			Help:    "Ops made durable by one append.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
	}
	m.reg.MustRegister(m.conns, m.rooms, m.accepted, m.rejected, m.dedupe,
		m.resyncs, m.slow, m.closes, m.commitSeconds, m.batchOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) ConnOpened()   { m.conns.Inc() }
func (m *Metrics) ConnClosed()   { m.conns.Dec() }
func (m *Metrics) RoomLoaded()   { m.rooms.Inc() }
func (m *Metrics) RoomUnloaded() { m.rooms.Dec() }
func (m *Metrics) OpAccepted()   { m.accepted.Inc() }
func (m *Metrics) DedupeHit()    { m.dedupe.Inc() }
func (m *Metrics) Resync()       { m.resyncs.Inc() }
func (m *Metrics) SlowConsumer() { m.slow.Inc() }

func (m *Metrics) OpRejected(code string) {
	if !errorCodes[code] {
		code = otherLabel
	}
	m.rejected.WithLabelValues(code).Inc()
}

func (m *Metrics) Commit(d time.Duration, ops int) {
	m.commitSeconds.Observe(d.Seconds())
	m.batchOps.Observe(float64(ops))
}

func (m *Metrics) Closed(code int) {
	label := otherLabel
	if closeCodes[code] {
		label = strconv.Itoa(code)
	}
	m.closes.WithLabelValues(label).Inc()
}
