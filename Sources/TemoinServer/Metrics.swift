import Prometheus

/// The service's Prometheus metrics (its own registry, so several services can live in one process).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let chunksAppended: Counter
    let chunksDuplicate: Counter
    let chunksConflict: Counter
    let chunkBytes: Counter
    let refused: Counter
    let commitLatency: DurationHistogram
    let ledgerSize: Gauge
    let staffAuthFailures: Counter
    let staffRequests: Counter
    let staffRefused: Counter
    /// The live-location page's answers (Docs/fanout.md): live, unknown (404), gone (410),
    /// unavailable (503), and views that could not be recorded. Nothing else is kept of a 404 or 410.
    let livePageLive: Counter
    let livePageUnknown: Counter
    let livePageGone: Counter
    let livePageUnavailable: Counter
    let livePageUnrecorded: Counter

    init() {
        let chunks = MetricNameDescriptor(
            namespace: "temoin", metricName: "chunks", unitName: "total",
            helpText: "Audio chunks received, by outcome")
        chunksAppended = registry.makeCounter(descriptor: chunks, labels: [("outcome", "appended")])
        chunksDuplicate = registry.makeCounter(descriptor: chunks, labels: [("outcome", "duplicate")])
        chunksConflict = registry.makeCounter(descriptor: chunks, labels: [("outcome", "conflict")])
        chunkBytes = registry.makeCounter(
            descriptor: .init(
                namespace: "temoin", metricName: "chunk_bytes", unitName: "total",
                helpText: "Bytes of audio chunks received"))
        refused = registry.makeCounter(
            descriptor: .init(
                namespace: "temoin", metricName: "requests_refused", unitName: "total",
                helpText: "Device requests answered with a problem document"))
        commitLatency = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "temoin", metricName: "chunk_commit", unitName: "seconds",
                helpText: "From chunk received to receipt (encode, blobs, durable commit)"),
            buckets: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            ])
        ledgerSize = registry.makeGauge(
            descriptor: .init(
                namespace: "temoin", metricName: "ledger", unitName: "entries",
                helpText: "Entries in the ledger"))
        staffAuthFailures = registry.makeCounter(
            descriptor: .init(
                namespace: "temoin", metricName: "staff_auth_failures", unitName: "total",
                helpText: "Staff requests without a valid token (no token, unknown or revoked)"))
        staffRequests = registry.makeCounter(
            descriptor: .init(
                namespace: "temoin", metricName: "staff_requests", unitName: "total",
                helpText: "Staff requests served after their access was recorded"))
        staffRefused = registry.makeCounter(
            descriptor: .init(
                namespace: "temoin", metricName: "staff_forbidden", unitName: "total",
                helpText: "Staff requests refused because the role may not (each recorded in the ledger)"))
        let live = MetricNameDescriptor(
            namespace: "temoin", metricName: "live_page_requests", unitName: "total",
            helpText: "Requests of the live-location page, by outcome (unrecorded: a view not recorded)")
        livePageLive = registry.makeCounter(descriptor: live, labels: [("outcome", "live")])
        livePageUnknown = registry.makeCounter(descriptor: live, labels: [("outcome", "unknown")])
        livePageGone = registry.makeCounter(descriptor: live, labels: [("outcome", "gone")])
        livePageUnavailable = registry.makeCounter(descriptor: live, labels: [("outcome", "unavailable")])
        livePageUnrecorded = registry.makeCounter(descriptor: live, labels: [("outcome", "unrecorded")])
    }
}
