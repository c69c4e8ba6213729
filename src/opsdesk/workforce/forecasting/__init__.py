"""Contact-volume forecasting: history in, interval forecasts with prediction intervals out."""
