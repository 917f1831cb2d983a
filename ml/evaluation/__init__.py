"""Model evaluation shared by the training job and the promotion gate (ml/registry.py): metrics and the paired
bootstrap comparison of two models on the same held-out rows. Runs on Databricks and locally.
"""
