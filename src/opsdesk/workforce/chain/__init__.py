"""The planning chain: customer growth -> contacts per life -> volume -> requirement -> schedule ->
headcount need -> hires and cost. Each link is a pure function over the previous link's output, so a
changed assumption recomputes everything after it (see `build.py` for the order)."""
