"""The app's screens: the queue, scoring a target, search, help and export."""
