"""Store -> forecasts: weekly panel, surge target, model, baselines, backtest, training, scores."""
