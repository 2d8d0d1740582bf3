//! Deterministic demo data: input files for every table, and a live launch-day feed.
