"""Publishing a round's results as a signed bundle with its public results page, and auditing a bundle."""
