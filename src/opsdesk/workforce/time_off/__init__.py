"""Time off for named agents: an agent asks, a support lead or admin decides, and an approved absence
is published beside the agent's shifts so that routing treats the agent as off shift."""
