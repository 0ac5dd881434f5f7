"""What goes wrong with a simulated GPU: the faults it can carry and the errors it raises.

Faults follow NVIDIA's: XID errors (48, a double-bit ECC error, by default), a fall off the bus
(XID 79) and thermal throttling from failed cooling.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final


class GpuError(Exception):
    """Base class for errors raised by the simulated GPUs."""


class GpuFaulted(GpuError):
    """The unit carries a fault (XID error, thermal throttle, off the bus) and refuses the request."""


class GpuUnavailable(GpuFaulted):
    """The unit fell off the bus (XID 79): it answers nothing until it is reset."""


class SwitchInProgress(GpuError):
    """A switch is already running on this unit; switches on one unit never overlap."""


class SwitchAborted(GpuError):
    """A fault hit the unit while it was switching; the unit is left without a workload."""


class GpuFault(StrEnum):
    XID_ERROR = "XID_ERROR"
    THERMAL_THROTTLE = "THERMAL_THROTTLE"
    FALLEN_OFF_BUS = "FALLEN_OFF_BUS"


XID_FALLEN_OFF_BUS: Final = 79
XID_DEFAULT: Final = 48  # double-bit ECC error: kills the running process, needs a GPU reset
# A failed cold plate or fan: the die heats ~2.4x faster per watt, which drives it past slowdown.
THERMAL_FAULT_RESISTANCE_FACTOR: Final = 2.4
# HW slowdown halves-ish the SM clock; HBM steps down one notch.
THROTTLE_SM_CLOCK_RATIO: Final = 0.6
THROTTLE_MEM_CLOCK_RATIO: Final = 0.8


class FaultCode(IntEnum):
    """Most severe fault present, for the vectorised `fault_code` array."""

    NONE = 0
    THERMAL_THROTTLE = 1
    XID_ERROR = 2
    FALLEN_OFF_BUS = 3

