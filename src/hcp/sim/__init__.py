"""The digital twin: simulated GPUs, ASICs and market data, speaking the real protocols."""
