"""Resource manager: facilities, units, discovery, health, telemetry, capacity, allocations."""
