package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sources are the values read afresh at every scrape rather than counted
// as they happen.
type Sources struct {
	// DBStats reads the database connection pool's statistics.
	DBStats func() sql.DBStats
	// QueuedBuilds counts the builds waiting for a worker in the whole
	// database (every process reports the same number); nil when builds
	// are off.
	QueuedBuilds func(ctx context.Context) (int64, error)
}

// queueReadTimeout bounds the build queue query a scrape makes, so that a
// database outage slows no scrape for long: the gauge is then left out.
const queueReadTimeout = 2 * time.Second

// storeCollector turns Sources into metrics at scrape time.
type storeCollector struct {
	src Sources

	maxOpen, open, inUse, idle *prometheus.Desc
	waits, waited, closed      *prometheus.Desc
	queued                     *prometheus.Desc
}

func newStoreCollector(src Sources) *storeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &storeCollector{src: src,
		maxOpen: d("wharf_db_connections_max", "Largest number of open connections the pool allows."),
		open:    d("wharf_db_connections_open", "Connections open, in use or idle."),
		inUse:   d("wharf_db_connections_in_use", "Connections in use."),
		idle:    d("wharf_db_connections_idle", "Idle connections."),
		waits:   d("wharf_db_connection_waits_total", "Times a caller waited for a connection because the pool was at its limit."),
		waited:  d("wharf_db_connection_wait_seconds_total", "Time callers spent waiting for a connection."),
		closed: d("wharf_db_connections_closed_total",
			"Connections the pool closed, by reason: max_idle, max_idle_time, max_lifetime.", "reason"),
		queued: d("wharf_build_queue_depth", "Builds waiting for a worker (in the whole database)."),
	}
}

// Describe sends every descriptor the collector may emit.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waits, c.waited, c.closed, c.queued} {
		ch <- d
	}
}

// Collect reads the pool's statistics and the build queue.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.DBStats != nil {
		s := c.src.DBStats()
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
		}
		gauge(c.maxOpen, s.MaxOpenConnections)
		gauge(c.open, s.OpenConnections)
		gauge(c.inUse, s.InUse)
		gauge(c.idle, s.Idle)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount))
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, s.WaitDuration.Seconds())
		for reason, n := range map[string]int64{"max_idle": s.MaxIdleClosed, "max_idle_time": s.MaxIdleTimeClosed,
			"max_lifetime": s.MaxLifetimeClosed} {
			ch <- prometheus.MustNewConstMetric(c.closed, prometheus.CounterValue, float64(n), reason)
		}
	}
	if c.src.QueuedBuilds != nil {
		ctx, cancel := context.WithTimeout(context.Background(), queueReadTimeout)
		defer cancel()
		if n, err := c.src.QueuedBuilds(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(n))
		}
	}
}
