"""``python -m quantum_planner``: the same as the ``quantum-planner`` command."""

from quantum_planner.cli import main

if __name__ == "__main__":
    main()
