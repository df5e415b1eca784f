"""Moved: the per-constraint analysis is :mod:`quantum_planner.analysis` (the library).

Kept so code written against this path keeps working; import from
``quantum_planner.analysis`` instead.
"""

from quantum_planner.analysis import analyse, analyze

__all__ = ["analyse", "analyze"]
