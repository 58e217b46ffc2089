"""/metrics rendering (hub/adapters/metrics.py): label values escaped, and in multiprocess mode (`hub up` with
HUB_HTTP_WORKERS > 1) every process's counters summed, the gauges of a process that died dropped."""

import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from hub.adapters.metrics import Metrics

ODD = 'say "hi"\nback\\slash'


def _samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_label_values_with_quotes_newlines_and_backslashes_are_escaped():
    m = Metrics()
    m.inc("hub_mismatches_opened_total", 2, kind=ODD)
    text = m.render()
    assert 'hub_mismatches_opened_total{kind="say \\"hi\\"\\nback\\\\slash"} 2.0' in text
    assert _samples(text)[("hub_mismatches_opened_total", (("kind", ODD),))] == 2  # a parser reads the value back


def test_counters_and_gauges_keep_their_names_types_and_values():
    m = Metrics()
    m.inc("hub_connector_applied_total", 3, connector="finance")
    m.inc("hub_connector_applied_total", 0, connector="finance")
    m.set("hub_connector_lag", 5, connector="finance", partition=0)
    m.set("hub_outbox_backlog", 4)
    text = m.render()
    assert "# TYPE hub_connector_applied_total counter" in text and "# TYPE hub_outbox_backlog gauge" in text
    assert "_created" not in text
    assert m.get("hub_connector_applied_total", connector="finance") == 3
    assert m.get("hub_connector_lag", connector="finance", partition="0") == 5
    assert m.get("hub_connector_applied_total", connector="police") == 0
    assert _samples(text)[("hub_outbox_backlog", ())] == 4


_COUNT = textwrap.dedent("""
    import sys
    from hub.adapters.metrics import METRICS
    METRICS.use_multiprocess_dir(sys.argv[1])
    METRICS.inc("hub_connector_applied_total", int(sys.argv[2]), connector="finance")
    METRICS.inc("hub_mismatches_opened_total", kind=sys.argv[3])
    METRICS.set("hub_component_ready", 1, component="connector." + sys.argv[2])
""")

_SCRAPE = textwrap.dedent("""
    import sys
    from hub.adapters.metrics import METRICS
    METRICS.use_multiprocess_dir(sys.argv[1])
    sys.stdout.write(METRICS.render())
""")


def test_multiprocess_mode_sums_every_process_and_drops_the_gauges_of_dead_ones(tmp_path):
    for n in ("3", "4"):  # two processes count, then exit (like a worker that died)
        subprocess.run([sys.executable, "-c", _COUNT, str(tmp_path), n, ODD], check=True)
    text = subprocess.run([sys.executable, "-c", _SCRAPE, str(tmp_path)], check=True, capture_output=True,
                          text=True).stdout
    samples = _samples(text)
    assert samples[("hub_connector_applied_total", (("connector", "finance"),))] == 7
    assert samples[("hub_mismatches_opened_total", (("kind", ODD),))] == 2
    assert 'kind="say \\"hi\\"\\nback\\\\slash"' in text
    assert not [k for k in samples if k[0] == "hub_component_ready"], "gauges of exited processes are dropped"
    assert not list(tmp_path.glob("gauge_live*.db"))  # their files are marked dead (removed)
