"""QUBO and CQM formulations of planning problems, and decoding samples back to plans."""

from quantum_planner.formulation.decode import best_of, decode, plan_violations, repair
from quantum_planner.formulation.qubo import CONSTRAINT_KINDS, QUBOBuilder

__all__ = [
    "CONSTRAINT_KINDS",
    "QUBOBuilder",
    "best_of",
    "decode",
    "plan_violations",
    "repair",
]
