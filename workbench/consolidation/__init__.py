"""From returned exports to results: merge, consolidate, agreement, report, disputes, round status."""
