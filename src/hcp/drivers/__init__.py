"""Hardware drivers: one interface to ASICs (CGMiner via pyasic), NVIDIA GPUs (NVML) and simulated units."""
