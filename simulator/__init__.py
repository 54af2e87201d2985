"""segway-sim: a high-fidelity simulator of the Segway fleet cloud."""

__version__ = "0.1.0"
