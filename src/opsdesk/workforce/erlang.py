"""Queueing formulas for contact-centre staffing: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M).

Every function takes numpy arrays (or scalars) and returns arrays, so a whole year of intervals is
computed in one call. Time is in seconds throughout; `a` is the offered traffic in Erlangs
(arrival rate x mean handle time).

Numerics: nothing forms a**n or n!. Erlang B comes from the recursion
B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1)), whose values stay in [0, 1], so it is stable for
thousands of agents; Erlang C and Erlang A are written in terms of B. Erlang A's incomplete-gamma
sums are evaluated in log space. The staffing searches (`agents_erlang_c`, `agents_erlang_a`) run
that recursion over n for all intervals at once and stop each interval at the smallest n that meets
every target, so their answers are exact integer counts, not approximations such as square-root
staffing.

Model assumptions (the textbook ones): Poisson arrivals at a constant rate within an interval,
exponential handle times, identical agents, first-come first-served, steady state within each
interval. Erlang C: callers wait forever. Erlang A: each caller hangs up after an exponential
patience time with the given mean if not answered by then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammainc, gammaln

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class QueueMetrics(NamedTuple):
    """Achieved figures at a staffing level, one entry per interval."""

    agents: IntArray
    service_level: FloatArray
    asa: FloatArray
    occupancy: FloatArray
    abandon_rate: FloatArray


def erlang_b(n: ArrayLike, a: ArrayLike) -> FloatArray:
    """Blocking probability of an M/M/n/n loss system (Erlang B), by the stable recursion."""
    n_arr, a_arr = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=np.float64))
    b = np.ones(n_arr.shape)
    top = int(n_arr.max()) if n_arr.size else 0
    for k in range(1, top + 1):
        step = a_arr * b / (k + a_arr * b)
        b = np.where(n_arr >= k, step, b)
    return b


def _erlang_c_from_b(n: ArrayLike, a: FloatArray, b: FloatArray) -> FloatArray:
    """Probability of waiting, C = n B / (n - a (1 - B)); 1 when n <= a (the queue grows without bound)."""
    n_f = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n_f * b / (n_f - a * (1.0 - b))
    return np.where(n_f > a, c, 1.0)


def erlang_c(n: ArrayLike, a: ArrayLike) -> FloatArray:
    """Probability that a contact waits (Erlang C) with n agents and a Erlangs of traffic."""
    n_arr, a_arr = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=np.float64))
    return _erlang_c_from_b(n_arr, a_arr, erlang_b(n_arr, a_arr))


def _erlang_c_metrics(
    n: ArrayLike, a: FloatArray, b: FloatArray, aht: ArrayLike, answer_within: float
) -> tuple[FloatArray, FloatArray]:
    """Service level (share answered within `answer_within`) and ASA (mean wait of all contacts)."""
    n_f = np.asarray(n, dtype=np.float64)
    aht_f = np.asarray(aht, dtype=np.float64)
    c = _erlang_c_from_b(n_f, a, b)
    stable = n_f > a
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sl = np.where(stable, 1.0 - c * np.exp(-(n_f - a) * answer_within / aht_f), 0.0)
        asa = np.where(stable, c * aht_f / (n_f - a), np.inf)
    idle = a == 0
    return np.where(idle, 1.0, np.maximum(sl, 0.0)), np.where(idle, 0.0, asa)


def erlang_c_metrics(n: ArrayLike, a: ArrayLike, aht: ArrayLike, answer_within: float) -> QueueMetrics:
    """Service level, ASA and occupancy of an Erlang C queue staffed with n agents."""
    n_arr, a_arr = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(a, dtype=np.float64))
    sl, asa = _erlang_c_metrics(n_arr, a_arr, erlang_b(n_arr, a_arr), aht, answer_within)
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(n_arr > 0, a_arr / n_arr, np.nan)
    return QueueMetrics(n_arr.copy(), sl, asa, occupancy, np.zeros(a_arr.shape))


def _log_gamma_series(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """log S and log(S - 1) for S(x, y) = sum_{j>=0} y^j / ((x+1)(x+2)...(x+j)).

    S = x e^y y^-x gamma_lower(x, y) is the queue part of the M/M/n+M stationary distribution
    (x = n*patience/aht, y = a*patience/aht). When y is well below x the series converges
    geometrically and is summed directly; otherwise the regularised incomplete gamma function is
    used in log space (falling back to the series if it underflows).
    """
    log_s = np.zeros(x.shape)
    log_tail = np.full(x.shape, -np.inf)
    closed = y > 0.5 * x
    if closed.any():
        xc, yc = x[closed], y[closed]
        p = gammainc(xc, yc)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = gammaln(xc + 1.0) + np.log(p) + yc - xc * np.log(yc)
            log_s[closed] = value
            log_tail[closed] = value + np.log(-np.expm1(-value))
        closed[closed] = p > 1e-280
    todo = np.flatnonzero(~closed & (y > 0))
    if todo.size:
        xs, ys = x[todo], y[todo]
        term = np.ones(todo.size)
        tail = np.zeros(todo.size)
        live = np.arange(todo.size)
        j = 0
        while live.size:
            j += 1
            term[live] *= ys[live] / (xs[live] + j)
            tail[live] += term[live]
            live = live[term[live] > 1e-17 * (1.0 + tail[live])]
        log_s[todo] = np.log1p(tail)
        with np.errstate(divide="ignore"):
            log_tail[todo] = np.log(tail)
    return log_s, log_tail


def _erlang_a_metrics(
    n: IntArray, a: FloatArray, b: FloatArray, aht: FloatArray, patience: float, answer_within: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Service level, mean wait, abandon rate and occupancy of M/M/n+M, given Erlang B for (n, a).

    Derivation: a contact that finds j others queued is reached by an agent after the offered wait V
    with exp(-V/patience) ~ Beta(x, j + 1); summing over the stationary queue length gives
    incomplete-gamma closed forms (Mandelbaum & Zeltyn, "The Palm/Erlang-A queue"). Service level
    counts contacts answered within `answer_within` over all offered (abandons count as missed);
    the mean wait is over all offered contacts, abandoners counted until they hang up, which by
    Little's law is abandon_rate * patience.
    """
    n_f = n.astype(np.float64)
    busy = (n > 0) & (a > 0)
    sl = np.where(a > 0, 0.0, 1.0)
    wait = np.where(a > 0, patience, 0.0)
    abandon = np.where(a > 0, 1.0, 0.0)
    if busy.any():
        nb, ab, bb, ahtb = n_f[busy], a[busy], b[busy], aht[busy]
        x = nb * patience / ahtb
        y = ab * patience / ahtb
        keep_p = np.exp(-answer_within / patience)
        log_s, log_s_tail = _log_gamma_series(x, y)
        _, log_sp_tail = _log_gamma_series(x, y * keep_p)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            # r = P(no wait) / P(wait): (1 - B) / (B S)
            r = np.exp(np.log1p(-bb) - np.log(bb) - log_s)
            p_wait = np.where(np.isinf(r), 0.0, 1.0 / (1.0 + r))
            served_share = np.exp(log_s_tail - log_s)  # 1 - 1/S
            ratio = nb / ab
            q_served = ratio * served_share
            late = np.exp(
                -nb * answer_within / ahtb + y * -np.expm1(-answer_within / patience) + log_sp_tail - log_s
            )
            q_within = np.clip(ratio * (served_share - late), 0.0, 1.0)
            sl_b = np.where(np.isinf(r), 1.0, (r + q_within) / (1.0 + r))
        abandon_b = np.clip(p_wait * (1.0 - q_served), 0.0, 1.0)
        sl[busy] = np.clip(sl_b, 0.0, 1.0)
        abandon[busy] = abandon_b
        wait[busy] = abandon_b * patience
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(n > 0, a * (1.0 - abandon) / n_f, np.nan)
    return sl, wait, abandon, occupancy


def erlang_a_metrics(
    n: ArrayLike, a: ArrayLike, aht: ArrayLike, patience: float, answer_within: float
) -> QueueMetrics:
    """Service level, mean wait, occupancy and abandon rate of an Erlang A queue with n agents."""
    n_arr, a_arr, aht_arr = np.broadcast_arrays(
        np.asarray(n, dtype=np.int64), np.asarray(a, dtype=np.float64), np.asarray(aht, dtype=np.float64)
    )
    b = erlang_b(n_arr, a_arr)
    sl, wait, abandon, occupancy = _erlang_a_metrics(n_arr, a_arr, b, aht_arr, patience, answer_within)
    return QueueMetrics(n_arr.copy(), sl, wait, occupancy, abandon)


Check = Callable[
    [IntArray, FloatArray, FloatArray, FloatArray],
    tuple[NDArray[np.bool_], FloatArray, FloatArray, FloatArray, FloatArray],
]
"""(n, traffic, Erlang B at n, aht), broadcast together -> (targets met, SL, ASA, occupancy, abandon)."""


def _search(
    a: ArrayLike, aht: ArrayLike, min_agents: ArrayLike | None, check: Check, block: int
) -> QueueMetrics:
    """Smallest n >= min_agents per interval for which `check` passes, with the metrics at that n.

    The Erlang B recursion advances one n at a time for every unfinished interval together and
    keeps the last `block` values of n, which are then checked in one vectorised call (a block
    x intervals grid); an interval leaves the working set at its first passing n. Work is
    O(largest answer x intervals still open), with few numpy calls per n.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    aht_arr = np.broadcast_to(np.asarray(aht, dtype=np.float64), a_arr.shape)
    lo = np.broadcast_to(np.asarray(0 if min_agents is None else min_agents, dtype=np.int64), a_arr.shape)
    agents = np.zeros(a_arr.shape, dtype=np.int64)
    sl = np.full(a_arr.shape, np.nan)
    asa = np.full(a_arr.shape, np.nan)
    occupancy = np.full(a_arr.shape, np.nan)
    abandon = np.where(a_arr > 0, np.nan, 0.0)
    idx = np.flatnonzero(a_arr > 0)
    aa, hh, low = a_arr[idx], aht_arr[idx], lo[idx]
    b = np.ones(idx.size)
    n = 0
    while idx.size:
        ns = np.arange(n + 1, n + block + 1, dtype=np.int64)
        grid = np.empty((block, idx.size))
        for row, k in enumerate(ns):
            carried = aa * b
            b = carried / (k + carried)
            grid[row] = b
        n += block
        if ns[-1] < low.min():
            continue
        ok, c_sl, c_asa, c_occ, c_ab = check(ns[:, None], aa[None, :], grid, hh[None, :])
        ok &= ns[:, None] >= low[None, :]
        first = ok.argmax(axis=0)
        columns = np.arange(idx.size)
        hit = ok[first, columns]
        if not hit.any():
            continue
        rows, done = first[hit], columns[hit]
        where = idx[done]
        agents[where] = ns[rows]
        sl[where], asa[where] = c_sl[rows, done], c_asa[rows, done]
        occupancy[where], abandon[where] = c_occ[rows, done], c_ab[rows, done]
        keep = ~hit
        idx, aa, hh, low, b = idx[keep], aa[keep], hh[keep], low[keep], b[keep]
    return QueueMetrics(agents, sl, asa, occupancy, abandon)


def agents_erlang_c(
    a: ArrayLike,
    *,
    aht: ArrayLike,
    answer_within: float,
    service_level: float,
    asa: float | None = None,
    min_agents: ArrayLike | None = None,
) -> QueueMetrics:
    """Smallest agent count per interval with service level >= target and (if given) ASA <= target.

    `min_agents` carries constraints computed exactly elsewhere (the occupancy cap). Zero traffic
    needs zero agents; its metrics are NaN.
    """

    def check(
        n: IntArray, a: FloatArray, b: FloatArray, aht: FloatArray
    ) -> tuple[NDArray[np.bool_], FloatArray, FloatArray, FloatArray, FloatArray]:
        got_sl, got_asa = _erlang_c_metrics(n, a, b, aht, answer_within)
        ok = (n > a) & (got_sl >= service_level)
        if asa is not None:
            ok &= got_asa <= asa
        return ok, got_sl, got_asa, a / n, np.zeros(b.shape)

    return _search(a, aht, min_agents, check, block=32)


def agents_erlang_a(
    a: ArrayLike,
    *,
    aht: ArrayLike,
    patience: float,
    answer_within: float,
    service_level: float,
    asa: float | None = None,
    max_occupancy: float = 1.0,
    min_agents: ArrayLike | None = None,
) -> QueueMetrics:
    """Smallest agent count per interval meeting service level, ASA and occupancy under Erlang A.

    Occupancy here is carried (answered) traffic per agent, so abandonment lowers it; it is a
    float comparison because the abandon rate is transcendental.
    """

    def check(
        n: IntArray, a: FloatArray, b: FloatArray, aht: FloatArray
    ) -> tuple[NDArray[np.bool_], FloatArray, FloatArray, FloatArray, FloatArray]:
        n_b, a_b, b_b, aht_b = np.broadcast_arrays(n, a, b, aht)
        got_sl, wait, abandon, occ = _erlang_a_metrics(n_b, a_b, b_b, aht_b, patience, answer_within)
        ok = (got_sl >= service_level) & (occ <= max_occupancy)
        if asa is not None:
            ok &= wait <= asa
        return ok, got_sl, wait, occ, abandon

    return _search(a, aht, min_agents, check, block=8)
