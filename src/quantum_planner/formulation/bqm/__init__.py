"""The formulation's BQM builder: a :class:`~quantum_planner.model.Problem` as a
labelled ``dimod.BinaryQuadraticModel`` with one penalty weight per constraint kind.

Split by concept: :mod:`.variables` (mode, time grid, ``x`` variables),
:mod:`.terms` (the constraint catalogue's QUBO terms), :mod:`.objectives`
(objective terms, lexicographic weights), :mod:`.penalties` (weight tuning) and
:mod:`.slack` (inequalities as slack-bit equalities); :mod:`.builder` ties them
into :class:`QUBOBuilder`.
"""

from quantum_planner.formulation.bqm.builder import QUBOBuilder
from quantum_planner.formulation.bqm.terms import CONSTRAINT_KINDS, LEGACY_KINDS, QUBO_RULES
from quantum_planner.formulation.bqm.variables import Mode, VarInfo

__all__ = ["CONSTRAINT_KINDS", "LEGACY_KINDS", "QUBO_RULES", "Mode", "QUBOBuilder", "VarInfo"]
