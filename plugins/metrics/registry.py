"""Counters, gauges and histograms with a hot path of a dict lookup and an addition.

``metric.labels("GET", "/users/{id}")`` returns a child bound to those label values (cached:
bind once, keep it, and ``inc()`` / ``observe()`` cost ~0.1 µs). Each metric holds at most
``max_series`` children; label values past the cap all land in one series whose labels are empty
and ``overflow="true"`` — a label bug (a raw path, a user id) degrades one metric instead of
taking the process down. Histogram buckets are in **seconds**.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from mega import MegaConfigError, get_logger

#: request/job latencies, in seconds (OpenTelemetry's defaults are tuned for milliseconds)
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DEFAULT_MAX_SERIES = 2_000
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class GaugeChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = value

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class HistogramChild:
    __slots__ = ("bounds", "counts", "exemplars", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last is +Inf
        self.sum = 0.0
        #: per bucket, the last observation made inside a sampled trace:
        #: (value, trace id, span id, unix time); None until there is one
        self.exemplars: list[tuple[float, str, str, float] | None] | None = None

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def observe_exemplar(self, value: float, trace_id: str, span_id: str) -> None:
        """``observe``, keeping this observation as its bucket's exemplar: the trace to open
        when a latency bucket looks wrong."""
        index = bisect_left(self.bounds, value)
        self.counts[index] += 1
        self.sum += value
        if self.exemplars is None:
            self.exemplars = [None] * len(self.counts)
        self.exemplars[index] = (value, trace_id, span_id, time.time())


class Metric:
    """A named family of series, one per combination of label values."""

    kind: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        *,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if not NAME_RE.fullmatch(name):
            raise MegaConfigError(
                "metrics.invalid_name",
                f"metric name {name!r}: letters, digits, '_' and ':' (not first a digit)",
                {"name": name},
            )
        for label in labelnames:
            if not LABEL_RE.fullmatch(label) or label.startswith("__") or label == "overflow":
                raise MegaConfigError(
                    "metrics.invalid_label",
                    f"metric {name!r}: label name {label!r} is invalid (letters, digits, '_'; "
                    "not starting with '__'; 'overflow' is reserved)",
                    {"name": name, "label": label},
                )
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self.max_series = max_series
        self.children: dict[tuple[str, ...], Any] = {}
        self.overflow: Any = None
        self._warned = False
        if not self.labelnames:
            self.children[()] = self._new_child()

    def _new_child(self) -> Any:
        raise NotImplementedError

    def labels(self, *values: Any) -> Any:
        """The child for these label values (in ``labelnames`` order), made on first use."""
        key = tuple(str(v) for v in values)
        child = self.children.get(key)
        if child is not None:
            return child
        if len(key) != len(self.labelnames):
            raise MegaConfigError(
                "metrics.wrong_labels",
                f"metric {self.name!r} has labels {self.labelnames}; got {len(key)} value(s)",
                {"name": self.name},
            )
        if len(self.children) >= self.max_series:
            if self.overflow is None:
                self.overflow = self._new_child()
            if not self._warned:
                self._warned = True
                get_logger(component="metrics").warning(
                    "metrics.cardinality_cap",
                    metric=self.name,
                    max_series=self.max_series,
                    example=dict(zip(self.labelnames, key, strict=True)),
                )
            return self.overflow
        child = self.children[key] = self._new_child()
        return child

    def series(self) -> list[tuple[dict[str, str], Any]]:
        """(labels, child) pairs, the overflow series last (a snapshot: safe to render later)."""
        out = [
            (dict(zip(self.labelnames, key, strict=True)), child)
            for key, child in list(self.children.items())
        ]
        if self.overflow is not None:
            labels = dict.fromkeys(self.labelnames, "")
            labels["overflow"] = "true"
            out.append((labels, self.overflow))
        return out


class Counter(Metric):
    """Only goes up. Exposed as ``<name>_total``."""

    kind = "counter"

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def inc(self, amount: float = 1.0) -> None:
        """For a metric without labels."""
        self.children[()].inc(amount)


class Gauge(Metric):
    """A value that goes up and down."""

    kind = "gauge"

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def set(self, value: float) -> None:
        self.children[()].set(value)


class Histogram(Metric):
    """Counts of observations per bucket (seconds), their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        bounds = tuple(sorted(float(b) for b in buckets))
        if not bounds or len(set(bounds)) != len(bounds):
            raise MegaConfigError(
                "metrics.invalid_buckets",
                f"histogram {name!r}: buckets must be distinct numbers, got {list(buckets)}",
                {"name": name},
            )
        self.bounds = bounds
        super().__init__(name, help, labelnames, max_series=max_series)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.bounds)

    def observe(self, value: float) -> None:
        self.children[()].observe(value)


M = TypeVar("M", bound=Metric)


class MetricsRegistry:
    """The metrics of one app — ``ctx.metrics``. Asking twice for a name returns the same
    metric; asking with another kind or other labels is an error."""

    def __init__(self, *, max_series: int = DEFAULT_MAX_SERIES) -> None:
        self.max_series = max_series
        self.metrics: dict[str, Metric] = {}

    def _get(self, cls: type[M], name: str, help: str, labels: Sequence[str], **kw: Any) -> M:
        found = self.metrics.get(name)
        if found is not None:
            if type(found) is not cls or found.labelnames != tuple(labels):
                raise MegaConfigError(
                    "metrics.conflict",
                    f"metric {name!r} exists as a {found.kind} with labels {found.labelnames}; "
                    f"asked for a {cls.kind} with labels {tuple(labels)}",
                    {"name": name},
                )
            return found
        metric = cls(name, help, labels, max_series=self.max_series, **kw)
        self.metrics[name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        return self._get(Counter, name, help, labels)

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, name, help, labels)

    def histogram(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self._get(Histogram, name, help, labels, buckets=buckets)
