"""``warmup``: compile the numba kernels ahead of the first solve."""

from __future__ import annotations

from typing import Annotated

import typer

from quantum_planner.cli.common import app, user_errors


@app.command()
def warmup(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only the steps whose name contains this (repeatable)."),
    ] = None,
) -> None:
    """Compile every numba kernel the samplers and solvers use (fills numba's disk cache).

    Run once at install or image-build time, as the service's user with its
    NUMBA_CACHE_DIR, so no solve pays for compilation (docs/SAMPLERS.md).
    """
    from quantum_planner.warmup import warmup as run_warmup

    with user_errors():
        report = run_warmup(echo=typer.echo, only=only)
    for k in report.kernels:
        if k.compiled or k.loaded:
            how = f"compiled {k.compiled}" if k.compiled else f"loaded {k.loaded} from cache"
            typer.echo(f"  {k.name}: {how}")
    typer.echo(
        f"warmup: {report.compiled} signatures compiled, {report.loaded} loaded from cache, "
        f"{report.seconds:.1f} s (cache: {report.cache_dir})"
    )
