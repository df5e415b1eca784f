"""Quantum-inspired samplers: Ocean-compatible ``dimod.Sampler`` classes on numba kernels.

Use them on any ``dimod.BinaryQuadraticModel`` (SPIN or BINARY, any labels)::

    from quantum_planner.samplers import SimulatedAnnealingSampler
    sampleset = SimulatedAnnealingSampler().sample(bqm, num_reads=10, seed=1, time_limit=2.0)

All take ``num_reads``, ``seed``, ``initial_states`` and ``time_limit`` (seconds,
honoured inside a read). Only dimod, numpy and numba are needed. See docs/SAMPLERS.md.
"""

from quantum_planner.samplers.parallel_tempering import ParallelTemperingSampler
from quantum_planner.samplers.population_annealing import PopulationAnnealingSampler
from quantum_planner.samplers.simulated_annealing import SimulatedAnnealingSampler
from quantum_planner.samplers.simulated_bifurcation import SimulatedBifurcationSampler
from quantum_planner.samplers.tabu import TabuSampler

__all__ = [
    "ParallelTemperingSampler",
    "PopulationAnnealingSampler",
    "SimulatedAnnealingSampler",
    "SimulatedBifurcationSampler",
    "TabuSampler",
]
