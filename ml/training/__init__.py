"""Training job: labels, point-in-time training set, time split, the sklearn Pipeline, metrics, plots."""
