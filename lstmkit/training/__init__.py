"""The life-cycle engine: compile configuration, data checks, the fit/evaluate/predict loops, progress."""
