package observe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/expiry"
	"github.com/ehcert/ehcert/soap"
)

// Metrics are ehcert's Prometheus collectors. Build them with NewMetrics (or use Default) and expose them with
// Register or Handler. The methods are safe for concurrent use and do nothing on a nil *Metrics.
//
//	ehcert_ehealth_calls_total{service,operation}                   SOAP exchanges with CertRA/EtkRA
//	ehcert_ehealth_errors_total{service,operation,code}             failed exchanges by ErrorCode
//	ehcert_ehealth_call_duration_seconds{service,operation}         histogram
//	ehcert_etkdepot_requests_total{endpoint,status}                 ETK Depot requests (status "error" without answer)
//	ehcert_etkdepot_request_duration_seconds{endpoint}              histogram
//	ehcert_etk_cache_events_total{backend,event}                    hit, miss, stale, ... (CacheEvent)
//	ehcert_etk_lookups_total{result}                                fresh, stale (served while the depot failed), error
//	ehcert_certificate_days_to_expiry{keystore,kind,alias,current}  days left (negative: expired)
//	ehcert_certificate_not_after_seconds{keystore,kind,alias,current} Unix time of not-after
//	ehcert_check_status{keystore}                                   0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	ehcert_check_timestamp_seconds{keystore}                        when the keystore was last checked
type Metrics struct {
	Calls          *prometheus.CounterVec
	Errors         *prometheus.CounterVec
	Duration       *prometheus.HistogramVec
	DepotRequests  *prometheus.CounterVec
	DepotDuration  *prometheus.HistogramVec
	CacheEvents    *prometheus.CounterVec
	Lookups        *prometheus.CounterVec
	DaysToExpiry   *prometheus.GaugeVec
	NotAfter       *prometheus.GaugeVec
	CheckStatus    *prometheus.GaugeVec
	CheckTimestamp *prometheus.GaugeVec
}

// NewMetrics returns a new set of collectors, not registered anywhere.
func NewMetrics() *Metrics {
	buckets := []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	certLabels := []string{"keystore", "kind", "alias", "current"}
	return &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ehcert_ehealth_calls_total",
			Help: "SOAP exchanges with the eHealth CertRA and EtkRA services."}, []string{"service", "operation"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ehcert_ehealth_errors_total",
			Help: "Failed SOAP exchanges, by eHealth code or class of failure."}, []string{"service", "operation", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ehcert_ehealth_call_duration_seconds",
			Help: "Duration of SOAP exchanges.", Buckets: buckets}, []string{"service", "operation"}),
		DepotRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ehcert_etkdepot_requests_total",
			Help: "ETK Depot requests, by endpoint and HTTP status (\"error\": no answer)."}, []string{"endpoint", "status"}),
		DepotDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ehcert_etkdepot_request_duration_seconds",
			Help: "Duration of ETK Depot requests.", Buckets: buckets}, []string{"endpoint"}),
		CacheEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ehcert_etk_cache_events_total",
			Help: "ETK cache events (hit, miss, stale, wait, local, ...) by backend."}, []string{"backend", "event"}),
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ehcert_etk_lookups_total",
			Help: "ETK lookups by result: fresh, stale (served from the cache while the depot failed), error."}, []string{"result"}),
		DaysToExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ehcert_certificate_days_to_expiry",
			Help: "Whole days until the certificate of a keystore entry expires (negative: expired)."}, certLabels),
		NotAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ehcert_certificate_not_after_seconds",
			Help: "Not-after of the certificate of a keystore entry, as a Unix time."}, certLabels),
		CheckStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ehcert_check_status",
			Help: "Outcome of the last expiry check of a keystore: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."}, []string{"keystore"}),
		CheckTimestamp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ehcert_check_timestamp_seconds",
			Help: "When the keystore was last checked, as a Unix time."}, []string{"keystore"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Calls, m.Errors, m.Duration, m.DepotRequests, m.DepotDuration, m.CacheEvents,
		m.Lookups, m.DaysToExpiry, m.NotAfter, m.CheckStatus, m.CheckTimestamp}
}

// Register registers every collector of m on reg. Registering twice on one registry fails (with the
// prometheus.AlreadyRegisteredError of the first collector); collectors already registered stay registered.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Default is the Metrics of the package-level functions, Handler and `ehcert serve-metrics`.
var Default = NewMetrics()

// Register registers Default on reg, for an integration engine that serves its own registry.
func Register(reg prometheus.Registerer) error { return Default.Register(reg) }

var (
	handlerOnce sync.Once
	handler     http.Handler
)

// Handler serves Default, with the Go runtime and process collectors, in the Prometheus exposition format from
// a registry of its own (it does not touch prometheus.DefaultRegisterer).
func Handler() http.Handler {
	handlerOnce.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		_ = Default.Register(reg)
		handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	})
	return handler
}

// ObserveExchange counts one SOAP exchange (Observer.Exchange calls it).
func (m *Metrics) ObserveExchange(ex *soap.Exchange) {
	if m == nil || ex == nil {
		return
	}
	svc, op := serviceName(ex.Operation), ex.Operation.Name
	m.Calls.WithLabelValues(svc, op).Inc()
	m.Duration.WithLabelValues(svc, op).Observe(ex.Duration.Seconds())
	if ex.Err != nil {
		m.Errors.WithLabelValues(svc, op, ErrorCode(ex.Err)).Inc()
	}
}

func (m *Metrics) observeDepot(endpoint string, status int, err error, d time.Duration) {
	if m == nil {
		return
	}
	s := "error"
	if err == nil {
		s = strconv.Itoa(status)
	}
	m.DepotRequests.WithLabelValues(endpoint, s).Inc()
	m.DepotDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// CacheEvent counts a cache event of a backend ("memory", "dir", "redis"). Wire a rediscache.Cache with
//
//	rc.OnEvent = func(e rediscache.Event) { observe.Default.CacheEvent("redis", string(e)) }
func (m *Metrics) CacheEvent(backend, event string) {
	if m == nil {
		return
	}
	m.CacheEvents.WithLabelValues(backend, event).Inc()
}

// ETKLookup counts the outcome of an etkdepot lookup (Client.ETKs): an error, an answer served stale from the
// cache because the depot failed, or a fresh answer.
func (m *Metrics) ETKLookup(entries []etkdepot.Entry, err error) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.Lookups.WithLabelValues("error").Inc()
	case len(entries) > 0 && entries[0].Stale:
		m.Lookups.WithLabelValues("stale").Inc()
	default:
		m.Lookups.WithLabelValues("fresh").Inc()
	}
}

// InstrumentCache wraps an etkdepot.Cache so that its Gets are counted as "hit" or "miss" (and failures as
// "error") under backend. The etkdepot client keeps decoded answers in memory too: this counts what reaches the
// Cache, that is lookups not answered from the client's memory.
func (m *Metrics) InstrumentCache(backend string, c etkdepot.Cache) etkdepot.Cache {
	return &instrumented{Cache: c, m: m, backend: backend}
}

type instrumented struct {
	etkdepot.Cache
	m       *Metrics
	backend string
}

// Get counts the outcome of the wrapped Get.
func (i *instrumented) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := i.Cache.Get(ctx, key)
	switch {
	case err == nil:
		i.m.CacheEvent(i.backend, "hit")
	case errors.Is(err, etkdepot.ErrCacheMiss):
		i.m.CacheEvent(i.backend, "miss")
	default:
		i.m.CacheEvent(i.backend, "error")
	}
	return data, err
}

// SetExpiry publishes an expiry report: days to expiry and not-after of every entry, the check's status and
// time, labelled with the report's keystore (or name when the report has none). The entries of an earlier
// report of the same keystore are replaced.
func (m *Metrics) SetExpiry(name string, r *expiry.Report) {
	if m == nil || r == nil {
		return
	}
	ks := r.Keystore
	if ks == "" {
		ks = name
	}
	m.DaysToExpiry.DeletePartialMatch(prometheus.Labels{"keystore": ks})
	m.NotAfter.DeletePartialMatch(prometheus.Labels{"keystore": ks})
	for _, it := range r.Items {
		l := []string{ks, it.Kind, it.Alias, strconv.FormatBool(it.Current)}
		m.DaysToExpiry.WithLabelValues(l...).Set(float64(it.DaysLeft))
		m.NotAfter.WithLabelValues(l...).Set(float64(it.NotAfter.Unix()))
	}
	m.CheckStatus.WithLabelValues(ks).Set(float64(r.Status))
	m.CheckTimestamp.WithLabelValues(ks).Set(float64(r.CheckedAt.Unix()))
}

// WatchExpiry runs check at once and then every interval until ctx is done, publishing each report with
// SetExpiry (name labels a report without keystore path). A failed check publishes its UNKNOWN report. It
// returns ctx's error. `ehcert serve-metrics` runs one per keystore.
func (m *Metrics) WatchExpiry(ctx context.Context, name string, interval time.Duration, check func(context.Context) (*expiry.Report, error)) error {
	if interval <= 0 {
		interval = time.Hour
	}
	for {
		r, _ := check(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.SetExpiry(name, r)
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ListenAndServe serves h (Handler() for the metrics) at addr until ctx is done, then shuts down gracefully.
// ready, when not nil, receives the address actually listened on (useful with port 0).
func ListenAndServe(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(l.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}
