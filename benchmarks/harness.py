"""Timing, result tables and the machine description shared by the benchmark cases.

Timing: every side of a comparison is warmed up, calibrated so that one sample lasts at least
``min_sample_time`` seconds, and then sampled in turns (ours, theirs, ours, theirs ...) so that load
from other processes falls on all sides alike. A sample is the mean time per call over its
repetitions; a side's result is the median of its samples, and its noise the interquartile range
of the samples relative to that median.
"""
from __future__ import annotations

import datetime
import gc
import math
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

# A side is a callable doing one unit of work. It returns None to be timed from outside, or a
# mapping of phase name to seconds when it times its phases itself (to leave setup untimed).
SideFn = Callable[[], "Mapping[str, float] | None"]
TOTAL = "total"


@dataclass(frozen=True)
class Settings:
    """How hard to measure: samples per side, the shortest sample, warm-up calls per side, and
    the pause before each sample (``settle`` seconds, spent busy on this thread)."""

    samples: int
    min_sample_time: float
    warmup: int
    quick: bool
    settle: float


FULL = Settings(samples=9, min_sample_time=0.025, warmup=2, quick=False, settle=0.02)
QUICK = Settings(samples=3, min_sample_time=0.002, warmup=1, quick=True, settle=0.0)


@dataclass
class Stats:
    """Per-call seconds of each sample for one side (and each phase it reported)."""

    phases: dict[str, list[float]] = field(default_factory=dict)
    reps: int = 1

    def median(self, phase: str = TOTAL) -> float:
        """Median over samples of the mean seconds per call."""
        return statistics.median(self.phases[phase])

    def best(self, phase: str = TOTAL) -> float:
        """The fastest sample: what a quiet machine would show, as a cross-check of the median."""
        return min(self.phases[phase])

    def noise(self, phase: str = TOTAL) -> float:
        """Interquartile range of the samples over their median (0.1 = 10 %)."""
        values = self.phases[phase]
        if len(values) < 3:
            return 0.0
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return (q3 - q1) / self.median(phase)


def _call(fn: SideFn, reps: int) -> dict[str, float]:
    """Run ``fn`` ``reps`` times; the summed seconds per phase (``total`` always present)."""
    sums: dict[str, float] = {}
    start = time.perf_counter()
    for _ in range(reps):
        phases = fn()
        if phases is not None:
            for name, seconds in phases.items():
                sums[name] = sums.get(name, 0.0) + seconds
    elapsed = time.perf_counter() - start
    sums[TOTAL] = sum(sums.values()) if sums else elapsed
    return sums


def _settle(seconds: float) -> None:
    """Wait busily before a sample. PyTorch's OpenMP workers spin for several milliseconds after
    its last call and take the second core from whatever runs next: without this pause, our
    two-thread optimizer step measured 280 µs right after a PyTorch sample and 210 µs on its own,
    while PyTorch's times do not change. Busy, not asleep, so the core does not clock down."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _calibrate(fn: SideFn, min_time: float) -> int:
    """Repetitions per sample so that one sample takes at least ``min_time`` of measured time."""
    reps = 1
    while True:
        measured = _call(fn, reps)[TOTAL]
        if measured >= min_time / 4 or reps >= 1 << 20:
            return max(1, math.ceil(reps * min_time / max(measured, 1e-9)))
        reps *= 4


def interleave(sides: Mapping[str, SideFn], settings: Settings) -> dict[str, Stats]:
    """Warm up and calibrate every side, then take ``settings.samples`` samples of each in turns.

    The objects alive before sampling (the libraries' import-time objects, the data) are frozen
    out of the garbage collector meanwhile: otherwise a full collection, triggered at random by
    whichever side allocates, walks them all and adds tens of milliseconds to that sample.
    """
    stats = {}
    for name, fn in sides.items():
        for _ in range(settings.warmup):
            fn()
        stats[name] = Stats(reps=_calibrate(fn, settings.min_sample_time))
    gc.collect()
    gc.freeze()
    try:
        for _ in range(settings.samples):
            for name, fn in sides.items():
                _settle(settings.settle)
                s = stats[name]
                for phase, seconds in _call(fn, s.reps).items():
                    s.phases.setdefault(phase, []).append(seconds / s.reps)
    finally:
        gc.unfreeze()
    return stats


@contextmanager
def one_thread(*libraries: Any) -> Iterator[None]:
    """Run the block with each library that has ``set_num_threads`` (torch, tinygrad_lr; None is
    skipped) limited to one thread, and restore their limits after."""
    saved = [(lib, lib.get_num_threads()) for lib in libraries
             if lib is not None and hasattr(lib, "set_num_threads")]
    for lib, _ in saved:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, count in saved:
            lib.set_num_threads(count)


# ---- results ------------------------------------------------------------------------------------
@dataclass
class Check:
    """One target: ``value`` (a ratio of medians, or a size for memory) must be at most ``limit``;
    ``best`` is the same ratio taken over each side's fastest sample, for reference."""

    case: str
    what: str
    value: float | None
    limit: float
    rule: str
    best: float | None = None

    @property
    def status(self) -> str:
        """PASS, MISS, or n/a when the value could not be measured."""
        if self.value is None or math.isnan(self.value):
            return "n/a"
        return "PASS" if self.value <= self.limit else "MISS"


@dataclass
class Table:
    """One case's results: a title, column headers, rows of already formatted cells, notes."""

    case: str
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Aligned plain-text rendering for the terminal."""
        widths = [max(len(str(r[i])) for r in [self.headers] + self.rows)
                  for i in range(len(self.headers))]
        line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
        out = [f"== {self.case}: {self.title}", line(self.headers),
               line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        out += [f"   note: {n}" for n in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        """GitHub-flavoured Markdown rendering for RESULTS.md."""
        out = [f"### {self.case}: {self.title}", "",
               "| " + " | ".join(self.headers) + " |",
               "|" + "|".join("---" for _ in self.headers) + "|"]
        out += ["| " + " | ".join(str(c) for c in r) + " |" for r in self.rows]
        if self.notes:
            out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out)


def fmt_time(seconds: float | None) -> str:
    """Seconds in the most readable unit (ns, µs, ms or s), or n/a."""
    if seconds is None or math.isnan(seconds):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(value: float | None) -> str:
    """A ratio like ``0.83x``, or n/a."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.2f}x"


def fmt_noise(*stats: Stats | None, phase: str = TOTAL) -> str:
    """The largest relative interquartile range among the measured sides, as a percentage."""
    values = [s.noise(phase) for s in stats if s is not None and phase in s.phases]
    return f"±{100 * max(values):.0f}%" if values else "n/a"


def best_ratio(stats: Mapping[str, Stats], ours: str, reference: str,
               phase: str = TOTAL) -> float | None:
    """Fastest sample of ``ours`` over fastest sample of ``reference`` (None if one is missing)."""
    if ours not in stats or reference not in stats:
        return None
    return ratio(stats[ours].best(phase), stats[reference].best(phase))


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either side is missing."""
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---- environment --------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"


def _thread_pools() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [f"{p.get('internal_api')}: {p.get('num_threads')} threads "
             f"({os.path.basename(p.get('filepath', ''))})" for p in threadpool_info()]
    return "; ".join(pools) or "none found"


def environment(torch: Any, torch_disabled: bool) -> dict[str, str]:
    """The machine, library versions, thread counts and date, for the results header."""
    if torch is not None:
        torch_version = torch.__version__
    else:
        torch_version = "not used (--no-torch)" if torch_disabled else "not installed"
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": _ram_gib(),
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch_version,
        "scikit-learn": _version("sklearn"),
        "tinygrad_lr": _version("tinygrad_lr"),
        "torch threads": str(torch.get_num_threads()) if torch is not None else "n/a",
        "thread pools (threadpoolctl)": _thread_pools(),
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks"] + sys.argv[1:]),
    }


def load_average() -> str:
    """The 1-minute load average now, to show how busy the machine was."""
    return f"{os.getloadavg()[0]:.2f}"


def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds all processes have used, and the hypervisor has taken, since boot; this
    process's CPU seconds with its finished children's), or None without Linux's /proc/stat."""
    try:
        with open("/proc/stat") as f:
            # cpu user nice system idle iowait irq softirq steal (guest time is inside user)
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(ticks) < 8:
        return None
    busy = sum(ticks) - ticks[3] - ticks[4]
    own = os.times()
    return (busy / os.sysconf("SC_CLK_TCK"),
            own.user + own.system + own.children_user + own.children_system)


class OtherLoad:
    """The share of the machine's CPU time that other processes (and the hypervisor) took from
    creation to :meth:`share`. Unlike the load average, it leaves out the benchmark's own
    threads, which alone keep a 2-core machine's load near 1."""

    def __init__(self) -> None:
        self._start = _cpu_seconds()
        self._wall = time.perf_counter()

    def share(self) -> float | None:
        """Other processes' CPU seconds over the wall time times the cores (None off Linux)."""
        end = _cpu_seconds()
        wall = time.perf_counter() - self._wall
        if self._start is None or end is None or wall <= 0:
            return None
        others = (end[0] - self._start[0]) - (end[1] - self._start[1])
        return max(0.0, others) / (wall * (os.cpu_count() or 1))
