"""The deployment-cost study: the application that plans, converts, measures, estimates and reports.

Application layer: it may import every package below it (core, bench, targets, edgekit.models, converters).
"""
