//! Customers per signup day and segment (`ru_signups_day`): the new customers, CAC and the
//! lists of customer channels, plans and regions read a few rows per day from it instead
//! of every customer. Each day's rows are a pure function of that day's customers, so a
//! refresh deletes the touched days and counts them again (a customer moved to another
//! day or segment touches its old and new day), and the same statement serves a rebuild.

use chrono::NaiveDate;
use rusqlite::{Connection, params};

/// The customer columns the rollup keeps, each a segment dimension.
pub const SIGNUP_COLUMNS: [&str; 3] = ["channel", "plan", "region"];

/// Customers signed up from `from` to `to`, counted again by day and segment.
pub fn refresh_days(conn: &Connection, from: NaiveDate, to: NaiveDate) -> rusqlite::Result<()> {
    let p = params![from.to_string(), to.to_string()];
    conn.prepare_cached("DELETE FROM ru_signups_day WHERE day BETWEEN ?1 AND ?2")?
        .execute(p)?;
    conn.prepare_cached(
        "INSERT INTO ru_signups_day (day, channel, plan, region, customers)
         SELECT signup_date, channel, plan, region, COUNT(*) FROM customers
         WHERE signup_date BETWEEN ?1 AND ?2
         GROUP BY signup_date, channel, plan, region",
    )?
    .execute(p)?;
    Ok(())
}

/// Every customer counted again, whatever its signup text: a rebuild must not depend on
/// the days parsing.
pub fn recount(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM ru_signups_day", [])?;
    conn.execute(
        "INSERT INTO ru_signups_day (day, channel, plan, region, customers)
         SELECT signup_date, channel, plan, region, COUNT(*) FROM customers
         GROUP BY signup_date, channel, plan, region",
        [],
    )?;
    Ok(())
}
