"""Trade-offs: Pareto fronts of plans and top-k distinct alternatives (docs/TRADEOFFS.md).

* :func:`pareto_front` (``QuantumTaskPlanner.pareto``): valid, mutually
  non-dominated plans over two or three objectives, with hypervolume and knee.
* :func:`alternatives` (``QuantumTaskPlanner.alternatives``): the best plans that
  differ pairwise in at least ``min_distance`` task->agent assignments.
* :func:`hypervolume`: exact hypervolume in two and three dimensions.
"""

from quantum_planner.tradeoffs.alternatives import alternatives
from quantum_planner.tradeoffs.front import ParetoFront, ParetoPoint
from quantum_planner.tradeoffs.hypervolume import hypervolume
from quantum_planner.tradeoffs.pareto import pareto_front

__all__ = ["ParetoFront", "ParetoPoint", "alternatives", "hypervolume", "pareto_front"]
