"""HCP: the MARA Hybrid Compute Platform, one control plane for mining ASICs and AI GPUs."""

__version__ = "0.1.0"
