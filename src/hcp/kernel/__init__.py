"""The shared kernel: what several domains need and none owns. Hashprice arithmetic, the GPU
catalogue, the price CSV format, the closed vocabularies (`enums`) and the events on the bus.

It sits just above `hcp.core` and imports no domain (see the layers in pyproject.toml)."""
