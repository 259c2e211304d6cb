"""One folder per source: client (talks to the outside), schemas (Pandera), assets (Dagster)."""
