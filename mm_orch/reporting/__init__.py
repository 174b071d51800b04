"""The trace report: ``mm-orch report data/traces -o report.html`` (one self-contained HTML file of plots)."""
