"""Presenting the plan and the organizers' picture (pure): tables and JSON."""
