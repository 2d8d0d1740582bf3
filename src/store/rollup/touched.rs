//! What an import wrote: the days per table, and for the tables rolled up per id (orders
//! per customer, events per user) which ids on which day, so a refresh rewrites those ids'
//! rows of the day instead of the whole day.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

/// Ids held before a `Touched` gives them up and marks every day whole from then on: a
/// big import's ids would cost more memory than refreshing its days whole costs time.
const IDS_BUDGET: usize = 100_000;

/// The days an import wrote rows for, by table: only their rollups are refreshed.
/// An import that moves a row to another day (a corrected `order_date`) or to another id
/// adds both.
///
/// Tables with rollups: `orders` (by `order_date`), `refunds` (`refund_date`), `events`
/// (`day`), `customers` (`signup_date`; signup months also decide cohorts). Other tables
/// are read directly by the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub days: BTreeMap<&'static str, BTreeSet<NaiveDate>>,
    /// table → day → the ids written that day, or `None` for a whole day (any id).
    ids: BTreeMap<&'static str, BTreeMap<NaiveDate, Option<BTreeSet<String>>>>,
    ids_held: usize,
    /// Past the budget: every day is whole.
    over_budget: bool,
    /// The customers written, with the signup day each had before the first write
    /// (`None`: a new customer). Signups decide cohorts: with these, only the written
    /// customers' cohort cells move.
    signups_before: BTreeMap<String, Option<NaiveDate>>,
}

impl Touched {
    /// Marks a whole day of `table` written (by any id).
    pub fn add(&mut self, table: &'static str, day: NaiveDate) {
        self.days.entry(table).or_default().insert(day);
        if let Some(Some(ids)) = self.ids.entry(table).or_default().insert(day, None) {
            self.ids_held -= ids.len();
        }
    }

    /// Marks the days of one written row; `id` is its `TableSpec::rolled_up_by` value
    /// (`None` for a table without one, which marks the days whole).
    pub fn add_row(&mut self, table: &'static str, days: &[NaiveDate], id: Option<&str>) {
        for &day in days {
            match id {
                Some(id) => self.add_id(table, day, id),
                None => self.add(table, day),
            }
        }
    }

    /// Records what a written row replaced: `previous` holds the days of the row it
    /// replaced, `None` for a new row. Kept for customers (their previous signup).
    pub fn add_previous(&mut self, table: &str, id: &str, previous: Option<&[NaiveDate]>) {
        if table != "customers" || self.over_budget || self.signups_before.contains_key(id) {
            return;
        }
        let before = previous.and_then(|days| days.first().copied());
        self.signups_before.insert(id.to_string(), before);
        self.ids_held += 1;
        self.check_budget();
    }

    /// The customers written with their previous signup days, when every written
    /// customer is known (not past the budget, not marked by whole days).
    pub fn signups_before(&self) -> Option<&BTreeMap<String, Option<NaiveDate>>> {
        let days = self.days.get("customers")?;
        let keyed = days.iter().all(|d| self.ids_on("customers", *d).is_some());
        (keyed && !self.over_budget && !self.signups_before.is_empty())
            .then_some(&self.signups_before)
    }

    fn check_budget(&mut self) {
        if self.ids_held > IDS_BUDGET {
            self.give_up_ids();
        }
    }

    /// Every day whole from now on, and no customer known.
    fn give_up_ids(&mut self) {
        for slot in self.ids.values_mut().flat_map(BTreeMap::values_mut) {
            *slot = None;
        }
        self.signups_before.clear();
        self.ids_held = 0;
        self.over_budget = true;
    }

    fn add_id(&mut self, table: &'static str, day: NaiveDate, id: &str) {
        if self.over_budget {
            return self.add(table, day);
        }
        self.days.entry(table).or_default().insert(day);
        let slot = self
            .ids
            .entry(table)
            .or_default()
            .entry(day)
            .or_insert_with(|| Some(BTreeSet::new()));
        if let Some(ids) = slot
            && !ids.contains(id)
        {
            ids.insert(id.to_string());
            self.ids_held += 1;
            self.check_budget();
        }
    }

    /// The ids written on `day` of `table`; `None` when the whole day counts as written.
    pub fn ids_on(&self, table: &str, day: NaiveDate) -> Option<&BTreeSet<String>> {
        self.ids.get(table)?.get(&day)?.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.days.values().all(BTreeSet::is_empty)
    }

    /// Adds another import's days (a burst of imports is recomputed once).
    pub fn merge(&mut self, other: &Touched) {
        for (table, days) in &other.days {
            self.days.entry(table).or_default().extend(days);
        }
        for (table, days) in &other.ids {
            for (day, slot) in days {
                match slot {
                    None => self.add(table, *day),
                    Some(ids) => ids.iter().for_each(|id| self.add_id(table, *day, id)),
                }
            }
        }
        if other.over_budget {
            self.give_up_ids();
        }
        for (id, before) in &other.signups_before {
            let previous = before.map(|d| [d]);
            self.add_previous("customers", id, previous.as_ref().map(|d| &d[..]));
        }
    }

    /// The earliest day written to any of `tables`, if any was.
    pub fn earliest_of(&self, tables: &[&str]) -> Option<NaiveDate> {
        tables
            .iter()
            .filter_map(|t| self.days.get(t)?.first().copied())
            .min()
    }

    pub fn touches(&self, table: &str) -> bool {
        self.days.get(table).is_some_and(|d| !d.is_empty())
    }

    pub(super) fn of(&self, table: &str) -> BTreeSet<NaiveDate> {
        self.days.get(table).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, day).unwrap()
    }

    #[test]
    fn ids_narrow_a_day_until_it_is_marked_whole() {
        let mut touched = Touched::default();
        touched.add_row("orders", &[d(1)], Some("c1"));
        touched.add_row("orders", &[d(1), d(2)], Some("c2"));
        let ids: Vec<&String> = touched.ids_on("orders", d(1)).unwrap().iter().collect();
        assert_eq!(ids, ["c1", "c2"]);
        touched.add("orders", d(1));
        assert_eq!(
            touched.ids_on("orders", d(1)),
            None,
            "a whole day stays whole"
        );
        touched.add_row("orders", &[d(1)], Some("c3"));
        assert_eq!(touched.ids_on("orders", d(1)), None);
        assert_eq!(touched.ids_on("orders", d(2)).unwrap().len(), 1);
        assert_eq!(touched.of("orders"), [d(1), d(2)].into());
    }

    #[test]
    fn merging_keeps_whole_days_whole_and_unions_ids() {
        let mut a = Touched::default();
        a.add_row("events", &[d(5)], Some("u1"));
        let mut b = Touched::default();
        b.add_row("events", &[d(5)], Some("u2"));
        b.add("events", d(6));
        a.merge(&b);
        assert_eq!(a.ids_on("events", d(5)).unwrap().len(), 2);
        assert_eq!(a.ids_on("events", d(6)), None);
        assert!(a.touches("events"));
        assert_eq!(a.earliest_of(&["events", "orders"]), Some(d(5)));
    }

    #[test]
    fn past_the_budget_every_day_is_refreshed_whole_and_memory_stays_bounded() {
        let mut touched = Touched::default();
        for i in 0..=IDS_BUDGET {
            touched.add_row("orders", &[d(1 + (i % 20) as u32)], Some(&format!("c{i}")));
        }
        assert!((1..=20).all(|day| touched.ids_on("orders", d(day)).is_none()));
        assert_eq!(touched.ids_held, 0);
        touched.add_row("orders", &[d(21)], Some("late"));
        assert_eq!(touched.ids_on("orders", d(21)), None);
        assert!(touched.of("orders").contains(&d(21)));
    }
}
