"""Outputs of an evaluation: console table, JSON, CSV and a PNG plot (two-model and N-model benchmarks)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..slug import slug
from .metrics import Curve, Interval
from .runner import EvalReport, NModelReport


def _pct(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_table(report: EvalReport) -> str:
    """A plain-text table: one row per router, baselines last."""
    levels = list(report.results[0].exact.cpt)
    head = [
        "router",
        "APGR",
        "95% CI",
        f"APGR {report.num_points}-bin",
        *[f"CPT({round(p * 100):g}%)" for p in levels],
        "AUC",
        "AIQ",
        "cache",
    ]
    rows = []
    for r in report.results:
        ci = r.bootstrap.apgr if r.bootstrap is not None else None
        rows.append(
            [
                r.name,
                _num(r.exact.apgr),
                f"[{_num(ci.low, 3)}, {_num(ci.high, 3)}]" if ci is not None else "",
                _num(r.binned.apgr) if r.binned is not None else "",
                *[_pct(r.exact.cpt[p]) for p in levels],
                _num(r.exact.auc),
                _num(r.exact.aiq),
                "" if r.cached is None else ("hit" if r.cached else "scored"),
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        f"{report.benchmark}: {report.n_prompts} prompts; strong {report.strong_model} = {report.strong_quality:.4f}, "
        f"weak {report.weak_model} = {report.weak_quality:.4f}",
        "  ".join(h.ljust(wd) for h, wd in zip(head, widths, strict=True)),
        "  ".join("-" * wd for wd in widths),
    ]
    lines += ["  ".join(str(c).ljust(wd) for c, wd in zip(row, widths, strict=True)) for row in rows]
    peak = report.oracle_peak
    if peak:
        lines.append(f"oracle peak: quality {peak['quality']:.4f} with {_pct(peak['strong_fraction'])} strong calls")
    for c in report.comparisons:
        iv = c["interval"]
        lines.append(
            f"paired bootstrap APGR({c['a']}) - APGR({c['b']}) = {c['apgr_difference']:+.4f} "
            f"[{iv[0]:+.4f}, {iv[1]:+.4f}], p = {c['p_value']:.3f}"
        )
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def report_json(report: EvalReport, *, curves: bool = True) -> dict[str, Any]:
    """JSON-able results (NaN becomes null); with the binned and exact-curve points when ``curves``."""
    out = report.as_dict()
    if curves:
        for res, entry in zip(report.results, out["results"], strict=True):
            entry["curve_binned"] = _curve_dict(res.binned_curve) if res.binned_curve is not None else None
            entry["curve_exact_points"] = int(res.exact_curve.strong_fraction.size)
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def _curve_dict(curve: Curve) -> dict[str, Any]:
    return {
        "strong_fraction": curve.strong_fraction.tolist(),
        "quality": curve.quality.tolist(),
        "pgr": curve.pgr.tolist(),
        "threshold": curve.thresholds.tolist(),
    }


CSV_FIELDS = [
    "benchmark",
    "strong_model",
    "weak_model",
    "router",
    "kind",
    "apgr",
    "apgr_ci_low",
    "apgr_ci_high",
    "apgr_binned",
    "cpt_20",
    "cpt_20_ci_low",
    "cpt_20_ci_high",
    "cpt_50",
    "cpt_50_ci_low",
    "cpt_50_ci_high",
    "cpt_80",
    "cpt_80_ci_low",
    "cpt_80_ci_high",
    "cpt_20_binned",
    "cpt_50_binned",
    "cpt_80_binned",
    "auc",
    "aiq",
    "cached",
]


def write_csv(report: EvalReport, path: Path) -> None:
    """One row per router: exact metrics, their intervals, and the binned (paper) ones."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in report.results:
            row = {
                "benchmark": report.benchmark,
                "strong_model": report.strong_model,
                "weak_model": report.weak_model,
                "router": r.name,
                "kind": r.kind,
                **r.exact.as_dict(),
                "cached": "" if r.cached is None else r.cached,
            }
            if r.binned is not None:
                row.update({f"{k}_binned": v for k, v in r.binned.as_dict().items()})
            if r.bootstrap is not None:
                row["apgr_ci_low"], row["apgr_ci_high"] = r.bootstrap.apgr.as_list()
                for p, iv in r.bootstrap.cpt.items():
                    key = f"cpt_{round(p * 100):g}"
                    row[f"{key}_ci_low"], row[f"{key}_ci_high"] = iv.as_list()
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


def write_curves_csv(report: EvalReport, path: Path) -> None:
    """Every point of every curve (exact and binned), for plotting elsewhere."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["router", "curve", "strong_fraction", "quality", "pgr", "threshold"])
        for r in report.results:
            for label, curve in (("exact", r.exact_curve), ("binned", r.binned_curve)):
                if curve is None:
                    continue
                for x, q, p, t in zip(curve.strong_fraction, curve.quality, curve.pgr, curve.thresholds, strict=True):
                    writer.writerow(
                        [r.name, label, repr(float(x)), repr(float(q)), repr(float(p)), "" if math.isnan(t) else repr(float(t))]
                    )


def write_plot(report: EvalReport, path: Path) -> None:
    """Quality vs % strong calls: each router's binned (paper) curve, strong/weak lines, the oracle curve."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("matplotlib", "the evaluation plot", "pip install 'routellm-core[eval]'") from exc
    fig = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for r in report.results:
        if r.kind == "router":
            assert r.binned_curve is not None  # every router result has its binned curve
            ax.plot(
                100 * r.binned_curve.strong_fraction,
                r.binned_curve.quality,
                marker="o",
                markersize=3,
                label=f"{r.name} (APGR {r.exact.apgr:.3f})",
            )
        elif r.kind == "random-expected":
            ax.plot(
                100 * r.exact_curve.strong_fraction, r.exact_curve.quality, color="grey", linestyle=":", label="random (expected)"
            )
        elif r.kind == "oracle":
            ax.plot(
                100 * r.exact_curve.strong_fraction,
                r.exact_curve.quality,
                color="black",
                linewidth=1,
                label=f"oracle (APGR {r.exact.apgr:.3f})",
            )
    ax.axhline(report.strong_quality, color="tab:red", linestyle="--", linewidth=1, label=f"strong: {report.strong_model}")
    ax.axhline(report.weak_quality, color="tab:gray", linestyle="--", linewidth=1, label=f"weak: {report.weak_model}")
    ax.set_xlabel("strong model calls (%)")
    ax.set_ylabel("quality")
    ax.set_title(f"{report.benchmark} ({report.n_prompts} prompts)")
    ax.set_xlim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_outputs(report: EvalReport, directory: str | Path, *, plot: bool = True) -> dict[str, Path]:
    """Write ``<benchmark>.json``, ``<benchmark>.csv``, ``<benchmark>-curves.csv`` and ``<benchmark>.png``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stem = slug(report.benchmark, empty="benchmark")
    paths = {"json": out / f"{stem}.json", "csv": out / f"{stem}.csv", "curves": out / f"{stem}-curves.csv"}
    paths["json"].write_text(json.dumps(report_json(report), indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    write_csv(report, paths["csv"])
    write_curves_csv(report, paths["curves"])
    if plot:
        write_plot(report, out / f"{stem}.png")
        paths["png"] = out / f"{stem}.png"
    return paths


# -- N-model benchmarks ---------------------------------------------------------------------------


def _usd(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"${1000 * value:.4f}"


def _ci(iv: Interval | None, digits: int = 3) -> str:
    return "" if iv is None else f"[{_num(iv.low, digits)}, {_num(iv.high, digits)}]"


def format_nmodel_table(report: NModelReport) -> str:
    """A plain-text table of an N-model evaluation: routers, then the zero router and the oracle; costs per 1,000 prompts."""
    ev = report.evaluation
    ref = ev.reference
    best = ref.best
    head = [
        "router",
        "AIQ",
        "95% CI",
        "- zero router",
        "curve AIQ",
        "- zero router",
        "Q@best cost",
        "cost to best Q",
        "(% of best)",
        "knob",
        "cache",
    ]
    rows = []
    for r in report.results:
        m, iv = r.metrics, r.intervals
        diff = iv.aiq_minus_zero_router if iv is not None else None
        curve_diff = iv.curve_aiq_minus_zero_router if iv is not None else None
        rows.append(
            [
                r.name,
                _num(m.aiq),
                _ci(iv.aiq if iv is not None else None),
                "" if diff is None or iv is None else f"{_ci(diff)} p={_num(iv.p_value_vs_zero_router, 3)}",
                _num(m.curve_aiq),
                "" if curve_diff is None or iv is None else f"{_ci(curve_diff)} p={_num(iv.curve_p_value_vs_zero_router, 3)}",
                _num(m.quality_at_best_single_cost),
                _usd(m.cost_to_best_single_quality),
                _pct(m.cost_fraction_to_best_single_quality),
                "" if math.isnan(m.knob_for_best_single_quality) else f"w={m.knob_for_best_single_quality:.3g}",
                "" if r.cached is None else ("hit" if r.cached else "scored"),
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        f"{report.benchmark}: {ev.n_prompts} prompts, {len(report.models)} models; best single model {best.model} "
        f"(quality {best.quality:.4f}, {_usd(best.cost)} per 1,000 prompts); AIQ over costs "
        f"[{_usd(ref.cost_low)}, {_usd(ref.cost_high)}] per 1,000 prompts",
        "  ".join(h.ljust(wd) for h, wd in zip(head, widths, strict=True)),
        "  ".join("-" * wd for wd in widths),
    ]
    lines += ["  ".join(str(c).ljust(wd) for c, wd in zip(row, widths, strict=True)) for row in rows]
    lines.append("single models: " + "; ".join(f"{s.model} {s.quality:.4f} at {_usd(s.cost)}" for s in ref.singles))
    for r in ev.routers:
        if r.note:
            lines.append(f"note: {r.name}: {r.note}")
    lines += [f"skipped: {name}: {why}" for name, why in report.skipped.items()]
    return "\n".join(lines)


NMODEL_CSV_FIELDS = [
    "benchmark",
    "router",
    "kind",
    "aiq",
    "aiq_ci_low",
    "aiq_ci_high",
    "aiq_minus_zero_router_ci_low",
    "aiq_minus_zero_router_ci_high",
    "p_value_vs_zero_router",
    "curve_aiq",
    "curve_aiq_ci_low",
    "curve_aiq_ci_high",
    "curve_aiq_minus_zero_router_ci_low",
    "curve_aiq_minus_zero_router_ci_high",
    "curve_p_value_vs_zero_router",
    "quality_at_best_single_cost",
    "quality_at_best_single_cost_ci_low",
    "quality_at_best_single_cost_ci_high",
    "curve_quality_at_best_single_cost",
    "cost_to_best_single_quality",
    "cost_fraction_to_best_single_quality",
    "cost_fraction_to_best_single_quality_ci_low",
    "cost_fraction_to_best_single_quality_ci_high",
    "knob_cost_to_best_single_quality",
    "knob_cost_fraction_to_best_single_quality",
    "knob_for_best_single_quality",
    "max_quality",
    "cost_at_max_quality",
    "min_cost",
    "models",
    "cached",
    "skipped",
]


def write_nmodel_csv(report: NModelReport, path: Path) -> None:
    """One row per router and baseline (costs in USD per prompt), plus each single model and each skipped router."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=NMODEL_CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in report.results:
            row: dict[str, Any] = {"benchmark": report.benchmark, "router": r.name, "kind": r.kind, **r.metrics.as_dict()}
            row["models"] = " ".join(r.models)
            row["cached"] = "" if r.cached is None else r.cached
            iv = r.intervals
            if iv is not None:
                for key in ("aiq", "curve_aiq", "quality_at_best_single_cost", "cost_fraction_to_best_single_quality"):
                    row[f"{key}_ci_low"], row[f"{key}_ci_high"] = getattr(iv, key).as_list()
                if iv.aiq_minus_zero_router is not None:
                    row["aiq_minus_zero_router_ci_low"], row["aiq_minus_zero_router_ci_high"] = iv.aiq_minus_zero_router.as_list()
                    row["p_value_vs_zero_router"] = iv.p_value_vs_zero_router
                if iv.curve_aiq_minus_zero_router is not None:
                    low, high = iv.curve_aiq_minus_zero_router.as_list()
                    row["curve_aiq_minus_zero_router_ci_low"], row["curve_aiq_minus_zero_router_ci_high"] = low, high
                    row["curve_p_value_vs_zero_router"] = iv.curve_p_value_vs_zero_router
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
        for s in report.evaluation.reference.singles:
            writer.writerow(
                {
                    "benchmark": report.benchmark,
                    "router": s.model,
                    "kind": "single",
                    "max_quality": s.quality,
                    "cost_at_max_quality": s.cost,
                    "min_cost": s.cost,
                }
            )
        for name, why in report.skipped.items():
            writer.writerow({"benchmark": report.benchmark, "router": name, "kind": "router", "skipped": why})


def write_nmodel_curves_csv(report: NModelReport, path: Path) -> None:
    """Every point of every curve and the vertices of its hull (cost in USD per prompt, the knob where it applies)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["router", "kind", "curve", "cost", "quality", "knob", "knob_low", "knob_high"])
        for r in report.results:
            c = r.curve
            for x, q, w, (lo, hi) in zip(c.cost, c.quality, c.knob, c.knob_range, strict=True):
                writer.writerow(
                    [
                        r.name,
                        r.kind,
                        "points",
                        repr(float(x)),
                        repr(float(q)),
                        *("" if math.isnan(v) else repr(float(v)) for v in (w, lo, hi)),
                    ]
                )
            hx, hy = r.hull
            for x, q in zip(hx, hy, strict=True):
                writer.writerow([r.name, r.kind, "hull", repr(float(x)), repr(float(q)), "", "", ""])


def write_nmodel_plot(report: NModelReport, path: Path) -> None:
    """Cost vs quality: each router's points and hull, the single models, the zero router's hull and the oracle's."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("matplotlib", "the evaluation plot", "pip install 'routellm-core[eval]'") from exc
    ev = report.evaluation
    fig = Figure(figsize=(8, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    scale = 1000.0  # USD per 1,000 prompts
    end = ev.reference.cost_high

    def dense(hull: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A hull (linear in cost) drawn on the log axis: many points, held flat to the range's end."""
        hx, hy = hull
        low, high = float(hx[0]), max(float(hx[-1]), end)
        if low <= 0 or high <= low:
            return hx, hy
        x = np.unique(np.r_[np.geomspace(low, high, 400), hx])
        return x, np.interp(x, hx, hy)

    for r in ev.routers:
        hx, hy = dense(r.hull)
        label = f"{r.name} hull (AIQ {r.metrics.aiq:.3f}, curve AIQ {r.metrics.curve_aiq:.3f})"
        (line,) = ax.plot(scale * hx, hy, linewidth=1.5, label=label)
        ax.plot(
            scale * r.curve.cost, r.curve.quality, linestyle="none", marker=".", markersize=2, color=line.get_color(), alpha=0.5
        )
    zx, zy = dense(ev.zero_router.hull)
    ax.plot(
        scale * zx, zy, color="grey", linestyle="--", linewidth=1, label=f"zero router (AIQ {ev.zero_router.metrics.aiq:.3f})"
    )
    ox, oy = dense(ev.oracle.hull)
    ax.plot(scale * ox, oy, color="black", linewidth=1, label=f"oracle (AIQ {ev.oracle.metrics.aiq:.3f})")
    for s in ev.reference.singles:
        ax.plot(scale * s.cost, s.quality, marker="o", markersize=4, color="tab:gray", linestyle="none")
        ax.annotate(s.model.split("/")[-1], (scale * s.cost, s.quality), fontsize=5, xytext=(3, 2), textcoords="offset points")
    best = ev.reference.best
    ax.axhline(best.quality, color="tab:red", linestyle=":", linewidth=0.8, label=f"best single: {best.model}")
    ax.axvspan(
        scale * ev.reference.cost_low, scale * ev.reference.cost_high, color="tab:blue", alpha=0.04, label="AIQ cost range"
    )
    ax.set_xscale("log")
    ax.set_xlabel("cost (USD per 1,000 prompts, log scale)")
    ax.set_ylabel("quality")
    ax.set_title(f"{report.benchmark} ({ev.n_prompts} prompts, {len(report.models)} models)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png")


def nmodel_report_json(report: NModelReport) -> dict[str, Any]:
    """JSON-able full results (NaN becomes null), with every curve's points and hull vertices."""
    out = report.as_dict()
    for res, entry in zip(report.results, out["results"], strict=True):
        hx, hy = res.hull
        entry["curve"] = {
            "cost": res.curve.cost.tolist(),
            "quality": res.curve.quality.tolist(),
            "knob": res.curve.knob.tolist(),
        }
        entry["hull"] = {"cost": hx.tolist(), "quality": hy.tolist()}
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def write_nmodel_outputs(report: NModelReport, directory: str | Path, *, plot: bool = True) -> dict[str, Path]:
    """Write ``<benchmark>.json``, ``<benchmark>.csv``, ``<benchmark>-curves.csv``, ``<benchmark>.png`` and ``summary.json``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stem = slug(report.benchmark, empty="benchmark")
    paths = {
        "json": out / f"{stem}.json",
        "csv": out / f"{stem}.csv",
        "curves": out / f"{stem}-curves.csv",
        "summary": out / "summary.json",
    }
    paths["json"].write_text(
        json.dumps(nmodel_report_json(report), indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8"
    )
    write_nmodel_csv(report, paths["csv"])
    write_nmodel_curves_csv(report, paths["curves"])
    paths["summary"].write_text(json.dumps(_clean(report.summary()), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    if plot:
        write_nmodel_plot(report, out / f"{stem}.png")
        paths["png"] = out / f"{stem}.png"
    return paths
