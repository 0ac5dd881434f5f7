"""Workload router: classification, priority queues, fair share, placement, preemption."""
