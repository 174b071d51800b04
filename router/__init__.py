"""Router training: traces -> outcome labels -> Ray Data featurization -> fit -> evaluate -> publish.

Entry point: ``python -m router.train --traces DIR --output models/router_v2`` (also as a Ray job).
"""

from router.labels import LabelRule, label_from_row, label_from_trace
from router.pipeline import TrainReport, TrainSettings, run_training

__all__ = ["LabelRule", "TrainReport", "TrainSettings", "label_from_row", "label_from_trace", "run_training"]
