"""``quantum-planner worker``: run a Celery worker that solves queued jobs.

The core CLI calls :func:`register` when this module imports (Celery is an optional extra).
"""

from __future__ import annotations

import os

import typer


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to the ``quantum-planner`` CLI."""

    @app.command("worker")
    def worker(
        concurrency: int = typer.Option(
            0, "--concurrency", "-c", help="Solver processes (0: the CPU count)."
        ),
        loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Celery log level."),
        hostname: str = typer.Option(
            "",
            "--hostname",
            "-n",
            help="Node name (default qp-<pid>-<4 hex>@<host>: unique, so workers sharing "
            "a host do not hide each other; Celery expands %h to the host name).",
        ),
        queues: str = typer.Option(
            "",
            "--queues",
            "-Q",
            help="Comma list of queues, first served first (default: sync solves, then jobs).",
        ),
        max_tasks_per_child: int = typer.Option(
            0, "--max-tasks-per-child", help="Recycle a solver process after N tasks (0: never)."
        ),
        solve_entry: str = typer.Option(
            "",
            "--solve-entry",
            envvar="QP_SOLVE_ENTRY",
            help="module:function that solves (default: the planner); for tests and plug-ins.",
        ),
    ) -> None:
        """Solve jobs from the Redis queue (QP_REDIS_URL) into the database (QP_DATABASE_URL).

        SIGTERM stops taking jobs and lets running ones finish (warm shutdown); a second
        SIGTERM or SIGQUIT stops at once, and the jobs it held are re-queued by the API.
        """
        from quantum_planner.errors import requires_extra

        with requires_extra("quantum-planner worker"):
            from quantum_planner.jobs.celery_app import WORKER_QUEUES, get_app
        from quantum_planner.jobs.liveness import default_node_name

        app = get_app()
        if solve_entry:
            app.conf.qp_solve_entry = solve_entry
        argv = [
            "worker",
            f"--loglevel={loglevel}",
            f"--queues={queues or ','.join(WORKER_QUEUES)}",
            f"--concurrency={concurrency or os.cpu_count() or 1}",
            "--without-gossip",  # liveness comes from qp:worker:* keys, not gossip
            "--without-mingle",
            f"--hostname={hostname or default_node_name()}",
        ]
        if max_tasks_per_child:
            argv.append(f"--max-tasks-per-child={max_tasks_per_child}")
        app.worker_main(argv)


def main() -> None:
    """Standalone entry (``python -m quantum_planner.jobs.cli worker``) without the core CLI."""
    cli = typer.Typer(add_completion=False, no_args_is_help=True)

    @cli.callback()
    def _root() -> None:
        """quantum-planner job workers."""

    register(cli)
    cli()


if __name__ == "__main__":
    main()
