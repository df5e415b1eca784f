"""Request and response bodies of trade-offs: ``/api/pareto`` and ``/api/alternatives``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from quantum_planner.bounds import ALTERNATIVES_MAX, FRONT_POINTS_MAX, no_bool
from quantum_planner.mcp.schemas import OBJECTIVES_HELP, OBJECTIVES_SCHEMA
from quantum_planner.model import Solution
from quantum_planner.service.schemas import JobRequest, JobSummary

_Count = Annotated[int, BeforeValidator(no_bool)]


class ParetoRequest(JobRequest):
    """A problem and the two or three objectives to trade off."""

    # a plain list here: the planner's own check answers an unknown name, one objective
    # or a repeat with a typed error naming `objectives`; the schema shows the same rules
    objectives: list[str] = Field(description=OBJECTIVES_HELP, json_schema_extra=OBJECTIVES_SCHEMA)
    # bounds inside the optional's member, so the schema shows them where a value is given
    points: Annotated[int, Field(ge=2, le=FRONT_POINTS_MAX), BeforeValidator(no_bool)] | None = (
        Field(
            None,
            description="Most points to find (at least the number of objectives); default: as "
            "many as the time allows.",
        )
    )
    reference: (
        Annotated[
            list[Annotated[float, Field(allow_inf_nan=False), BeforeValidator(no_bool)]],
            Field(min_length=2, max_length=3),
        ]
        | None
    ) = Field(
        None,
        description="Hypervolume reference point, one value per objective in their order; "
        "default: each objective's worst value on the front pushed 10% of its range further.",
    )


class AlternativesRequest(JobRequest):
    """A problem, and how many distinct plans to find."""

    k: _Count = Field(5, ge=1, le=ALTERNATIVES_MAX, description="How many plans.")
    min_distance: _Count = Field(
        1,
        ge=1,
        description="Least number of tasks on another agent between any two plans "
        "(at most the task count).",
    )


class FrontPoint(BaseModel):
    """One plan of a front: its objective values, and where it lives as a plan."""

    index: int
    values: dict[str, float] = Field(description="Objective name -> value, each in its sense.")
    knee: bool = Field(description="The front's balanced choice (see `knee`).")
    plan_id: str = Field(description="Opens as a plan: GET /api/plans/{plan_id}.")
    solution_id: str
    solution: Solution


class ParetoFrontView(BaseModel):
    objectives: list[str]
    reference: list[float] = Field(description="The point the hypervolume is measured from.")
    hypervolume: float
    knee: int | None = Field(
        None,
        description="Index of the knee: least sum of objectives normalised to [0, 1] over "
        "the front (0 = the front's best value).",
    )
    complete: bool = Field(description="True when the whole exact front was found in time.")
    elapsed: float
    method: str = Field("", description="cpsat-epsilon, hybrid-epsilon or qubo-weighted.")
    points: list[FrontPoint] = Field(description="Non-dominated plans, by the first objective.")


class ParetoView(JobSummary):
    """A Pareto job: its state, and its front once it succeeded."""

    problem_id: str
    objectives: list[str]
    front: ParetoFrontView | None = Field(None, description="Once the job succeeded.")


class AlternativePlan(BaseModel):
    rank: int = Field(description="0 is the best plan.")
    distance: int | None = Field(None, description="Tasks on another agent than in the best.")
    plan_id: str = Field(description="Opens as a plan: GET /api/plans/{plan_id}.")
    solution_id: str
    objectives: dict[str, float]
    solution: Solution


class AlternativesView(JobSummary):
    """An alternatives job: its state, and its plans once it succeeded."""

    problem_id: str
    k: int
    min_distance: int
    plans: list[AlternativePlan] | None = Field(None, description="Best first, once succeeded.")
