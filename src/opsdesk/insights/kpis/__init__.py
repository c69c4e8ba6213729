"""One KPI engine: every definition of the design's KPI section implemented once, as a pure function of
data frames (``definitions``, ``contacts``), summarised per group (``summary``) and read from the database
by ``loader``. The catalogue and the request checks import nothing heavy, so the command line's help and
the web app start without pandas."""
