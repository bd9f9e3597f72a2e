// Package metrics is wharf's Prometheus instrumentation: one Metrics value
// per process, made by package app over a registry of its own (never the
// client library's global one, so every test server counts alone), with a
// method per event the rest of wharf reports. The packages that report
// declare the small interface they call (worker.Observer,
// build.PhaseObserver, auth.LoginObserver, metered.Observer); this package
// implements them all.
//
// No label takes a value a client chose: routes are ServeMux patterns or
// the registry's route kinds, methods outside the standard set are
// "other", and repository, user and path names never appear, so the number
// of series stays bounded however many repositories are pushed.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Metrics records what wharf does, for /metrics.
type Metrics struct {
	registry *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	// requestSeries caches each label combination's counter and histogram
	// (requestKey → *requestSeries): WithLabelValues hashes its labels on
	// every call, and Request is on every request's path. The labels are
	// bounded (see the package comment), so the cache is too.
	requestSeries sync.Map
	pushedBytes   routeCounters
	pulledBytes   routeCounters
	// UploadsInFlight counts /v2 upload requests being served.
	UploadsInFlight prometheus.Gauge
	quotaRefusals   *prometheus.CounterVec
	logins          *prometheus.CounterVec
	jobRuns         *prometheus.CounterVec
	jobDuration     *prometheus.HistogramVec
	buildPhases     *prometheus.HistogramVec
	storageOps      *prometheus.HistogramVec
	gcBlobs         prometheus.Counter
	gcBytes         prometheus.Counter
	gcLinks         prometheus.Counter
}

// Bucket bounds in seconds, per kind of work: requests from a cached
// manifest read to a large layer; storage calls from a local stat to a
// slow object store; jobs and build phases from a second to their hour.
var (
	requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}
	storageBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}
	jobBuckets     = []float64{.01, .1, 1, 10, 60, 300, 1800, 3600}
	buildBuckets   = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}
)

// New registers wharf's metrics, the Go runtime's and the process's in
// reg, with the store's pool and build queue read from src at each scrape.
func New(reg *prometheus.Registry, src Sources) *Metrics {
	m := &Metrics{
		registry: reg,
		requests: counter(reg, "wharf_http_requests_total",
			"HTTP requests served, by face (api, registry, ops), route pattern or registry route kind, method and status code.",
			"face", "route", "method", "code"),
		requestDuration: histogram(reg, "wharf_http_request_duration_seconds",
			"Time from a request's arrival to the end of its response, by face, route and method.", requestBuckets,
			"face", "route", "method"),
		pushedBytes: routeCounters{vec: counter(reg, "wharf_registry_pushed_bytes_total",
			"Bytes read from the bodies of /v2 uploads (route upload) and manifest PUTs (route manifest).", "route")},
		pulledBytes: routeCounters{vec: counter(reg, "wharf_registry_pulled_bytes_total",
			"Bytes of blobs (route blob) and manifests (route manifest) served by /v2 GETs.", "route")},
		UploadsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wharf_registry_uploads_in_flight",
			Help: "/v2 upload requests (POST, PATCH, PUT of blob uploads) being served now."}),
		quotaRefusals: counter(reg, "wharf_quota_refusals_total",
			"Requests refused because they would take a namespace past its quota, by face.", "face"),
		logins: counter(reg, "wharf_logins_total",
			"Logins (API sign-in, /v2/auth) by credential kind and result: success, failure (bad credentials), disabled, throttled, error.",
			"credential", "result"),
		jobRuns: counter(reg, "wharf_job_runs_total",
			"Background job runs this process made (it held the job's lease), by job and result: success or failure.", "job", "result"),
		jobDuration: histogram(reg, "wharf_job_duration_seconds", "Duration of background job runs, by job.", jobBuckets, "job"),
		buildPhases: histogram(reg, "wharf_build_phase_duration_seconds",
			"Time builds spent in each phase on this process's workers, counted when the phase ends.", buildBuckets, "phase"),
		storageOps: histogram(reg, "wharf_storage_operation_duration_seconds",
			"Blob storage driver calls by driver, operation and result (ok, not_found, canceled, error); Reader and Writer time the opening only.",
			storageBuckets, "driver", "operation", "result"),
	}
	m.gcBlobs = prometheus.NewCounter(prometheus.CounterOpts{Name: "wharf_gc_blobs_collected_total",
		Help: "Blobs the garbage collector removed from storage and the database (runs this process made)."})
	m.gcBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "wharf_gc_bytes_reclaimed_total",
		Help: "Bytes of the blobs the garbage collector removed (runs this process made)."})
	m.gcLinks = prometheus.NewCounter(prometheus.CounterOpts{Name: "wharf_gc_links_expired_total",
		Help: "Uploaded or mounted blob links unlinked because no manifest referenced them within PUSH_TEMP_TAG_EXPIRATION_SEC."})
	reg.MustRegister(m.gcBlobs, m.gcBytes, m.gcLinks)
	reg.MustRegister(m.UploadsInFlight, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newStoreCollector(src))
	return m
}

func counter(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	reg.MustRegister(v)
	return v
}

func histogram(reg prometheus.Registerer, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	reg.MustRegister(v)
	return v
}

// Handler serves the registry in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// methodLabel is method's label: the standard methods have their own; a
// client may send any token as a method, so the rest share "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// BlobsCollected records what one garbage-collection run reclaimed.
func (m *Metrics) BlobsCollected(blobs, bytes, links int64) {
	m.gcBlobs.Add(float64(blobs))
	m.gcBytes.Add(float64(bytes))
	m.gcLinks.Add(float64(links))
}

// Request records one served request.
func (m *Metrics) Request(face, route, method string, status int, took time.Duration) {
	method = methodLabel(method)
	key := requestKey{face, route, method, status}
	s, ok := m.requestSeries.Load(key)
	if !ok {
		s, _ = m.requestSeries.LoadOrStore(key, &requestSeries{
			count:    m.requests.WithLabelValues(face, route, method, strconv.Itoa(status)),
			duration: m.requestDuration.WithLabelValues(face, route, method),
		})
	}
	series := s.(*requestSeries)
	series.count.Inc()
	series.duration.Observe(took.Seconds())
}

// routeCounters is a counter by route whose children are looked up once
// each, as requestSeries.
type routeCounters struct {
	vec      *prometheus.CounterVec
	children sync.Map // route → prometheus.Counter
}

func (c *routeCounters) with(route string) prometheus.Counter {
	if child, ok := c.children.Load(route); ok {
		return child.(prometheus.Counter)
	}
	child, _ := c.children.LoadOrStore(route, c.vec.WithLabelValues(route))
	return child.(prometheus.Counter)
}

type requestKey struct {
	face, route, method string
	status              int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// Pushed records n bytes received for a /v2 route (upload, manifest).
func (m *Metrics) Pushed(route string, n int64) {
	if n > 0 {
		m.pushedBytes.with(route).Add(float64(n))
	}
}

// Pulled records n bytes served by a /v2 route (blob, manifest).
func (m *Metrics) Pulled(route string, n int64) {
	if n > 0 {
		m.pulledBytes.with(route).Add(float64(n))
	}
}

// QuotaRefused records a request a face refused for its namespace's quota.
func (m *Metrics) QuotaRefused(face string) { m.quotaRefusals.WithLabelValues(face).Inc() }

// Login records how one login with a credential of kind ended (auth.LoginObserver).
func (m *Metrics) Login(kind string, err error) {
	result := "error"
	switch {
	case err == nil:
		result = "success"
	case wharf.IsCode(err, wharf.Unauthenticated):
		result = "failure"
	case wharf.IsCode(err, wharf.Forbidden):
		result = "disabled"
	case wharf.IsCode(err, wharf.TooManyRequests):
		result = "throttled"
	}
	m.logins.WithLabelValues(kind, result).Inc()
}

// JobRan records one run of a background job (worker.Observer).
func (m *Metrics) JobRan(job string, took time.Duration, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
}

// BuildPhase records that a build spent took in phase (build.PhaseObserver).
func (m *Metrics) BuildPhase(phase string, took time.Duration) {
	m.buildPhases.WithLabelValues(phase).Observe(took.Seconds())
}

// StorageOperation records one storage driver call (metered.Observer).
func (m *Metrics) StorageOperation(driver, op string, took time.Duration, err error) {
	result := "ok"
	switch {
	case err == nil:
	case wharf.IsCode(err, wharf.NotFound):
		result = "not_found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		result = "canceled"
	default:
		result = "error"
	}
	m.storageOps.WithLabelValues(driver, op, result).Observe(took.Seconds())
}
