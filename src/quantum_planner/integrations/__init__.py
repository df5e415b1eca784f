"""Adapters that hand the planner's agent tools to agent frameworks (optional extras)."""
