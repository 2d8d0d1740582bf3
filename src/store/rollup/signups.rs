//! Customers per signup day and segment (`ru_signups_day`): the new customers, CAC and the
//! lists of customer channels, plans and regions read a few rows per day from it instead
//! of every customer. Each day's rows are a pure function of that day's customers, so a
//! refresh deletes the touched days and counts them again (a customer moved to another
//! day or segment touches its old and new day), and the same statement serves a rebuild.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

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

/// A row on which `ru_signups_day` as written (by another engine, from the customers'
/// export) and the store's own customers disagree, as `day channel plan region: written
/// N, stored M`; `None` when they agree on every row. A sync's customers reach the store
/// through `kpi import`'s validation and the engine as exported: where the two read the
/// export differently (a signup date not as `YYYY-MM-DD`, a rejected row), the cohorts
/// the engine counted are not those of the store's customers.
pub fn disagreement(conn: &Connection) -> rusqlite::Result<Option<String>> {
    const STORED: &str = "SELECT signup_date AS day, channel, plan, region, COUNT(*) AS customers
                          FROM customers GROUP BY signup_date, channel, plan, region";
    const WRITTEN: &str = "SELECT day, channel, plan, region, customers FROM ru_signups_day";
    let sql = format!(
        "SELECT d.day, d.channel, d.plan, d.region,
                (SELECT customers FROM ru_signups_day w WHERE w.day IS d.day
                   AND w.channel IS d.channel AND w.plan IS d.plan AND w.region IS d.region),
                (SELECT COUNT(*) FROM customers c WHERE c.signup_date IS d.day
                   AND c.channel IS d.channel AND c.plan IS d.plan AND c.region IS d.region)
         FROM (SELECT * FROM ({WRITTEN} EXCEPT {STORED})
               UNION ALL SELECT * FROM ({STORED} EXCEPT {WRITTEN})) d
         ORDER BY 1 LIMIT 1"
    );
    conn.query_row(&sql, [], |r| {
        let text = |i: usize| -> rusqlite::Result<String> {
            Ok(r.get::<_, Option<String>>(i)?.unwrap_or_else(|| "-".into()))
        };
        Ok(format!(
            "{} {} {} {}: {} written, {} stored",
            text(0)?,
            text(1)?,
            text(2)?,
            text(3)?,
            r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            r.get::<_, i64>(5)?
        ))
    })
    .optional()
}
