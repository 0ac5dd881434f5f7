"""What the billing domain runs: the payment provider and, unless turned off, the metering
consumer and the monthly close / mining accrual loop."""

from __future__ import annotations

from hcp.billing.loop import BillingLoop, Payments
from hcp.core.component import Component
from hcp.core.platform import Platform


def components(platform: Platform) -> list[Component]:
    made: list[Component] = [Payments()]
    if platform.settings.billing.run:
        made.append(BillingLoop(platform))
    return made
