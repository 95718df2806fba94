"""Setting up a round: the coordinator's set-up files, past results, reviewer packages, the demo round."""
