"""Shared test helpers: the metric contract (metrics.yml) and PromQL name extraction."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"

_FUNCS_AND_WORDS = {
    # PromQL functions, aggregations, keywords that look like identifiers
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "delta",
    "deriv",
    "histogram_quantile",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "topk",
    "bottomk",
    "abs",
    "clamp_min",
    "clamp_max",
    "vector",
    "scalar",
    "time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "absent",
    "le",
    "label_replace",
    "sort_desc",
    "sort",
    "round",
    "inf",
}


def contract() -> dict:
    """The metric contract: ``{"metrics": {name: spec}, "builtins": [...]}``."""
    return yaml.safe_load((PROM / "metrics.yml").read_text())


def recorded_names() -> set[str]:
    rules = yaml.safe_load((PROM / "rules.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def known_series() -> set[str]:
    """Every series name a query may use: contract metrics (with histogram suffixes),
    recording rules, and Prometheus built-ins."""
    c = contract()
    names = set(c["builtins"]) | recorded_names()
    for name, spec in c["metrics"].items():
        names.add(name)
        if spec["type"] == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def series_in(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (label matchers, strings, durations,
    grouping labels and functions stripped)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range / subquery selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)  # Grafana template variables
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {n for n in names if n not in _FUNCS_AND_WORDS and not re.fullmatch(r"\d+\w*", n)}
