"""Playbooks: triggers over account state that create CSM tasks from templates, and success plans."""
