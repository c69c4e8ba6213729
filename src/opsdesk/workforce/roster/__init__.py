"""Named agents on the scheduler's lines: the pure assignment (assign), the week read from a plan run
(queries) and its writes (actions)."""
