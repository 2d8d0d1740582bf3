//! Grains and periods: day, ISO week (Monday first) and calendar month.

use std::fmt;

use chrono::{Datelike, Duration, IsoWeek, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One day, ISO week or calendar month, identified by its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub grain: Grain,
    pub start: NaiveDate,
}

impl Period {
    /// The period of `grain` that holds `date`.
    pub fn containing(grain: Grain, date: NaiveDate) -> Self {
        let start = match grain {
            Grain::Day => date,
            Grain::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Grain::Month => date.with_day(1).unwrap_or(date),
        };
        Self { grain, start }
    }

    /// The last day of the period (inclusive).
    pub fn end(&self) -> NaiveDate {
        self.next().start - Duration::days(1)
    }

    pub fn next(&self) -> Self {
        let start = match self.grain {
            Grain::Day => self.start + Duration::days(1),
            Grain::Week => self.start + Duration::days(7),
            Grain::Month => self
                .start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(self.start),
        };
        Self {
            grain: self.grain,
            start,
        }
    }

    pub fn prev(&self) -> Self {
        let start = match self.grain {
            Grain::Day => self.start - Duration::days(1),
            Grain::Week => self.start - Duration::days(7),
            Grain::Month => self
                .start
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(self.start),
        };
        Self {
            grain: self.grain,
            start,
        }
    }

    /// Number of days in the period.
    pub fn days(&self) -> i64 {
        (self.end() - self.start).num_days() + 1
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end()
    }

    /// `2025-06-01` (day), `2025-W23` (ISO week), `2025-06` (month).
    pub fn label(&self) -> String {
        match self.grain {
            Grain::Day => self.start.format("%Y-%m-%d").to_string(),
            Grain::Week => {
                let w: IsoWeek = self.start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Grain::Month => self.start.format("%Y-%m").to_string(),
        }
    }

    /// Parses a label of any grain (`2025-06-01`, `2025-W23`, `2025-06`).
    pub fn parse(label: &str) -> Option<Self> {
        let label = label.trim();
        if let Some((year, week)) = label.split_once("-W") {
            let date =
                NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)?;
            return Some(Self {
                grain: Grain::Week,
                start: date,
            });
        }
        if let Ok(date) = NaiveDate::parse_from_str(label, "%Y-%m-%d") {
            return Some(Self {
                grain: Grain::Day,
                start: date,
            });
        }
        let date = NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d").ok()?;
        Some(Self {
            grain: Grain::Month,
            start: date,
        })
    }

    /// The `count` periods ending with (and including) this one, oldest first.
    pub fn trailing(&self, count: usize) -> Vec<Self> {
        let mut out = Vec::with_capacity(count);
        let mut p = *self;
        for _ in 0..count {
            out.push(p);
            p = p.prev();
        }
        out.reverse();
        out
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn iso_week_53_and_year_boundaries() {
        // 2020-12-31 is in ISO week 2020-W53, which starts on Monday 2020-12-28.
        let p = Period::containing(Grain::Week, d("2020-12-31"));
        assert_eq!(p.start, d("2020-12-28"));
        assert_eq!(p.label(), "2020-W53");
        assert_eq!(p.end(), d("2021-01-03"));
        assert_eq!(p.next().label(), "2021-W01");
        assert_eq!(Period::parse("2020-W53"), Some(p));
    }

    #[test]
    fn months_and_days_label_and_parse() {
        let m = Period::containing(Grain::Month, d("2024-02-17"));
        assert_eq!(m.label(), "2024-02");
        assert_eq!(m.end(), d("2024-02-29"));
        assert_eq!(m.days(), 29);
        assert_eq!(Period::parse("2024-02"), Some(m));
        assert_eq!(m.prev().label(), "2024-01");
        let day = Period::containing(Grain::Day, d("2024-02-17"));
        assert_eq!(Period::parse("2024-02-17"), Some(day));
        assert_eq!(
            day.trailing(3)
                .iter()
                .map(Period::label)
                .collect::<Vec<_>>(),
            ["2024-02-15", "2024-02-16", "2024-02-17"]
        );
        assert_eq!(Period::parse("June"), None);
    }
}
