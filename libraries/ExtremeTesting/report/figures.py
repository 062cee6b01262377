"""Turn published figures into what the page shows: formatted values and tables.

The kinds the report knows, read exactly as the libraries publish them (others are shown
generically as key/value tables):

``monitor`` (``MonitorSession.snapshot``, figures from ``monitor.analysis.summarize``)
    ``probes`` (name -> figures) and ``overall`` (the same figures of all probes together):
    ``samples``, ``failed``, ``outages`` ``[{start, end, duration, uncertainty, errors,
    open_start, open_end, ...}]``, ``total_outage`` (s), ``longest_outage`` (the longest
    window, or None), ``recovery`` ``{seconds, uncertainty, recovered, reason}``,
    ``error_rate`` ``{all, before, during, after}`` (fractions), ``latency``
    ``{all, before, during, after: {count, p50, p90, p95, p99, max}}``; beside them
    ``writes`` (probe -> reconciliation: ``lost``, ``duplicates``, ``non_recoverable``,
    ``unconfirmed`` as lists of requests, ``error``), ``events`` (fault events on the
    monitor's clock), ``fault`` ``{start, end}``, ``schemas`` (its answers checked against
    their published schemas: ``status``, ``kinds``, ``mismatches``, ``not_covered``, see
    ``ExtremeTesting.schemas.watch``) and the run's context. Durations are seconds.
``schemas``
    the same ``schemas`` figures for a process's own API calls (`Responses Should Match
    Their Schemas` of=calls).
``load`` (``LoadSummary.as_dict`` with ``name``, ``png``, ``prefix``)
    ``requests``, ``failures``, ``failure_rate`` (fraction), ``p50`` ... ``p99``, ``max``,
    ``throughput`` (per second), ``png`` (a file beside log.html), ``cleanup``, and
    ``during_fault`` (the monitor's ``overall`` figures of the load's own samples) when a
    fault fell in the load.
``environment``
    any key/values; nested mappings are flattened to dotted keys.
``fault``
    one event (``ExtremeTesting.events.Event.as_dict()``) or ``{"events": [...]}``.
``expectation``
    the record (schema 1) of one comparison a verdict keyword judged (see
    :func:`ExtremeTesting.results.publish_expectation`): the only source of the verdict
    tables. Limits are never looked up again in the target file.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from .. import results
from ..schemas import watch as schema_watch

PERCENTILES = ("p50", "p90", "p95", "p99")
PHASES = ("before", "during", "after")
ALL_PHASES = ("all", *PHASES)
EXPECTATION = results.EXPECTATION
FAULT_DRY_RUN = results.FAULT_DRY_RUN
_SENSITIVE = re.compile(r"pass(word|wd)?|secret|token_value|credential|private|api_?key|"
                        r"auth_?token|cookie", re.IGNORECASE)
HIDDEN = "(hidden)"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def seconds(value: Any, key: str = "") -> float | None:
    """A duration in seconds from a number (milliseconds when the key ends in _ms)."""
    if isinstance(value, dict):
        value = value.get("duration", value.get("value"))
    if not is_number(value):
        return None
    return value / 1000.0 if key.endswith("_ms") else float(value)


def fmt_seconds(value: Any, key: str = "") -> str:
    number = seconds(value, key)
    if number is None:
        return "—" if value is None else str(value)
    magnitude = abs(number)
    if magnitude == 0:
        return "0 s"
    if magnitude < 0.01:
        return f"{number * 1000:.1f} ms"
    if magnitude < 1:
        return f"{number * 1000:.0f} ms"
    if magnitude < 120:
        return f"{number:.2f} s"
    minutes, rest = divmod(number, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def fmt_with_uncertainty(value: Any, uncertainty: Any, key: str = "") -> str:
    text = fmt_seconds(value, key)
    spread = seconds(uncertainty, key)
    if spread is None or text == "—":
        return text
    return f"{text} ± {fmt_seconds(spread, key)}"


def fmt_rate(value: Any) -> str:
    """A fraction as a percentage; values above 1 are taken as already in percent."""
    if not is_number(value):
        return "—" if value is None else str(value)
    percent = value * 100 if value <= 1 else value
    if percent == 0:
        return "0 %"
    if percent < 0.1:
        return f"{percent:.3f} %"
    if percent >= 10:
        return f"{percent:.1f} %".replace(".0 %", " %")
    return f"{percent:.2f} %".replace(".00 %", " %")


def count(value: Any) -> int | None:
    if isinstance(value, (list, tuple, set)):
        return len(value)
    if is_number(value):
        return int(value)
    return None


def fmt_count(value: Any) -> str:
    number = count(value)
    return "—" if number is None else str(number)


def fmt_time(value: Any) -> str:
    """A window edge: wall clock when an epoch, else seconds from the monitor's start."""
    if is_number(value):
        if value > 1e9:
            return datetime.fromtimestamp(value, UTC).strftime(
                "%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
        return f"+{value:.2f} s"
    return "—" if value is None else str(value)


def fmt_value(key: str, value: Any) -> str:
    """Best-effort formatting of an unknown figure from its key's name."""
    lowered = key.lower()
    if _SENSITIVE.search(lowered):
        return HIDDEN
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        if "rate" in lowered and "throughput" not in lowered and "per_s" not in lowered \
                and value <= 1:
            return fmt_rate(value)
        if lowered.endswith(("_s", "_ms", "_seconds", "duration", "time", "outage",
                             "latency", "elapsed")) or lowered in PERCENTILES + ("max", "min"):
            return fmt_seconds(value, lowered)
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list)) for v in value):
            shown = ", ".join(str(v) for v in value[:20])
            return shown + (f" … ({len(value)} in all)" if len(value) > 20 else "")
        return f"{len(value)} items"
    return str(value)


def flatten(data: Any, prefix: str = "", skip: tuple[str, ...] = ("png",)) -> list[
        tuple[str, str]]:
    """(dotted key, formatted value) rows of any mapping, credentials hidden."""
    rows: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return [(prefix or "value", fmt_value(prefix, data))]
    for key in sorted(data, key=str):
        value = data[key]
        name = f"{prefix}.{key}" if prefix else str(key)
        if str(key) in skip:
            continue
        if _SENSITIVE.search(str(key)) and not isinstance(value, dict):
            rows.append((name, HIDDEN))
        elif isinstance(value, dict) and value:
            rows += flatten(value, name, skip)
        else:
            rows.append((name, fmt_value(str(key), value)))
    return rows


# --- monitor -------------------------------------------------------------------------------


def _windows(figures: dict) -> list[dict]:
    value = figures.get("outages")
    return [w for w in value if isinstance(w, dict)] if isinstance(value, list) else []


def _uncertainty(figures: dict, key: str) -> Any:
    """The uncertainty of ``total_outage`` (the sum of its windows') or ``longest_outage``
    (that window's own)."""
    if key == "longest_outage":
        longest = figures.get("longest_outage")
        return longest.get("uncertainty") if isinstance(longest, dict) else None
    spreads = [seconds(w.get("uncertainty")) for w in _windows(figures)]
    spreads = [s for s in spreads if s is not None]
    return sum(spreads) if spreads else None


def _total_outage(figures: dict) -> Any:
    return figures.get("total_outage")


def _longest_outage(figures: dict) -> Any:
    """The longest window (a mapping; :func:`seconds` reads its duration), or None."""
    return figures.get("longest_outage")


def _phase_values(value: Any) -> dict[str, Any]:
    """{phase: value} of a per-phase figure (error rate, latency), without empty phases."""
    if not isinstance(value, dict):
        return {}
    found = {}
    for phase in ALL_PHASES:
        item = value.get(phase)
        if isinstance(item, dict):
            if item.get("count") == 0 or not any(is_number(item.get(p)) for p in PERCENTILES):
                continue
        elif not is_number(item):
            continue
        found[phase] = item
    return found


def _latency(figures: dict) -> dict[str, dict[str, Any]]:
    return _phase_values(figures.get("latency"))


def _error_rate(figures: dict) -> tuple[Any, dict[str, Any]]:
    """(the whole run's error rate, {phase: rate}) from the per-phase mapping."""
    phases = _phase_values(figures.get("error_rate"))
    return phases.pop("all", None), phases


def fmt_error_rate(figures: dict) -> tuple[str, str]:
    """(the whole run's error rate, the rate during the fault or "")."""
    overall, phases = _error_rate(figures)
    return fmt_rate(overall), fmt_rate(phases["during"]) if "during" in phases else ""


def _recovery(figures: dict) -> str:
    value = figures.get("recovery")
    if not isinstance(value, dict) or (value.get("seconds") is None
                                       and value.get("recovered") is not False):
        return "—"
    if value.get("recovered") is False:
        return "not recovered: " + str(value.get("reason") or "still failing")
    return fmt_with_uncertainty(value.get("seconds"), value.get("uncertainty"))


def _writes_of(data: dict, probe: str | None) -> list[dict]:
    """The write reconciliations (lost, duplicates, ...) of one probe or of all."""
    writes = data.get("writes")
    if not isinstance(writes, dict):
        return []
    if probe is not None:
        found = writes.get(probe)
        return [found] if isinstance(found, dict) else []
    return [w for w in writes.values() if isinstance(w, dict)]


def _loss_count(writes: list[dict], key: str) -> int | None:
    """How many requests the write reconciliations put under ``key`` (``lost``,
    ``duplicates``, ``deleted_twice``, ``non_recoverable``); None without a
    reconciliation."""
    counts = [count(w.get(key)) for w in writes]
    counts = [c for c in counts if c is not None]
    return sum(counts) if counts else None


def monitor_parts(data: dict) -> tuple[dict, list[tuple[str, dict]]]:
    """(overall figures, [(probe name, its figures)])."""
    probes = data.get("probes") if isinstance(data.get("probes"), dict) else {}
    overall = data.get("overall") if isinstance(data.get("overall"), dict) else {}
    return overall, [(str(k), v) for k, v in probes.items() if isinstance(v, dict)]


# the keys the monitor tables show; any other key is listed under "other figures"
MONITOR_KEYS = {"samples", "failed", "outages", "total_outage", "longest_outage", "recovery",
                "error_rate", "latency", "probes", "overall", "events", "writes", "fault",
                "partial", "load_balancer", "schemas"}
CONTEXT_KEYS = ("monitor", "target", "started", "stopped", "duration", "cpu_share",
                "logins")


def _failing_during(figures: dict) -> str:
    """The failing time during the fault (the sum of its outages then), "" without one."""
    partial = figures.get("partial")
    during = partial.get("during") if isinstance(partial, dict) else None
    if not isinstance(during, dict) or not during.get("samples"):
        return ""
    return fmt_with_uncertainty(during.get("failing_time"), during.get("uncertainty"))


def _removals(data: dict) -> str:
    """How long the load balancer took to take each failing server out of rotation."""
    balancer = data.get("load_balancer")
    found = balancer.get("removals") if isinstance(balancer, dict) else None
    return "; ".join(
        f"{r.get('backend')}/{r.get('server')} "
        f"{fmt_with_uncertainty(r.get('seconds'), r.get('uncertainty'))}"
        for r in found or [] if isinstance(r, dict))


def monitor_row(name: str, figures: dict, writes: list[dict] | None = None) -> dict[str, Any]:
    """One probe's (or the overall) figures, formatted for a table row."""
    writes = writes or []
    total = _total_outage(figures)
    samples, failed = figures.get("samples"), figures.get("failed")
    return {
        "name": name,
        "samples": fmt_count(samples),
        "failed": fmt_count(failed) if is_number(failed) else "",
        "windows": len(_windows(figures)),
        "total_outage": fmt_with_uncertainty(total, _uncertainty(figures, "total_outage")),
        "longest_outage": fmt_with_uncertainty(_longest_outage(figures),
                                               _uncertainty(figures, "longest_outage")),
        "outage_seconds": seconds(total),
        "recovery_time": _recovery(figures),
        "error_rate": fmt_error_rate(figures)[0],
        "error_rate_during": fmt_error_rate(figures)[1],
        "failing_during": _failing_during(figures),
        "lost": fmt_count(_loss_count(writes, "lost")),
        "duplicates": fmt_count(_loss_count(writes, "duplicates")),
        "deleted_twice": fmt_count(_loss_count(writes, "deleted_twice")),
        "non_recoverable": fmt_count(_loss_count(writes, "non_recoverable")),
        "latency": {phase: {p: fmt_seconds(values.get(p)) for p in (*PERCENTILES, "max")}
                    for phase, values in _latency(figures).items()},
    }


def _window_detail(window: dict) -> str:
    errors = window.get("errors")
    text = ", ".join(f"{k} ×{v}" for k, v in errors.items()) if isinstance(errors, dict) \
        else ""
    if window.get("open_end"):
        text = ("still failing when the monitor stopped; " + text).strip("; ")
    if window.get("open_start"):
        text = ("already failing when the monitor started; " + text).strip("; ")
    return text


def monitor_view(data: dict) -> dict[str, Any]:
    overall, probes = monitor_parts(data)
    windows = []
    for name, figures in probes or [("overall", overall)]:
        for window in _windows(figures):
            windows.append({
                "probe": name, "start": fmt_time(window.get("start")),
                "end": fmt_time(window.get("end")),
                "duration": fmt_with_uncertainty(window.get("duration"),
                                                 window.get("uncertainty")),
                "detail": _window_detail(window),
            })
    requests = []
    for label, key in (("lost", "lost"), ("duplicate", "duplicates"),
                       ("deleted twice", "deleted_twice"), ("stuck", "non_recoverable"),
                       ("unconfirmed", "unconfirmed")):
        for write in _writes_of(data, None):
            value = write.get(key)
            if isinstance(value, list):
                requests += [(label, item if isinstance(item, str) else
                              ", ".join(f"{k}={v}" for k, v in flatten(item)))
                             for item in value[:50]]
    for name, write in (data.get("writes") or {}).items():
        if isinstance(write, dict) and write.get("error"):
            requests.append(("not reconciled", f"{name}: {write['error']}"))
    fault = data.get("fault") if isinstance(data.get("fault"), dict) else {}
    context = [(k.replace("_", " "), fmt_value(k, data[k])) for k in CONTEXT_KEYS
               if data.get(k) not in (None, "")]
    if fault.get("start") is not None or fault.get("end") is not None:
        edges = f"{fmt_time(fault.get('start'))} → {fmt_time(fault.get('end'))}"
        context.append(("fault window", edges))
    if _removals(data):
        context.append(("out of rotation after the first failure", _removals(data)))
    if schemas_line(data.get("schemas")):
        context.append(("response schemas", schemas_line(data.get("schemas"))))
    top_extra = {k: v for k, v in data.items() if k not in MONITOR_KEYS
                 and k not in CONTEXT_KEYS and k not in {"origin_wall", "running"}}
    top_extra |= {f"overall.{k}": v for k, v in overall.items() if k not in MONITOR_KEYS}
    probe_extra = []
    for name, figures in probes:
        rest = {k: v for k, v in figures.items() if k not in MONITOR_KEYS}
        if rest:
            probe_extra.append((name, flatten(rest)))
    for name, write in (data.get("writes") or {}).items():
        if isinstance(write, dict):
            probe_extra.append((f"{name} (writes)", flatten(
                {k: v for k, v in write.items() if not isinstance(v, list)})))
    latency = _latency(overall)
    return {
        "overall": monitor_row("overall", overall, _writes_of(data, None)),
        "probes": [monitor_row(name, figures, _writes_of(data, name))
                   for name, figures in probes],
        "latency": {phase: {p: fmt_seconds(v.get(p)) for p in (*PERCENTILES, "max")}
                    for phase, v in latency.items()},
        "windows": windows,
        "events": events_view(data.get("events") or []),
        "requests": requests,
        "context": context,
        "extra": flatten(top_extra),
        "probe_extra": probe_extra,
    }


def schemas_line(section: Any) -> str:
    """What a ``schemas`` section says in one line ("" when there is none)."""
    return schema_watch.summary(section) if isinstance(section, dict) else ""


def schemas_summary(section: Any) -> list[tuple[str, str]]:
    """The case summary's line, when an answer did not match (the monitor's details say
    what was checked, or that nothing was)."""
    if isinstance(section, dict) and section.get("mismatches"):
        return [("Response schemas", schemas_line(section))]
    return []


def monitor_summary(data: dict) -> list[tuple[str, str]]:
    view = monitor_view(data)
    row = view["overall"]
    windows = row["windows"]
    lines = [("Outage", f"{row['total_outage']} ({windows} window{'' if windows == 1 else 's'})"
              if windows else row["total_outage"])]
    if windows > 1:
        lines.append(("Longest", row["longest_outage"]))
    during = f", during {row['error_rate_during']}" if row["error_rate_during"] else ""
    lines += [("Error rate", row["error_rate"] + during),
              ("Lost / dup / stuck",
               f"{row['lost']} / {row['duplicates']} / {row['non_recoverable']}"),
              ("Deleted twice", row["deleted_twice"] if row["deleted_twice"] not in
               ("0", "—") else "—"),
              ("Recovery", row["recovery_time"])]
    latency = view["latency"]
    phases = [p for p in PHASES if p in latency] or [p for p in ALL_PHASES if p in latency]
    if phases:
        label = "p95 " + " / ".join(p[0] for p in phases) if len(phases) > 1 else \
            f"p95 ({phases[0]})"
        lines.append((label, " / ".join(latency[p]["p95"] for p in phases)))
    lines += schemas_summary(data.get("schemas"))
    return [(k, v) for k, v in lines if v not in {"—", "— / — / —"}]


# --- load ----------------------------------------------------------------------------------

LOAD_KEYS = {"requests", "failures", "failure_rate", "max", "throughput", "png", "name",
             "workload", "during_fault", *PERCENTILES}


def load_view(data: dict) -> dict[str, Any]:
    percentiles = {p: fmt_seconds(data.get(p)) for p in PERCENTILES}
    requests, failures = data.get("requests"), data.get("failures")
    throughput = data.get("throughput")
    during = data.get("during_fault")
    name = str(data.get("name") or "")
    workload = str(data.get("workload") or "")
    return {
        "name": f"{name} ({workload})" if name and workload and workload != name else
        name or workload,
        "during_fault": monitor_row("seen by the load", during)
        if isinstance(during, dict) else None,
        "requests": fmt_count(requests),
        "failures": fmt_count(failures),
        "failure_rate": fmt_rate(data.get("failure_rate")),
        "percentiles": percentiles,
        "max": fmt_seconds(data.get("max")),
        "throughput": f"{throughput:.1f}/s" if is_number(throughput) else fmt_value(
            "throughput", throughput),
        "extra": flatten({k: v for k, v in data.items() if k not in LOAD_KEYS}),
    }


def load_summary(data: dict) -> list[tuple[str, str]]:
    view = load_view(data)
    requests = f"{view['requests']}, {view['failures']} failed ({view['failure_rate']})"
    lines = [("Requests", requests),
             ("p50 / p95 / p99", " / ".join(view["percentiles"][p]
                                            for p in ("p50", "p95", "p99"))),
             ("Throughput", view["throughput"])]
    if view["name"]:
        lines.insert(0, ("Workload", view["name"]))
    during = view["during_fault"]
    if during and during["windows"]:
        lines.append(("Outage (load)", during["total_outage"]))
    return [(k, v) for k, v in lines if "—, — failed" not in v and v not in {"—", "— / — / —"}]


# --- fault events and expectations -----------------------------------------------------------


def events_view(data: Any) -> list[dict[str, str]]:
    if isinstance(data, dict):
        data = data.get("events", [data])
    rows = []
    for event in data if isinstance(data, list) else []:
        if not isinstance(event, dict):
            continue
        wall = event.get("wall")
        when = event.get("t")  # seconds since the monitor started: the windows' clock
        if is_number(when):
            shown = fmt_time(when) + (f" ({fmt_time(wall)})" if is_number(wall) else "")
        else:
            shown = fmt_time(wall) if is_number(wall) else (str(wall) if wall else "—")
        rows.append({
            "time": shown,
            "source": str(event.get("source", "")),
            "phase": str(event.get("phase", "")),
            "action": str(event.get("action", "")),
            "target": str(event.get("target", "")),
            "detail": str(event.get("detail", "") or event.get("fault_id", "")),
        })
    return rows


def fmt_measure(value: Any, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "%":
        return fmt_rate(value / 100 if is_number(value) else value)
    if is_number(value):
        return f"{value:g} {unit}".strip()
    return str(value)


def expectation_row(record: dict) -> dict[str, Any]:
    """One expectation record as a verdict table row."""
    unit = str(record.get("unit", ""))
    what = str(record.get("what", ""))
    subject = str(record.get("subject") or "")
    measured = fmt_measure(record.get("measured"), unit)
    if is_number(record.get("uncertainty")) and record.get("measured") is not None:
        spread = fmt_measure(record["uncertainty"], unit)
        measured = f"{measured} ± {spread}"
    marginal = results.is_marginal(record)
    return {
        "what": f"{what} of {subject}" if subject else what,
        "keyword": str(record.get("keyword", "")),
        "limit": f"{record.get('comparison', '')} {fmt_measure(record.get('limit'), unit)}",
        "measured": measured,
        "passed": bool(record.get("passed")),
        "marginal": marginal,
        "text": f"{what}{' of ' + subject if subject else ''}: {measured} "
                f"(limit {record.get('comparison', '')} "
                f"{fmt_measure(record.get('limit'), unit)}): "
                f"{'met' if record.get('passed') else 'NOT met'}"
                f"{', marginal' if marginal else ''}",
    }
