"""The queue engine: pure, no I/O. See :mod:`ticket_machine.engine.engine`."""

from ticket_machine.engine.engine import CommandError, Context, Outcome, QueueEngine
from ticket_machine.engine.estimate import ServiceTimes
from ticket_machine.engine.model import StepStatus, TicketStatus

__all__ = ["CommandError", "Context", "Outcome", "QueueEngine", "ServiceTimes", "StepStatus", "TicketStatus"]
