"""Simulated Antminer S21 miners: vectorised physics and the network servers pyasic talks to."""
