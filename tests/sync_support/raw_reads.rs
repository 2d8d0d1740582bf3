//! (metric, raw table) reads still open in issue 17: they must move to rollups before a
//! synced store shows these metrics. `time_to_value_h` reads each user's first activation
//! event from the raw events. Shrinking this list is progress; growing it is a regression
//! (tests/sync_metric_tables.rs holds it exact).
pub const KNOWN_RAW_READS: &[(&str, &str)] = &[("time_to_value_h", "events")];
