"""Prometheus text (0.0.4) and OpenMetrics (1.0) exposition, rendered off the event loop.

``snapshot()`` copies every value on the loop (cheap: a list per metric); ``render()`` turns the
copy into text in a worker thread, so a scrape of thousands of series never stalls requests.
"""

from __future__ import annotations

import gzip
import math
from typing import Any, NamedTuple

from .registry import Counter, Histogram, Metric

#: the OpenMetrics info type (``target_info``); rendered as a gauge in Prometheus text
INFO = "info"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class Family(NamedTuple):
    name: str
    kind: str
    help: str
    #: (labels, value) for counters and gauges; (labels, (bucket counts, sum, bounds,
    #: exemplars per bucket or None)) for histograms
    samples: list[tuple[dict[str, str], Any]]


def snapshot(metrics: list[Metric]) -> list[Family]:
    families = []
    for metric in metrics:
        if isinstance(metric, Histogram):
            samples = [
                (
                    labels,
                    (
                        list(child.counts),
                        child.sum,
                        metric.bounds,
                        None if child.exemplars is None else list(child.exemplars),
                    ),
                )
                for labels, child in metric.series()
            ]
        else:
            samples = [(labels, child.value) for labels, child in metric.series()]
        families.append(Family(metric.name, metric.kind, metric.help, samples))
    return families


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str], extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels.items()]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}.0"
    return repr(float(value))


def render(families: list[Family], *, openmetrics: bool = False) -> str:
    lines: list[str] = []
    out = lines.append
    for family in families:
        name, kind = family.name, family.kind
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        # Prometheus text names a counter's family after its sample (<name>_total);
        # OpenMetrics names it without the suffix
        head = f"{name}_total" if kind == Counter.kind and not openmetrics else name
        shown = kind
        if kind == INFO and not openmetrics:
            # Prometheus text has no info type: a gauge named after its sample, always 1
            head, shown = f"{name}_info", "gauge"
        out(f"# HELP {head} {help_text}")
        out(f"# TYPE {head} {shown}")
        if kind == INFO:
            for labels, value in family.samples:
                out(f"{name}_info{_labels(labels)} {_number(value)}")
        elif kind == Counter.kind:
            for labels, value in family.samples:
                out(f"{name}_total{_labels(labels)} {_number(value)}")
        elif kind == Histogram.kind:
            for labels, (counts, total, bounds, exemplars) in family.samples:
                running = 0
                for i, (bound, count) in enumerate(zip((*bounds, math.inf), counts, strict=True)):
                    running += count
                    le = 'le="' + _number(bound) + '"'
                    line = f"{name}_bucket{_labels(labels, le)} {running}"
                    # exemplars exist only in OpenMetrics; Prometheus text has no syntax for them
                    if openmetrics and exemplars is not None and exemplars[i] is not None:
                        value, trace_id, span_id, stamp = exemplars[i]
                        line += (
                            f' # {{trace_id="{trace_id}",span_id="{span_id}"}} '
                            f"{_number(value)} {stamp:.3f}"
                        )
                    out(line)
                out(f"{name}_sum{_labels(labels)} {_number(total)}")
                out(f"{name}_count{_labels(labels)} {running}")
        else:
            for labels, value in family.samples:
                out(f"{name}{_labels(labels)} {_number(value)}")
    if openmetrics:
        out("# EOF")
    return "\n".join(lines) + "\n"


def negotiate(accept: str) -> tuple[bool, str]:
    """(openmetrics?, content type) for an Accept header."""
    if "application/openmetrics-text" in accept:
        return True, OPENMETRICS_TYPE
    return False, TEXT_TYPE


def encode(text: str, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """The body, gzipped when the scraper accepts it."""
    body = text.encode()
    if "gzip" in accept_encoding:
        return gzip.compress(body, compresslevel=5), {"content-encoding": "gzip"}
    return body, {}
