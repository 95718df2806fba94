"""The indicator system and the scoring rules: values, totals, vetoes, gates, bonus, grade bands, ranks."""
