"""Verification by execution: the pipeline's last step (see `verified_analyzer`)."""
