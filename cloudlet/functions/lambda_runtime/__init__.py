"""Files that run inside execution environments (stdlib only; see ``bootstrap``)."""
