"""Outputs of an evaluation: console table, JSON, CSV and a PNG plot."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..slug import slug
from .metrics import Curve
from .runner import EvalReport


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
