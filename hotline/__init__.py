"""Hotline: the telephone hotline of an IT helpdesk (IVR, queues, roster-aware routing)."""

__version__ = "0.1.0"
