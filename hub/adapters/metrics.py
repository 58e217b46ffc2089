"""Process-wide counters and gauges (prometheus_client), rendered in the Prometheus text format at /metrics.

One process (`hub up` with one HTTP worker, the tests) keeps them in memory. With ``HUB_HTTP_WORKERS`` > 1 the
HTTP workers are other processes than the one running connectors and relay: the composition root then calls
``use_multiprocess_dir`` before anything counts, every process writes its values to files in that directory
(prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``), and whichever worker answers /metrics merges
them — counters and histograms summed over all processes, gauges the live processes' most recent value (those of
``_GAUGE_MODE``: one series per live process, labelled ``pid``)."""

from __future__ import annotations

import glob
import os
import re
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

disable_created_metrics()  # no `*_created` series: the names and meanings stay those of docs/operations.md

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name: (type, help, label names). The names and meanings are part of docs/operations.md.
_SPEC: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "hub_connector_consumed_total": ("counter", "Records consumed per connector.", ("connector",)),
    "hub_connector_applied_total": ("counter", "Events applied per connector.", ("connector",)),
    "hub_connector_duplicates_total": ("counter", "Redelivered or duplicated event ids that changed nothing.",
                                       ("connector",)),
    "hub_connector_stale_total": ("counter", "Events older than the applied sequence for their subject.", ("connector",)),
    "hub_connector_deadlettered_total": ("counter", "Records sent to the dead-letter topic.", ("connector",)),
    "hub_connector_lag": ("gauge", "Records behind the partition's high watermark.", ("connector", "partition")),
    "hub_connector_last_progress_seconds": ("gauge", "Unix time of the connector's last completed poll.", ("connector",)),
    "hub_connector_batch_retry_seconds": ("gauge", "How long the connector has been retrying its current batch "
                                                   "(0: not retrying).", ("connector",)),
    "hub_connector_log_resets_total": ("counter", "Partitions consumed again from the log's start because the broker's "
                                                  "log started over.", ("connector",)),
    "hub_component_ready": ("gauge", "1 when the component's /readyz check is ok, else 0 (connectors, broker, outbox "
                                     "relay).", ("component",)),
    "hub_mismatches_opened_total": ("counter", "Mismatches opened, by kind.", ("kind",)),
    "hub_mismatches_resolved_total": ("counter", "Mismatches resolved, by kind.", ("kind",)),
    "hub_outbox_backlog": ("gauge", "Outbox rows not yet acknowledged by the broker.", ()),
    "hub_outbox_published_total": ("counter", "Outbox rows published and acknowledged.", ()),
    "hub_outbox_refused": ("gauge", "Outbox rows the broker refused for good (too large, invalid), set aside: not "
                                    "published until `hub outbox retry`; later events of their key wait behind them.", ()),
    "hub_outbox_refusals_total": ("counter", "Outbox rows set aside as refused by the broker.", ()),
    "hub_gc_pause_seconds": ("histogram", "Garbage-collector pauses of the hub's processes, by generation (2: a full "
                                          "collection).", ("generation",)),
    "hub_gc_frozen_objects": ("gauge", "Objects the process froze out of the garbage collector's reach once started "
                                       "(0: not frozen).", ()),
}
# Gauges of which every process has its own value: one series per live process (label ``pid`` when several processes
# count). Every other gauge is set by one process: the live processes' most recent value.
_GAUGE_MODE = {"hub_gc_frozen_objects": "liveall"}
# Buckets of the histograms (seconds).
_BUCKETS = {"hub_gc_pause_seconds": (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)}

_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Metrics:
    """The hub's metrics by name (``_SPEC``); labels as keyword arguments."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry = CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}
        # an HTTP worker process of `hub up` inherits the directory its parent chose (use_multiprocess_dir)
        self._dir: str | None = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

    def use_multiprocess_dir(self, path: str) -> None:
        """Count in files under ``path`` (shared with the HTTP worker processes, which inherit the environment).
        Called by the composition root before anything counts; metrics counted before are forgotten."""
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        values.ValueClass = values.get_value_class()  # prometheus_client chose its value class at import
        with self._lock:
            self._dir = path
            self._registry = CollectorRegistry(auto_describe=True)
            self._metrics = {}

    def _metric(self, name: str) -> Counter | Gauge | Histogram:
        m = self._metrics.get(name)
        if m is None:
            with self._lock:
                m = self._metrics.get(name)
                if m is None:
                    kind, help_, labels = _SPEC[name]
                    if kind == "counter":
                        m = Counter(name, help_, labels, registry=self._registry)
                    elif kind == "histogram":
                        m = Histogram(name, help_, labels, registry=self._registry, buckets=_BUCKETS[name])
                    else:
                        m = Gauge(name, help_, labels, registry=self._registry,
                                  multiprocess_mode=_GAUGE_MODE.get(name, "livemostrecent"))
                    self._metrics[name] = m
        return m

    def _child(self, name: str, labels: dict[str, object]) -> Counter | Gauge | Histogram:
        m = self._metric(name)
        return m.labels(**{k: str(v) for k, v in labels.items()}) if labels else m

    def inc(self, name: str, value: float = 1, **labels: object) -> None:
        if value:
            self._child(name, labels).inc(value)

    def set(self, name: str, value: float, **labels: object) -> None:
        child = self._child(name, labels)
        assert isinstance(child, Gauge), f"{name} is a counter"
        child.set(value)

    def observe(self, name: str, value: float, **labels: object) -> None:
        child = self._child(name, labels)
        assert isinstance(child, Histogram), f"{name} is not a histogram"
        child.observe(value)

    def get(self, name: str, **labels: object) -> float:
        """This process's value (0 when never counted)."""
        self._metric(name)
        v = self._registry.get_sample_value(name, {k: str(val) for k, val in labels.items()})
        return v or 0.0

    def render(self) -> str:
        """The Prometheus text exposition (label values escaped): this process's metrics, or in multiprocess mode
        every process's merged (files of worker processes that died are marked dead first)."""
        from hub.adapters.heap import publish

        publish()  # this process's collector pauses up to now
        if self._dir is None:
            return generate_latest(self._registry).decode("utf-8")
        for path in glob.glob(os.path.join(self._dir, "gauge_live*_*.db")):
            m = _LIVE_GAUGE_FILE.search(os.path.basename(path))
            if m and not _alive(int(m.group(1))):
                mark_process_dead(int(m.group(1)), self._dir)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._dir)
        return generate_latest(registry).decode("utf-8")


METRICS = Metrics()
