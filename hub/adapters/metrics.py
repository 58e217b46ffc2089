"""Process-wide counters and gauges, rendered in the Prometheus text format at /metrics."""

from __future__ import annotations

import threading
from collections import defaultdict

_HELP = {
    "hub_connector_consumed_total": "Records consumed per connector.",
    "hub_connector_applied_total": "Events applied per connector.",
    "hub_connector_duplicates_total": "Redelivered or duplicated event ids that changed nothing.",
    "hub_connector_stale_total": "Events older than the applied sequence for their subject.",
    "hub_connector_deadlettered_total": "Records sent to the dead-letter topic.",
    "hub_connector_lag": "Records behind the partition's high watermark.",
    "hub_connector_last_progress_seconds": "Unix time of the connector's last completed poll.",
    "hub_connector_batch_retry_seconds": "How long the connector has been retrying its current batch (0: not retrying).",
    "hub_connector_log_resets_total": "Partitions consumed again from the log's start because the broker's log started over.",
    "hub_component_ready": "1 when the component's /readyz check is ok, else 0 (connectors, broker, outbox relay).",
    "hub_mismatches_opened_total": "Mismatches opened, by kind.",
    "hub_mismatches_resolved_total": "Mismatches resolved, by kind.",
    "hub_outbox_backlog": "Outbox rows not yet acknowledged by the broker.",
    "hub_outbox_published_total": "Outbox rows published and acknowledged.",
}


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
        self._gauges: dict[str, dict[tuple, float]] = defaultdict(dict)

    def inc(self, name: str, value: float = 1, **labels) -> None:
        if value:
            with self._lock:
                self._counters[name][tuple(sorted(labels.items()))] += value

    def set(self, name: str, value: float, **labels) -> None:
        with self._lock:
            self._gauges[name][tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels) -> float:
        key = tuple(sorted(labels.items()))
        with self._lock:
            if name in self._counters:
                return self._counters[name].get(key, 0.0)
            return self._gauges.get(name, {}).get(key, 0.0)

    def render(self) -> str:
        lines = []
        with self._lock:
            for kind, store in (("counter", self._counters), ("gauge", self._gauges)):
                for name in sorted(store):
                    lines.append(f"# HELP {name} {_HELP.get(name, name)}")
                    lines.append(f"# TYPE {name} {kind}")
                    for labels, v in sorted(store[name].items()):
                        lab = ",".join(f'{k}="{val}"' for k, val in labels)
                        lines.append(f"{name}{{{lab}}} {v:g}" if lab else f"{name} {v:g}")
        return "\n".join(lines) + "\n"


METRICS = Metrics()
