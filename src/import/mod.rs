//! Readers (CSV, NDJSON, JSON) → validated typed rows → store. No UI here.
