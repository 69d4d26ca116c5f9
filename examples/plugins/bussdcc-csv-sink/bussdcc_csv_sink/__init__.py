"""bussdcc-csv-sink: every event of a bussdcc-framework runtime as a row of a CSV file.

A complete third-party plugin, kept small on purpose: read ``plugin.py`` for the hooks and
``sink.py`` for the sink.
"""

from .sink import COLUMNS, CsvSink

__all__ = ["COLUMNS", "CsvSink"]
__version__ = "1.0.0"
