"""Calls and their waiting lines: the call record, per-skill lines ordered by effective arrival, wait estimates."""
