"""BIC-2200 simulator: the register map over python-can, a battery behind it (``python -m``)."""
