"""The account lifecycle: an owner per phase (implementation manager, CSM, renewal owner), hand-off
checklists at each stage change with tasks for the next phase's owner, and time-in-stage reporting
computed from the stage-change events."""
