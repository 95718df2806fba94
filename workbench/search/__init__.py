"""Finding things: the fuzzy index (names, pinyin, initials, codes) and the lookups behind `workbench scores`."""
