"""The hybrid quantum-inspired solver: constructive start, then large-neighbourhood search.

Modules: :mod:`.solver` (``HybridSolver``, its options, the dispatch),
:mod:`.assignment` (the assignment pipeline as phases), :mod:`.parts` (its
starts, restarts and QUBO steps), :mod:`.scheduling` (the scheduling race).
Both paths keep their best plan in one
:class:`~quantum_planner.solvers.anytime.Incumbent`.

Assignment problems (no makespan objective, no deadlines; generalized
assignment is the benchmark):

1. **Start** (well under a second): regret greedy, then a short tabu repair so
   that a feasible plan exists early.
2. **LP relaxation** (HiGHS, :mod:`lp`) in a background thread: its optimum is
   the lower bound reported with the plan, its rounding a second start, and
   its capacity duals price the candidate agents of each task.
3. **Local search** (:mod:`~quantum_planner.solvers.generalized_assignment`,
   numba, releases the GIL): shift and swap (2-ejection-chain) moves on each
   task's agent as one categorical variable, tabu list, capacity by an adaptive penalty.
4. **Race, then k-agent LNS** on the second core: CP-SAT on the whole problem for
   the first 10% of the limit (small problems get proven), then a thread
   (:mod:`lns`) that re-optimises all tasks of a few related agents exactly with
   CP-SAT, the rest fixed; gains are merged into the search's best plan. When the
   tabu search stalls, its own core solves such subproblems too.
5. **QUBO subproblems** (:mod:`subqubo`): a few agents and their tasks become a
   small QUBO with exact one-hot penalties and adaptive Lagrangian capacity
   terms, sampled by a quantum-inspired sampler, decoded, accepted when feasible
   and better. With the LNS they are every 4th LNS step, solved by CP-SAT too
   for comparison; without it (one worker, deterministic runs) the stalled
   search samples them and resumes from the decode.

Scheduling problems (makespan or deadlines; flexible job shop is the
benchmark): a list-scheduling start, then a tabu search on the critical path
(:mod:`~quantum_planner.solvers.shop_tabu`) when the problem is shop-like
(:mod:`.scheduling`); CP-SAT, warm-started from the start plan, uses the other
core for a short first phase (proofs of small problems), then a second tabu
search sharing the best plan.
The best plan of all wins.

Anytime: the best plan is kept throughout; ``progress`` is called on every
improvement (at most every 0.1 s), ``stop`` and ``time_limit`` are honoured
between kernel chunks (a chunk lasts a few milliseconds).
"""

from quantum_planner.solvers.hybrid.solver import HybridSolver

__all__ = ["HybridSolver"]
