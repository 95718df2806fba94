"""The round database and the reviewer package: schema and migrations, typed reads, the one writer of scores."""
