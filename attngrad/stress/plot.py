"""The stress figure: relative error of each method against B / sqrt(ln n)."""
from __future__ import annotations

import math

CEILING = 1e2      # non-finite outputs are drawn here
FLOOR = 1e-17      # exact zeros are drawn here


def figure(result, path):
    """Write a PNG: one panel per method, error against B / sqrt(ln n) (log axes).

    Solid lines: random sign entries (easy and sweep families) at the largest n, one
    colour per budget; dotted: the same at smaller n; hollow circles on dashed lines:
    planted pairs; stars: the reduction's instances. The threshold B = sqrt(ln n) and
    the target error are marked, and every crossing of the target by a solid line is a
    triangle (pointing down where the method becomes worse than the target as B grows,
    up where it becomes better).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in result["records"] if r["method"] != "exact"
               and r["status"] in ("ok", "nonfinite")]
    methods = list(dict.fromkeys(r["method"] for r in records))
    if not methods:
        raise ValueError("figure: no successful approximation records to plot")
    target = result["config"]["target"]
    n_max = max(r["n"] for r in records)
    sizes = sorted({r["n"] for r in records})
    cols = min(2, len(methods))
    rows = math.ceil(len(methods) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.4 * rows), squeeze=False)
    cross = {(c["method"], c["budget"]): c["crossings"] for c in result["crossings"]
             if c["family"] == "random" and c["n"] == n_max}
    finite = [r["rel_error"] for r in records if r["rel_error"]]
    lowest = max(FLOOR, min(finite) / 10) if finite else FLOOR
    ratios = [r["ratio"] for r in records]

    def y(r):
        if r["rel_error"] is None:
            return CEILING
        return max(r["rel_error"], lowest)

    for ax, method in zip(axes.flat, methods):
        rs = [r for r in records if r["method"] == method]
        budgets = list(dict.fromkeys(r["budget"] for r in rs))
        cmap = plt.get_cmap("viridis")
        kind = rs[0]["budget_kind"] or "budget"
        marked = 0
        for i, b in enumerate(budgets):
            colour = cmap(0.9 * i / max(1, len(budgets) - 1))
            for n in sizes:
                mine = [r for r in rs if r["budget"] == b and r["n"] == n]
                rnd = sorted((r for r in mine if r["family"] in ("easy", "sweep")),
                             key=lambda r: r["ratio"])
                if rnd:
                    ax.plot([r["ratio"] for r in rnd], [y(r) for r in rnd],
                            "-" if n == n_max else ":", color=colour, marker=".",
                            lw=1.6 if n == n_max else 0.9,
                            label=f"{kind} {b}" if n == n_max else None)
                pl = sorted((r for r in mine if r["family"] == "planted"), key=lambda r: r["ratio"])
                if pl:
                    ax.plot([r["ratio"] for r in pl], [y(r) for r in pl],
                            "--" if n == n_max else ":", color=colour, marker="o", mfc="none",
                            lw=0.7)
                rd = [r for r in mine if r["family"] == "reduction"]
                if rd:
                    ax.plot([r["ratio"] for r in rd], [y(r) for r in rd], "*", color=colour,
                            ms=10 if n == n_max else 6, mec="k", mew=0.3)
            for c in cross.get((method, b), []):
                marked += 1
                ax.plot([c["ratio"]], [target], "v" if c["direction"] == "up" else "^",
                        color=colour, ms=10, mec="k", zorder=5)
                ax.annotate(f"{c['ratio']:.2f}", (c["ratio"], target), textcoords="offset points",
                            xytext=(0, 10 if c["direction"] == "up" else -16), ha="center",
                            fontsize=7, color=colour)
        ax.axhline(target, color="crimson", lw=0.8, ls="--")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.text(1.04, 0.03, "B = sqrt(ln n)", transform=ax.get_xaxis_transform(), fontsize=7)
        ax.text(0.01, target * 2, f"target {target:g}", transform=ax.get_yaxis_transform(),
                fontsize=7, color="crimson")
        if not marked:
            ax.text(0.5, 0.93, f"no crossing of {target:g} at n = {n_max} on this grid",
                    transform=ax.transAxes, ha="center", fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(min(ratios) / 1.2, max(ratios) * 1.2)
        ax.set_ylim(lowest / 3, CEILING * 3)
        ax.set_xlabel("B / sqrt(ln n)")
        ax.set_ylabel("relative error of dL/dX (max norm)")
        ax.set_title(method)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    smaller = ", ".join(str(n) for n in sizes if n != n_max)
    fig.suptitle(f"attngrad stress. Lines: random sign entries at n = {n_max}"
                 + (f" (dotted: n = {smaller})" if smaller else "")
                 + "; hollow circles: planted close pair; stars: SETH reduction;"
                 f" triangles: crossings of {target:g}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
