"""Shared plumbing: settings, database, event bus, clock, money, errors, logging, metrics."""
