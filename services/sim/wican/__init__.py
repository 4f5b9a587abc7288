"""WiCAN adapter + car simulator (`python -m services.sim.wican`)."""
