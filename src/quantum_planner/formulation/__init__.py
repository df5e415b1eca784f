"""QUBO and CQM formulations of planning problems, and decoding samples back to plans."""

from quantum_planner.formulation.bqm import CONSTRAINT_KINDS, QUBOBuilder
from quantum_planner.formulation.decode import best_of, decode, plan_violations, repair

__all__ = [
    "CONSTRAINT_KINDS",
    "QUBOBuilder",
    "best_of",
    "decode",
    "plan_violations",
    "repair",
]
