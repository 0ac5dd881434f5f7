"""Orchestrator: the workload lifecycle, executing plans and switches, reconciliation."""
