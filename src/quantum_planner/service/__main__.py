"""``python -m quantum_planner.service serve|keys ...``."""

from quantum_planner.service.cli import main

if __name__ == "__main__":  # spawned solver processes re-import this module: do not re-run
    main()
