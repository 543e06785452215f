"""Mail robots (auto-replies): RFC 3834 rules, the reply, and sending it after 250."""

from .responder import RobotResponder

__all__ = ["RobotResponder"]
