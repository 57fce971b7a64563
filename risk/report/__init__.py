"""Reports for the analyst: alerts over the scores, the weekly brief."""
