"""The planner's agent tools, transport-free: name, description, input and output models.

The MCP server (:mod:`quantum_planner.mcp.server`) and the LangChain tools
(:mod:`quantum_planner.integrations.langchain`) are both built from
:data:`TOOLS`, so hosts see the same names, schemas and behaviour everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from quantum_planner.mcp import schemas as S
from quantum_planner.mcp.ops import PlannerOps


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what the model sees (name, description, schemas) and what it runs."""

    name: str
    title: str
    description: str
    input: type[BaseModel]
    output: type[BaseModel]
    run: Callable[[PlannerOps, Any], BaseModel]
    read_only: bool = True

    def call(self, ops: PlannerOps, arguments: dict[str, Any]) -> BaseModel:
        """Validate ``arguments`` against the input model and run the tool."""
        return self.run(ops, self.input.model_validate(arguments))


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "plan",
        "Plan tasks for a team",
        "Assign tasks to agents and schedule them. Send the problem (agents with skills and "
        "capacity, tasks with required skills, durations, dependencies, deadlines). Returns a "
        "job_id at once; poll plan_status, then get_plan. With wait_seconds (up to 10) a small "
        "problem's plan comes back directly in `plan` when it finishes in time.",
        S.PlanInput,
        S.PlanResult,
        lambda ops, a: ops.plan(a),
        read_only=False,
    ),
    ToolSpec(
        "replan",
        "Re-plan after changes",
        "Re-plan a succeeded job's plan when the world changed (a task done or started, an "
        "agent gone, a new task, a longer task), moving as few tasks as it can. Started, "
        "completed and frozen tasks keep their agent and start. Returns a new job_id (and its "
        "plan, with 'disruption' counts, when wait_seconds suffices); poll it like a plan.",
        S.ReplanInput,
        S.PlanResult,
        lambda ops, a: ops.replan(a),
        read_only=False,
    ),
    ToolSpec(
        "pareto",
        "Trade-off: a Pareto front of plans",
        "Plans that trade off two or three objectives (e.g. minimize_cost against "
        "minimize_makespan): none is better on every objective than another. Each comes with "
        "its objective values and KPIs; the 'knee' is the balanced choice. Use it when the "
        "user asks what a shorter schedule costs, or wants options. Returns a job_id; poll "
        "get_tradeoffs (or pass wait_seconds).",
        S.ParetoInput,
        S.TradeoffResult,
        lambda ops, a: ops.pareto(a),
        read_only=False,
    ),
    ToolSpec(
        "alternatives",
        "Alternative plans",
        "The k best plans that differ pairwise in at least min_distance task assignments "
        "(who does what; start times ignored), best first, each with its distance to the "
        "best. Returns a job_id; poll get_tradeoffs (or pass wait_seconds).",
        S.AlternativesInput,
        S.TradeoffResult,
        lambda ops, a: ops.alternatives(a),
        read_only=False,
    ),
    ToolSpec(
        "get_tradeoffs",
        "Get a trade-off job's plans",
        "State of a pareto or alternatives job, and once done its plans: objective values, "
        "KPIs, the full solution of each, the front's hypervolume and knee.",
        S.JobRef,
        S.TradeoffResult,
        lambda ops, a: ops.tradeoffs(a.job_id),
    ),
    ToolSpec(
        "plan_status",
        "Planning job status",
        "State of a planning job (queued, running, succeeded, failed, cancelled), its "
        "progress and the best score found so far.",
        S.JobRef,
        S.JobStatus,
        lambda ops, a: ops.status(a.job_id),
    ),
    ToolSpec(
        "get_plan",
        "Get a plan",
        "The job's plan: tasks per agent, the schedule (start and end of each task), tasks "
        "left unassigned and KPIs (makespan, objectives, feasibility). While the job runs, "
        "the best plan so far.",
        S.JobRef,
        S.Plan,
        lambda ops, a: ops.get_plan(a.job_id),
    ),
    ToolSpec(
        "cancel_plan",
        "Cancel a planning job",
        "Cancel a queued or running job; its best plan so far stays available.",
        S.JobRef,
        S.JobStatus,
        lambda ops, a: ops.cancel(a.job_id),
        read_only=False,
    ),
    ToolSpec(
        "explain_plan",
        "Explain a plan",
        "Per-constraint analysis of the job's plan: which constraints are violated, which "
        "are binding (no slack: the bottlenecks), objective values and per-agent load.",
        S.JobRef,
        S.Explanation,
        lambda ops, a: ops.explain(a.job_id),
    ),
    ToolSpec(
        "validate_plan",
        "Validate a plan",
        "Check a plan against every hard constraint: a job's plan (job_id), or a problem and "
        "a solution given inline (for a plan edited by hand). Lists each violation.",
        S.ValidateInput,
        S.ValidationResult,
        lambda ops, a: ops.validate(a),
    ),
    ToolSpec(
        "list_backends",
        "List solver backends",
        "Backends and solvers a plan may name in `backend`, whether each is enabled, and "
        "what it is (classical, quantum, hybrid). Leave `backend` out to let the planner "
        "choose ('auto').",
        S.NoInput,
        S.BackendList,
        lambda ops, a: ops.backends(),
    ),
)
