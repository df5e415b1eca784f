"""Pictures: the Gantt chart of a plan (one row per agent, labelled bars, precedence
arrows) and the plot of a Pareto front (knee marked).

Needs matplotlib, the optional extra ``quantum-planner[viz]``. It draws on a
bare :class:`matplotlib.figure.Figure` with the Agg canvas, so it never changes
the caller's pyplot backend or opens a window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantum_planner.errors import requires_extra
from quantum_planner.model import Problem, Solution

if TYPE_CHECKING:
    from quantum_planner.tradeoffs import ParetoFront

__all__ = ["gantt", "pareto_plot"]

# ColorBrewer Set3: pale enough for black labels
_PALETTE = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
]  # fmt: skip


def _matplotlib(feature: str = "the Gantt chart") -> tuple[Any, Any]:
    with requires_extra(feature, extra="viz"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    return Figure, FigureCanvasAgg


def gantt(
    problem: Problem, solution: Solution, path: str | Path, *, title: str | None = None
) -> Path:
    """Draw ``solution`` as a Gantt chart and save it to ``path`` (format from the suffix).

    Returns the path written. Raises :class:`~quantum_planner.errors.MissingExtraError` (a
    :class:`ConfigurationError`) naming
    ``pip install 'quantum-planner[viz]'`` when matplotlib is missing.
    """
    figure_cls, canvas_cls = _matplotlib()
    agents = [a.id for a in problem.agents]
    row = {aid: i for i, aid in enumerate(agents)}
    width = max(8.0, min(24.0, 2.0 + solution.makespan * 0.6))
    fig = figure_cls(figsize=(width, 1.0 + 0.6 * len(agents)))
    canvas_cls(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = _PALETTE
    index = {t.id: i for i, t in enumerate(problem.tasks)}
    for aid, entries in solution.schedule.items():
        y = row.get(aid)
        if y is None:
            continue
        for tid, (start, end) in entries.items():
            ax.barh(
                y,
                max(end - start, 1e-9),
                left=start,
                height=0.6,
                color=colours[index.get(tid, 0) % len(colours)],
                edgecolor="black",
                linewidth=0.6,
            )
            ax.text((start + end) / 2, y, tid, ha="center", va="center", fontsize=8, clip_on=True)
    _precedence_arrows(ax, problem, solution, row)
    ax.set_yticks(range(len(agents)), labels=agents)
    ax.invert_yaxis()  # first agent on top, as in the table
    ax.set_xlabel("time")
    ax.set_xlim(0, max(solution.makespan, 1.0) * 1.02)
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    label = title or problem.name or "plan"
    ax.set_title(f"{label}: makespan {solution.makespan:g} ({solution.backend_used or 'unknown'})")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    return out


def _precedence_arrows(ax: Any, problem: Problem, solution: Solution, row: dict[str, int]) -> None:
    """An arrow from the end of each prerequisite to the start of the task that waits on it."""
    for t in problem.tasks:
        iv = solution.interval_of(t.id)
        if iv is None:
            continue
        for dep in problem.prerequisites(t.id):
            div = solution.interval_of(dep)
            if div is None:
                continue
            src = (div[1], row[solution.assignments[dep]])
            dst = (iv[0], row[solution.assignments[t.id]])
            ax.annotate(
                "",
                xy=dst,
                xytext=src,
                arrowprops={"arrowstyle": "->", "color": "dimgray", "lw": 0.8, "alpha": 0.8},
            )


def pareto_plot(front: ParetoFront, path: str | Path, *, title: str | None = None) -> Path:
    """Draw a two- or three-objective front and save it to ``path`` (format from the suffix).

    Two objectives: the points joined as a staircase, the knee ringed and labelled.
    Three: a scatter of the first two objectives coloured by the third. Raises
    :class:`~quantum_planner.errors.MissingExtraError` when matplotlib is missing.
    """
    figure_cls, canvas_cls = _matplotlib("the Pareto front plot")
    fig = figure_cls(figsize=(7.0, 5.0))
    canvas_cls(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = [p.values[0] for p in front.points]
    ys = [p.values[1] for p in front.points]
    if len(front.objectives) == 3:
        zs = [p.values[2] for p in front.points]
        art = ax.scatter(xs, ys, c=zs, cmap="viridis", edgecolor="black", zorder=3)
        fig.colorbar(art, ax=ax, label=front.objectives[2])
    else:
        ax.step(xs, ys, where="post", color="dimgray", linewidth=0.8, zorder=2)
        ax.scatter(xs, ys, color="#80b1d3", edgecolor="black", zorder=3)
    if front.knee is not None:
        kx, ky = xs[front.knee], ys[front.knee]
        ax.scatter(
            [kx], [ky], s=220, facecolors="none", edgecolors="#e31a1c", linewidths=2, zorder=4
        )
        ax.annotate("knee", (kx, ky), xytext=(8, 8), textcoords="offset points", color="#e31a1c")
    ax.set_xlabel(front.objectives[0])
    ax.set_ylabel(front.objectives[1])
    ax.grid(linestyle=":", linewidth=0.5)
    state = "" if front.complete else ", partial"
    ax.set_title(
        f"{title or 'Pareto front'}: {len(front.points)} plans, "
        f"hypervolume {front.hypervolume:.4g}{state}"
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    return out
