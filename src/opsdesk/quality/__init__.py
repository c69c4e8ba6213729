"""Quality assurance: rubrics, reviews, calibration."""
