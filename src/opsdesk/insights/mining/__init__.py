"""Process mining: variants, the directly-follows graph with waiting times, bottlenecks, rework and time
in status, computed vectorised over an event log (case, activity, timestamp[, resource]).

Pure: frames and arrays in, frames and plain data out; numpy and pandas are imported inside functions."""
