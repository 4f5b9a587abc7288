"""Smart-meter simulator: house load and PV replayed, simulated BIC added, grid published."""
