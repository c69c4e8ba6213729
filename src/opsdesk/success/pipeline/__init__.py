"""Renewal and expansion opportunities, stage probabilities and the pipeline forecast."""
