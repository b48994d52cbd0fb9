#!/usr/bin/env python3
"""Named link profiles: the one list shared by tests/e2e/test_accuracy.py, bench/accuracy.py
and tests/e2e/netem_rig.py (its LINKS). Python 3 stdlib only.

    from profiles import PROFILES, by_slug        # sys.path.insert(0, "tests/netem")
    for p in PROFILES: p.slug, p.delay_ab, p["jitter"], ...

A profile describes the link (tests/netem/link.py) and the pages on it:

* delay_ab / delay_ba: one-way delay a->b / b->a, ms;
* jitter: +- ms, uniform, drawn per packet and direction;
* loss_ab / loss_ba: percent per packet, per direction;
* allow_reorder: False keeps packet order per direction (the default of every default
  profile: a packet is never released before the previous one of its direction, so jitter
  behaves as a queue and a burst of packets waits behind the slowest one, as on a real
  bottleneck); True lets packets overtake (each draws its delay independently);
* busy: fraction of time the main thread of both pages is blocked (www/test/peer.js
  `?busy=F`: blocks of ~40 ms, like a page loading Pyodide or a game), 0 = idle pages;
* truth_interval_ms / truth_count: the UDP echo ground truth (tests/netem/udp_echo.py, both
  ends and the forwarder SCHED_FIFO) = median of truth_count echoes truth_interval_ms apart.

Ground truth and its noise. The echoes are spaced so that the order-keeping queue does not
hold one echo behind the previous: on the way out, echo n+1 leaves interval ms after echo n
and draws at least delay - J, echo n at most delay + J, so an interval >= 2 J (+ 5 ms margin)
never holds it on a->b. On the way back the spacing is interval +- 2 J, so a return echo is
held now and then (~0.3 % / 1.3 % / 2.5 % of the echoes on jitter5 / 10 / 20; the truth
reports the forwarder's held_ab / held_ba over its run), but a held echo comes back right
behind the previous one: its RTT is at most (2 d + 2 J) - interval <= 2 d - 5 ms, below the
median before and after, so the median does not move (a simulation of the queue rule, 2000
x 400 echoes: shift exactly 0). The median of the sum of two uniform +-J draws has density
1 / (2 J) at its centre, so the standard error of the median of n echoes is J / sqrt(n)
(simulated: 0.246 / 0.491 / 0.983 ms): with 400 echoes (~360-395 answered) 0.26 ms on
jitter5-loss5, 0.50 ms on jitter10, 1.0 ms on jitter20 (~0.01 ms on the clean links: host
scheduling only). netem_rig.udp_truth reports a distribution-free standard error from the
order statistics as `se_ms` (measured here: 0.17-0.32, 0.50-0.58, 0.91-1.39 ms).

Wall time of a truth: count * interval (+ the RTT): 6 s (jitter5-loss5), 10 s (jitter10),
18 s (jitter20), 1 s on the clean links (echoes 5 ms apart: with no jitter nothing is held).

`python3 tests/netem/profiles.py` prints the table.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Profile:
    id: str                    # display name
    slug: str                  # file/test-id friendly name
    delay_ab: float
    delay_ba: float
    jitter: float = 0.0        # +- ms, uniform, per packet and direction
    loss_ab: float = 0.0       # percent
    loss_ba: float = 0.0       # percent
    allow_reorder: bool = False
    busy: float = 0.0          # fraction of time both pages' main thread is blocked
    truth_interval_ms: float = 5.0
    truth_count: int = 200
    note: str = ""

    # dict-style access (the link settings used to be dicts: link["slug"], link["jitter"], ...)
    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key, default=None):
        return getattr(self, key, default)

    def keys(self):
        return [f.name for f in fields(self)]

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def loss(self) -> float:
        """The larger direction's loss (old single-value key; use loss_ab / loss_ba)."""
        return max(self.loss_ab, self.loss_ba)

    @property
    def opts(self) -> dict:
        """Client options of the profile: none, every profile runs the clients' defaults."""
        return {}

    @property
    def clean(self) -> bool:
        return not (self.jitter or self.loss_ab or self.loss_ba or self.busy)

    @property
    def rtt_ms(self) -> float:
        """Configured round trip (the centre of the jitter distribution)."""
        return self.delay_ab + self.delay_ba

    def link_kwargs(self) -> dict:
        """Keyword arguments for Link(...) / Link.reconfigure(...) (no seed)."""
        return {"delay_ab": self.delay_ab, "delay_ba": self.delay_ba, "jitter": self.jitter,
                "loss_ab": self.loss_ab, "loss_ba": self.loss_ba,
                "allow_reorder": self.allow_reorder}

    def truth_se_ms(self, received: int | None = None) -> float | None:
        """Expected standard error of the truth's median from the jitter alone (J / sqrt(n));
        None on a jitter-free link (there only host scheduling adds noise, ~0.01 ms)."""
        if not self.jitter:
            return None
        n = received if received else self.truth_count
        return self.jitter / math.sqrt(max(1, n))


def _jitter_truth(jitter: float) -> dict:
    # echoes >= 2 J + 5 ms apart (see the module docstring), 400 of them
    return {"truth_interval_ms": 2 * jitter + 5, "truth_count": 400}


PROFILES: list[Profile] = [
    Profile("short 2/2", "short", 2, 2, note="same city, wired"),
    Profile("25/25", "25-25", 25, 25, note="same continent"),
    Profile("10/90", "10-90", 10, 90, note="asymmetric path"),
    Profile("100/100", "100-100", 100, 100, note="intercontinental"),
    Profile("25/25 ±5ms 5%", "jitter5-loss5", 25, 25, jitter=5, loss_ab=5, loss_ba=5,
            note="lossy, mild jitter", **_jitter_truth(5)),
    Profile("20/20 ±10ms 1%", "jitter10", 20, 20, jitter=10, loss_ab=1, loss_ba=1,
            note="home wifi", **_jitter_truth(10)),
    Profile("30/30 ±20ms 1%", "jitter20", 30, 30, jitter=20, loss_ab=1, loss_ba=1,
            note="mobile", **_jitter_truth(20)),
    Profile("25/25 20% a->b", "lossy-uplink", 25, 25, loss_ab=20, loss_ba=0,
            note="one bad direction"),
    Profile("25/25 busy 80%", "busy", 25, 25, busy=0.8,
            note="both pages' main thread blocked ~80 % of the time (40 ms blocks)"),
]

# Not in the default list: pick them by slug (bench/accuracy.py --links jitter10-reorder).
EXTRA: list[Profile] = [
    Profile("20/20 ±10ms 1% reorder", "jitter10-reorder", 20, 20, jitter=10, loss_ab=1, loss_ba=1,
            allow_reorder=True, note="jitter10, packets overtake each other",
            # with independent delays nothing is ever held: echoes can be dense
            truth_interval_ms=5, truth_count=400),
]

ALL: list[Profile] = PROFILES + EXTRA


def by_slug(slug: str) -> Profile:
    for p in ALL:
        if p.slug == slug:
            return p
    raise KeyError("no link profile %r (known: %s)" % (slug, ", ".join(p.slug for p in ALL)))


def select(slugs) -> list[Profile]:
    """Profiles by slug (a list or a comma-separated string); empty = the default list."""
    if isinstance(slugs, str):
        slugs = [s for s in slugs.split(",") if s.strip()]
    if not slugs:
        return list(PROFILES)
    return [by_slug(s.strip()) for s in slugs]


def table(profiles=None) -> str:
    profiles = ALL if profiles is None else profiles
    rows = [["slug", "id", "delay a->b / b->a", "jitter", "loss a->b / b->a", "order",
             "busy", "truth", "truth SE (jitter)"]]
    for p in profiles:
        se = p.truth_se_ms()
        rows.append([p.slug, p.id, "%g / %g ms" % (p.delay_ab, p.delay_ba),
                     "±%g ms" % p.jitter if p.jitter else "-",
                     "%g / %g %%" % (p.loss_ab, p.loss_ba) if p.loss_ab or p.loss_ba else "-",
                     "reorder" if p.allow_reorder else "kept",
                     "%g" % p.busy if p.busy else "-",
                     "%d x %g ms" % (p.truth_count, p.truth_interval_ms),
                     "%.2f ms" % se if se is not None else "-"])
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["| " + " | ".join(c.ljust(x) for c, x in zip(r, w)) + " |" for r in rows]
    out.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
    return "\n".join(out)


if __name__ == "__main__":
    print(table())
