"""The signed worksheet: layout, export, signing, keys and keyring, hostile-file checks, verify, re-import."""
