"""Deterministic source data for the churn lakehouse: a simulated subscription business.

generate_range(config, landing, start, end) writes one drop per day per source under
`landing` (layout and columns in lakehouse.local.datagen.schema) plus a manifest of every injected
defect, late record and duplicate.
"""

from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.generate import generate_range

__all__ = ["GeneratorConfig", "generate_range"]
