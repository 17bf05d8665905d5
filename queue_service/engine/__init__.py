"""The queue engine: pure, no I/O. See :mod:`queue_service.engine.engine`."""

from queue_service.engine.engine import CommandError, Context, Outcome, QueueEngine
from queue_service.engine.estimate import ServiceTimes
from queue_service.engine.model import StepStatus, TicketStatus

__all__ = ["CommandError", "Context", "Outcome", "QueueEngine", "ServiceTimes", "StepStatus", "TicketStatus"]
