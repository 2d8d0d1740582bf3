//! The live launch-day feed behind `kpi demo --live DIR`: it appends rows to growing
//! files and now and then drops a new file, the way exporters do, so that
//! `kpi --watch DIR` can be watched moving.
//!
//! Time inside the feed is simulated: it starts the day after the demo data ends and
//! advances a fixed step per row, so the rows continue the scenario's last week
//! whatever the wall clock says. The wall clock only paces the writing (`rate`).
//!
//! Every batch is written as whole lines with one `write_all` and flushed; the stop
//! flag is only looked at between batches, so a stopped feed never leaves a half line.

use super::DemoError;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, NaiveTime, TimeDelta};

use super::generate::customer_id;
use super::rng::Rng;
use super::scenario::*;
use super::write::{cents, header, money, ts_offset, ts_utc, write_then_rename};

/// The growing files, by table. CSV, because a CSV that only grew is imported from
/// where the last import stopped.
pub const LIVE_FILES: [(&str, &str); 5] = [
    ("events", "events_live.csv"),
    ("orders", "orders_live.csv"),
    ("surveys", "surveys_live.csv"),
    ("tickets", "tickets_live.csv"),
    ("customers", "customers_live.csv"),
];

#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub seed: u64,
    /// Customers of the demo data set the feed's rows may refer to (ids C000001…).
    pub known_customers: u32,
    /// Rows per second; `None` writes as fast as it can (tests).
    pub rate: Option<u32>,
    /// Stop after this many rows; `None` runs until `stop` is set.
    pub max_rows: Option<u64>,
    /// A new file is dropped every this many rows.
    pub drop_every: u64,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            known_customers: 2_000,
            rate: Some(20),
            max_rows: None,
            drop_every: 500,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSummary {
    pub rows: u64,
    pub batches: u64,
    pub dropped_files: Vec<PathBuf>,
}

/// Simulated seconds per row: at 20 rows a second one real second is a simulated
/// minute, so a launch day plays in 24 minutes.
const SIM_SECONDS_PER_ROW: i64 = 3;
/// Rows per batch (one write per file per batch).
const BATCH_ROWS: u64 = 10;

struct Feed {
    rng: Rng,
    rows: u64,
    known: u32,
    new_customers: u64,
    sessions: Vec<(u64, String)>,
    next_session: u64,
    epoch: NaiveDateTime,
}

impl Feed {
    fn now(&self) -> NaiveDateTime {
        self.epoch + TimeDelta::seconds(self.rows as i64 * SIM_SECONDS_PER_ROW)
    }

    fn some_user(&mut self) -> String {
        if self.new_customers > 0 && self.rng.chance(0.3) {
            live_customer_id(self.rng.below(self.new_customers) + 1)
        } else {
            customer_id(self.rng.below(u64::from(self.known.max(1))) as usize)
        }
    }

    /// One row: (table index in `LIVE_FILES`, CSV line).
    fn next_row(&mut self) -> (usize, String) {
        self.rows += 1;
        let now = self.now();
        let ts = ts_utc(now);
        let id = self.rows;
        let r = self.rng.f64();
        if r < 0.78 {
            (0, self.event(id, &ts, now))
        } else if r < 0.88 {
            let who = self.some_user();
            let list = cents(55.0 * self.rng.log_normal(1.0, 0.45)).max(100);
            let discount = if self.rng.chance(promo_share(now.date())) {
                list / 4
            } else {
                0
            };
            let revenue = list - discount;
            let channel = CHANNELS[self.rng.weighted(&CHANNEL_MIX)];
            let line = csv_line(&[
                &format!("L-O{id:09}"),
                &who,
                &now.date().to_string(),
                &money(revenue),
                "completed",
                channel,
                &money(discount),
                &money(cents(revenue as f64 / 100.0 * 0.4)),
            ]);
            (1, line)
        } else if r < 0.94 {
            let who = self.some_user();
            let category = self.rng.weighted(&nps_shares(now.date(), start_date(24)));
            let score = match category {
                0 => 9 + self.rng.below(2),
                1 => 7 + self.rng.below(2),
                _ => 3 + self.rng.below(4),
            };
            let line = csv_line(&[
                &format!("L-S{id:09}"),
                &now.date().to_string(),
                "nps",
                &score.to_string(),
                &who,
                if category == 2 {
                    "Sync broke again"
                } else {
                    ""
                },
            ]);
            (2, line)
        } else if r < 0.98 {
            let who = self.some_user();
            let (first_h, _) = support_hours(now.date());
            let first = now + TimeDelta::seconds((self.rng.log_normal(first_h, 0.8) * 60.0) as i64);
            let offset = REGION_OFFSET_H[self.rng.weighted(&REGION_MIX)];
            let line = csv_line(&[
                &format!("L-T{id:09}"),
                &ts_offset(now, offset),
                &ts_offset(first, offset),
                "",
                SEVERITIES[self.rng.weighted(&severity_mix(now.date()))],
                &who,
            ]);
            (3, line)
        } else {
            self.new_customers += 1;
            let line = csv_line(&[
                &live_customer_id(self.new_customers),
                &now.date().to_string(),
                CHANNELS[self.rng.weighted(&CHANNEL_MIX)],
                PLANS[self.rng.weighted(&PLAN_MIX)],
                REGIONS[self.rng.weighted(&REGION_MIX)],
            ]);
            (4, line)
        }
    }

    fn event(&mut self, id: u64, ts: &str, now: NaiveDateTime) -> String {
        let event_id = format!("L-E{id:09}");
        let open = self.sessions.len();
        if open < 5 || self.rng.chance(0.22) {
            self.next_session += 1;
            let session = format!("L-s{:08}", self.next_session);
            let user = self.some_user();
            let duration = self.rng.log_normal(420.0, 0.7).clamp(5.0, 3_500.0) as u32;
            if open >= 40 {
                self.sessions.remove(0);
            }
            self.sessions.push((self.next_session, user.clone()));
            return csv_line(&[
                &event_id,
                &user,
                ts,
                "session_start",
                &session,
                "",
                "",
                &duration.to_string(),
            ]);
        }
        let (number, user) = self.sessions[self.rng.below(open as u64) as usize].clone();
        let session = format!("L-s{number:08}");
        if self.rng.chance(0.3) {
            let feature = if self.rng.chance(launch_feature_share(now.date())) {
                LAUNCH_FEATURE
            } else {
                FEATURES[self.rng.below(FEATURES.len() as u64) as usize]
            };
            csv_line(&[
                &event_id,
                &user,
                ts,
                "feature_used",
                &session,
                feature,
                "",
                "",
            ])
        } else {
            let page = PAGES[self.rng.below(PAGES.len() as u64) as usize];
            csv_line(&[&event_id, &user, ts, "page_view", &session, "", page, ""])
        }
    }
}

pub fn live_customer_id(n: u64) -> String {
    format!("L-C{n:07}")
}

/// One CSV record with its line end, quoted where needed.
fn csv_line(fields: &[&str]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Rows already in a growing file (its lines minus the header), so that a restarted
/// feed continues its ids and its clock instead of repeating them.
fn existing_rows(path: &Path) -> u64 {
    File::open(path)
        .map(|f| BufReader::new(f).lines().count().saturating_sub(1) as u64)
        .unwrap_or(0)
}

/// Runs the feed into `dir` until `stop` is set or `max_rows` rows are written.
pub fn run_live(
    dir: &Path,
    options: &LiveOptions,
    stop: &AtomicBool,
) -> Result<LiveSummary, DemoError> {
    std::fs::create_dir_all(dir).map_err(DemoError::at("create", dir))?;
    let paths: Vec<PathBuf> = LIVE_FILES.iter().map(|(_, f)| dir.join(f)).collect();
    let mut files = Vec::new();
    let mut already = 0;
    for ((table, _), path) in LIVE_FILES.iter().zip(&paths) {
        let rows = existing_rows(path);
        already += rows;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(DemoError::at("open", path))?;
        if file.metadata()?.len() == 0 {
            file.write_all(csv_line(&header(table)).as_bytes())?;
        }
        files.push(file);
    }
    let new_customers = existing_rows(&paths[4]);
    let mut feed = Feed {
        rng: Rng::stream(options.seed ^ already, "live"),
        rows: already,
        // Only customers the demo data set in DIR really has (signups vary by a few).
        known: match existing_rows(&dir.join("customers.csv")) {
            0 => options.known_customers,
            rows => options.known_customers.min(rows as u32),
        },
        new_customers,
        sessions: Vec::new(),
        next_session: already,
        epoch: (END_DATE + chrono::Days::new(1)).and_time(NaiveTime::MIN),
    };
    let mut summary = LiveSummary::default();
    let started = Instant::now();
    let mut last_drop = already / options.drop_every.max(1);
    while !stop.load(Ordering::Relaxed) {
        let remaining = options.max_rows.map(|max| max.saturating_sub(summary.rows));
        if remaining == Some(0) {
            break;
        }
        let batch = remaining.map_or(BATCH_ROWS, |r| r.min(BATCH_ROWS));
        let mut buffers = vec![String::new(); LIVE_FILES.len()];
        for _ in 0..batch {
            let (table, line) = feed.next_row();
            buffers[table].push_str(&line);
        }
        for ((file, buffer), path) in files.iter_mut().zip(&buffers).zip(&paths) {
            if !buffer.is_empty() {
                file.write_all(buffer.as_bytes())
                    .and_then(|()| file.flush())
                    .map_err(DemoError::at("append to", path))?;
            }
        }
        summary.rows += batch;
        summary.batches += 1;
        let drops = feed.rows / options.drop_every.max(1);
        if drops > last_drop {
            last_drop = drops;
            summary
                .dropped_files
                .extend(drop_files(dir, drops, &mut feed)?);
        }
        if let Some(rate) = options.rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(summary.rows as f64 / f64::from(rate));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                sleep_unless_stopped(wait, stop);
            }
        }
    }
    Ok(summary)
}

fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// The files an exporter drops now and then: today's spend so far (it replaces the
/// previous drop's rows by key) and the latest uptime readings.
fn drop_files(dir: &Path, number: u64, feed: &mut Feed) -> Result<Vec<PathBuf>, DemoError> {
    let now = feed.now();
    let day = now.date().to_string();
    let hours = (now - now.date().and_time(NaiveTime::MIN)).num_minutes() as f64 / 60.0;
    let mut spend = csv_line(&header("spend"));
    for (channel, daily) in [("paid_search", 150.0), ("paid_social", 95.0)] {
        let amount = daily * hours / 24.0 * feed.rng.between(0.9, 1.1);
        let clicks = (amount / 2.5).round() as u64;
        spend.push_str(&csv_line(&[
            &day,
            channel,
            &money(cents(amount)),
            &(clicks * 30).to_string(),
            &clicks.to_string(),
        ]));
    }
    let mut metrics = csv_line(&header("metrics"));
    for segment in ["api", "web"] {
        let value = 99.5 + feed.rng.between(0.0, 0.5);
        metrics.push_str(&csv_line(&[
            &day,
            "uptime_pct",
            &format!("{value:.3}"),
            segment,
        ]));
    }
    let spend_path = dir.join(format!("spend_live_{number:04}.csv"));
    let metrics_path = dir.join(format!("metrics_live_{number:04}.csv"));
    write_then_rename(&spend_path, spend.as_bytes())?;
    write_then_rename(&metrics_path, metrics.as_bytes())?;
    Ok(vec![spend_path, metrics_path])
}
