"""The analysis engine: from a workload to new DDL, migrations, retargeted queries and a report.

`analyze` runs the pipeline (see `domain.analysis.engine`); each pass lives in its own module
and documents what it decides: `parse`, `catalog`, `profile`, `layout`, `migrate`, `retarget`,
`report`.
"""

from domain.analysis.engine import ENGINE, STAGES, StageCallback, analyze

__all__ = ["ENGINE", "STAGES", "StageCallback", "analyze"]
