"""Customer health: configurable weighted scorecards, score history, overrides and their backtest."""
