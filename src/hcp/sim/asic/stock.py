"""The CGMiner API command set of stock Antminer firmware (bmminer, an S21 or an S19 XP): read-only.

Stock firmware answers the read commands and refuses every command that would change state
("access denied"); HCP controls such a unit through its web interface instead (`web.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hcp.sim.asic import cgminer_replies as replies
from hcp.sim.asic.cgminer_protocol import CODE_VERSION, status
from hcp.sim.asic.cgminer_replies import (
    STOCK_API_VERSION,
    STOCK_BMMINER_VERSION,
    STOCK_COMPILE_TIME,
    STOCK_DESCRIPTION,
    STOCK_MINER_VERSION,
    Context,
)

READ_ONLY = frozenset({"version", "summary", "stats", "estats", "pools", "devs", "edevs", "devdetails", "config"})
# cgminer commands that change state: stock Antminer firmware answers them "access denied".
PRIVILEGED = frozenset({
    "switchpool", "enablepool", "disablepool", "addpool", "removepool", "poolpriority", "poolquota",
    "save", "quit", "restart", "privileged", "notify", "ascenable", "ascdisable", "ascset", "pgaenable",
    "pgadisable", "pgaset", "setconfig", "zero", "hotplug", "debug", "failover-only", "lockstats",
})


def version(ctx: Context) -> dict[str, Any]:
    return {
        "STATUS": [status(CODE_VERSION, "BMMiner versions", ctx.when, STOCK_DESCRIPTION)],
        "VERSION": [{
            "BMMiner": STOCK_BMMINER_VERSION, "API": STOCK_API_VERSION, "Miner": STOCK_MINER_VERSION,
            "CompileTime": STOCK_COMPILE_TIME, "Type": ctx.snap["model"],
        }],
        "id": 1,
    }


Command = Callable[[Context], dict[str, Any]]

# The sections both firmwares answer, by command name ("estats" and "edevs" are aliases).
SHARED: dict[str, Command] = {
    "summary": replies.summary, "stats": replies.stats, "estats": replies.stats,
    "pools": replies.pools, "devs": replies.devs, "edevs": replies.devs,
    "devdetails": replies.devdetails, "config": replies.config,
}
COMMANDS: dict[str, Command] = {**SHARED, "version": version}
