//! `kpi.toml` (SPEC §4): read beside the store, or from `--config`.
//!
//! Unknown keys are errors, not silently ignored: a typo in a threshold must not leave
//! the default in force without anyone knowing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// toml's message already names the line, column and key.
    #[error("bad config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("bad config {path}: {key}: {reason}")]
    Invalid {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The overview's tiles, in order.
    pub core_kpis: Vec<String>,
    /// How many weeks of history the overview's sparklines and trends show.
    pub time_frame_weeks: u32,
    /// ISO 4217 code, shown beside money.
    pub currency: String,
    /// IANA zone in which `YYYY-MM-DD HH:MM:SS` timestamps are read and days are cut.
    pub time_zone: String,
    /// Events counted as engagements (revenue per engagement).
    pub engagement_events: Vec<String>,
    /// Event that marks a user's first value (time to value).
    pub activation_event: String,
    /// Without subscriptions, a customer with a completed order this recent is active.
    pub churn_window_days: u32,
    pub targets: Vec<Target>,
    pub alerts: AlertConfig,
    /// Owner shown on a metric's alerts, by metric id.
    pub owners: BTreeMap<String, String>,
    /// Recommended follow-ups by metric id or by family (revenue, subscription,
    /// retention, acquisition, satisfaction, engagement, delivery, support, other),
    /// overriding the built-in rules; `{metric}`, `{segment}` and `{period}` are filled in.
    pub follow_ups: BTreeMap<String, String>,
    /// Header aliases: `[aliases.orders] revenue = ["amount", "total"]`.
    pub aliases: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Driver pairs the Drivers pane offers first.
    pub drivers: Vec<DriverPair>,
    /// Where `kpi check --notify` and the watching cockpit send newly opened alerts.
    pub notify: NotifyConfig,
    /// `[keys]`: `action = "key"` or `["key", …]` rebinds one of the cockpit's keys (its
    /// defaults give way); `?` in the cockpit lists the keys in force.
    pub keys: BTreeMap<String, KeyList>,
    /// `theme = "light"`, or `[theme]` with `base = "light"` and colours by role.
    pub theme: ThemeSetting,
}

/// One key or several for an action in `[keys]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// The cockpit's colours: a built-in theme by name, or a table of a base and overrides.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(untagged)]
pub enum ThemeSetting {
    /// No `theme` given: the dark theme.
    #[default]
    #[serde(skip_deserializing)]
    Default,
    Named(String),
    Custom {
        base: Option<String>,
        #[serde(flatten)]
        colours: BTreeMap<String, String>,
    },
}

impl ThemeSetting {
    pub fn base(&self) -> Option<&str> {
        match self {
            ThemeSetting::Default => None,
            ThemeSetting::Named(name) => Some(name),
            ThemeSetting::Custom { base, .. } => base.as_deref(),
        }
    }

    pub fn colours(&self) -> BTreeMap<String, String> {
        match self {
            ThemeSetting::Custom { colours, .. } => colours.clone(),
            _ => BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub metric: String,
    pub value: f64,
    pub by: NaiveDate,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// Grain at which progress and pace are measured (default: month).
    #[serde(default)]
    pub grain: Option<crate::dates::Grain>,
    /// Where the pace line starts (default: the start of the overview's time frame).
    #[serde(default)]
    pub start: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub date: NaiveDate,
    pub value: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Periods in the rolling mean a value is compared with.
    pub window: usize,
    pub mild_pct: f64,
    pub strong_pct: f64,
    /// A segment needs at least this many underlying records in the period (or on average
    /// in the rolling window) to alert; see `alerts::volume` for how records are counted.
    pub min_volume: u64,
    /// A period-to-period move smaller than this (in %) counts as flat for the pulse.
    pub pulse_flat_pct: f64,
    /// Noise guard (`alerts::signal`): the change must reach this many times the spread
    /// of the metric's own past deviations. 0 disables.
    pub noise_k: f64,
    /// The noise guard's factor at day grain (at least `noise_k`): seven days a week each
    /// get a chance to raise a false alarm.
    pub day_noise_k: f64,
    /// Past months whose deviations measure that spread; at week and day grain the weeks
    /// and days of as many months and weeks (`deviation::Limits::noise_window_at`).
    pub noise_window: usize,
    /// A segment of a total that alerts is one of its contributors, not an alert.
    pub fold_segments: bool,
    /// When its total is quiet, a segment alerts only if its move alone would have made
    /// the total alert (`alerts::signal::moves_total`).
    pub material_segments_only: bool,
    /// A segment holding at least this share (%) of its total alerts on its own, with its
    /// own tier, even when the total is quiet or alerts a tier lower.
    pub material_share_pct: f64,
    /// Per-metric overrides of the thresholds.
    pub metrics: BTreeMap<String, Thresholds>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub mild_pct: Option<f64>,
    pub strong_pct: Option<f64>,
    pub min_volume: Option<u64>,
    pub noise_k: Option<f64>,
    /// The metric is computed from this one (`arr` from `mrr`): its alert is dropped
    /// when the source alerts for the same segment, grain and period.
    pub derived_from: Option<String>,
}

/// `[notify]`: destinations for newly opened alerts (see `notify`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// How long one attempt may take, connecting and answering together.
    pub timeout_ms: u64,
    /// Attempts after the first within one run; the rest wait for the next run.
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one.
    pub backoff_ms: u64,
    /// `[[notify.destinations]]`.
    pub destinations: Vec<NotifyDestination>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 5_000,
            retries: 2,
            backoff_ms: 500,
            destinations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// A generic JSON webhook: the alert as a JSON object.
    Webhook,
    /// A Slack-compatible incoming webhook: blocks.
    Slack,
    /// Mail through the local `sendmail -t`.
    Email,
}

impl NotifyKind {
    pub fn label(self) -> &'static str {
        match self {
            NotifyKind::Webhook => "webhook",
            NotifyKind::Slack => "slack",
            NotifyKind::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyDestination {
    pub kind: NotifyKind,
    /// Names the destination in the delivery log (default: the kind); unique.
    pub name: Option<String>,
    /// The webhook's URL, literally. Prefer `url_env`: the URL is a secret.
    pub url: Option<String>,
    /// The environment variable holding the webhook's URL.
    pub url_env: Option<String>,
    /// Email recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Email sender (default: sendmail's own).
    pub from: Option<String>,
    /// The sendmail program (default: `sendmail` on PATH, /usr/sbin, /usr/lib).
    pub sendmail: Option<PathBuf>,
}

impl NotifyDestination {
    /// The name deliveries are logged under.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.kind.label())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DriverPair {
    pub kpi: String,
    pub driver: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            core_kpis: [
                "net_revenue",
                "mrr",
                "nps",
                "stickiness_pct",
                "customer_churn_pct",
            ]
            .map(String::from)
            .to_vec(),
            time_frame_weeks: 12,
            currency: "USD".into(),
            time_zone: "UTC".into(),
            engagement_events: vec!["session_start".into()],
            activation_event: "activated".into(),
            churn_window_days: 90,
            targets: Vec::new(),
            alerts: AlertConfig::default(),
            owners: BTreeMap::new(),
            follow_ups: BTreeMap::new(),
            aliases: BTreeMap::new(),
            drivers: Vec::new(),
            notify: NotifyConfig::default(),
            keys: BTreeMap::new(),
            theme: ThemeSetting::Default,
        }
    }
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            window: 3,
            mild_pct: 5.0,
            strong_pct: 12.0,
            min_volume: 30,
            pulse_flat_pct: 1.0,
            noise_k: 2.0,
            day_noise_k: 3.0,
            noise_window: 12,
            fold_segments: true,
            material_segments_only: true,
            material_share_pct: 20.0,
            metrics: BTreeMap::new(),
        }
    }
}

/// The allowed values of a numeric setting (inclusive; NaN and infinities never fit).
#[derive(Debug, Clone, Copy)]
struct Range {
    min: f64,
    max: f64,
    /// Appended to the error: what the bound protects.
    why: &'static str,
}

const TIME_FRAME_WEEKS: Range = Range {
    min: 1.0,
    max: 520.0,
    why: " weeks (ten years)",
};
const CHURN_WINDOW_DAYS: Range = Range {
    min: 1.0,
    max: 3660.0,
    why: " days (ten years)",
};
const ALERT_WINDOW: Range = Range {
    min: 1.0,
    max: 60.0,
    why: " periods in the rolling mean",
};
const NOISE_WINDOW: Range = Range {
    min: 0.0,
    max: 104.0,
    why: " past periods (0 turns the noise guard's look-back off)",
};
const THRESHOLD_PCT: Range = Range {
    min: 0.0,
    max: 10_000.0,
    why: " percent",
};
const MIN_VOLUME: Range = Range {
    min: 0.0,
    max: 1e12,
    why: " records",
};
const PULSE_FLAT_PCT: Range = Range {
    min: 0.0,
    max: 100.0,
    why: " percent",
};
const MATERIAL_SHARE_PCT: Range = Range {
    min: 0.0,
    max: 100.0,
    why: " percent of the total",
};
const NOISE_K: Range = Range {
    min: 0.0,
    max: 100.0,
    why: " times the spread (0 turns the noise guard off)",
};
const TARGET_VALUE: Range = Range {
    min: -1e15,
    max: 1e15,
    why: "",
};

/// Target, milestone and pace-start dates: periods are counted between them and today.
const TARGET_DATES: (NaiveDate, NaiveDate) = (
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date"),
    NaiveDate::from_ymd_opt(2199, 12, 31).expect("a valid date"),
);

impl Config {
    /// `kpi.toml` beside the store.
    pub fn path_beside(store: &Path) -> PathBuf {
        store.parent().unwrap_or(Path::new(".")).join("kpi.toml")
    }

    /// Loads `explicit` (which must exist), or `kpi.toml` beside the store when present,
    /// or the defaults.
    pub fn load_for(store: &Path, explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match Self::source_for(store, explicit) {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }

    /// The file [`Config::load_for`] reads, if any.
    pub fn source_for(store: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
        match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => Some(Self::path_beside(store)).filter(|beside| beside.exists()),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(text, path)?;
        Ok(config)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: match line_of(text, key) {
                Some(line) => format!("line {line}, {key}"),
                None => key.to_string(),
            },
            reason,
        };
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "time_zone",
                format!("unknown time zone {:?}", self.time_zone),
            ));
        }
        for (key, value, range) in self.numeric_settings() {
            if !(range.min <= value && value <= range.max) {
                return Err(invalid(
                    &key,
                    format!(
                        "{value} is out of range: allowed {} to {}{}",
                        range.min, range.max, range.why
                    ),
                ));
            }
        }
        if !(self.alerts.mild_pct > 0.0 && self.alerts.mild_pct <= self.alerts.strong_pct) {
            return Err(invalid(
                "alerts.mild_pct",
                "must be above 0 and not above alerts.strong_pct".into(),
            ));
        }
        for (metric, t) in &self.alerts.metrics {
            let mild = t.mild_pct.unwrap_or(self.alerts.mild_pct);
            let strong = t.strong_pct.unwrap_or(self.alerts.strong_pct);
            if !(mild > 0.0 && mild <= strong) {
                return Err(invalid(
                    &format!("alerts.metrics.{metric}.mild_pct"),
                    format!(
                        "mild_pct ({mild}) must be above 0 and not above strong_pct ({strong})"
                    ),
                ));
            }
        }
        for (i, t) in self.targets.iter().enumerate() {
            let dates = [("by", Some(t.by)), ("start", t.start)]
                .into_iter()
                .chain(t.milestones.iter().map(|m| ("date", Some(m.date))));
            for (name, date) in dates {
                if let Some(date) = date
                    && !(TARGET_DATES.0..=TARGET_DATES.1).contains(&date)
                {
                    return Err(invalid(
                        &format!("targets[{i}].{name}"),
                        format!(
                            "{date} is out of range: allowed {} to {}",
                            TARGET_DATES.0, TARGET_DATES.1
                        ),
                    ));
                }
            }
            if t.start.is_some_and(|start| start >= t.by) {
                return Err(invalid(
                    &format!("targets[{i}].start"),
                    format!("must be before the target's date {}", t.by),
                ));
            }
        }
        if self.engagement_events.is_empty() {
            return Err(invalid(
                "engagement_events",
                "name at least one event (default [\"session_start\"])".into(),
            ));
        }
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid(
                "currency",
                format!(
                    "{:?} is not an ISO 4217 code such as \"EUR\"",
                    self.currency
                ),
            ));
        }
        if let Some(k) = self.core_kpis.iter().find(|k| k.trim().is_empty()) {
            return Err(invalid("core_kpis", format!("empty metric id {k:?}")));
        }
        if self.targets.iter().any(|t| t.metric.trim().is_empty()) {
            return Err(invalid("targets.metric", "empty metric id".into()));
        }
        if let Err(err) = crate::ui::keymap::Keymap::from_config(&self.key_bindings()) {
            return Err(invalid(&err.key, err.reason));
        }
        if let Err((key, reason)) =
            crate::ui::theme::Palette::from_config(self.theme.base(), &self.theme.colours())
        {
            return Err(invalid(&key, reason));
        }
        self.validate_notify(&invalid)
    }

    /// `[keys]` as action name → keys.
    pub fn key_bindings(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    KeyList::One(key) => vec![key.clone()],
                    KeyList::Many(keys) => keys.clone(),
                };
                (action.clone(), keys)
            })
            .collect()
    }

    fn validate_notify(
        &self,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let notify = &self.notify;
        let bounds = [
            ("notify.timeout_ms", notify.timeout_ms, 100, 120_000),
            ("notify.retries", u64::from(notify.retries), 0, 10),
            ("notify.backoff_ms", notify.backoff_ms, 0, 600_000),
        ];
        for (key, value, min, max) in bounds {
            if !(min..=max).contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value} is out of range: allowed {min} to {max}"),
                ));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, d) in notify.destinations.iter().enumerate() {
            let key = |name: &str| format!("notify.destinations[{i}].{name}");
            let name = d.name();
            if name.trim().is_empty() || name.chars().any(crate::present::is_unsafe) {
                return Err(invalid(
                    &key("name"),
                    format!("{name:?} is not a usable name"),
                ));
            }
            if !names.insert(name.to_string()) {
                return Err(invalid(
                    &key("name"),
                    format!("two destinations are named {name:?}: give each its own name"),
                ));
            }
            match d.kind {
                NotifyKind::Webhook | NotifyKind::Slack => match (&d.url, &d.url_env) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(invalid(
                            &key("url"),
                            "give either url or url_env (the variable holding the URL)".into(),
                        ));
                    }
                    (Some(url), None)
                        if !(url.starts_with("https://") || url.starts_with("http://")) =>
                    {
                        return Err(invalid(
                            &key("url"),
                            "must start with https:// or http://".into(),
                        ));
                    }
                    (None, Some(var)) if var.trim().is_empty() => {
                        return Err(invalid(&key("url_env"), "empty variable name".into()));
                    }
                    _ => {}
                },
                NotifyKind::Email => {
                    if d.to.is_empty() {
                        return Err(invalid(&key("to"), "name at least one recipient".into()));
                    }
                    // Header injection: an address is one line without separators.
                    let bad_address = |a: &str| {
                        a.trim().is_empty()
                            || a.chars()
                                .any(|c| crate::present::is_unsafe(c) || c == ',' || c == ';')
                    };
                    if let Some(bad) = d.to.iter().chain(&d.from).find(|a| bad_address(a)) {
                        return Err(invalid(
                            &key(if d.to.contains(bad) { "to" } else { "from" }),
                            format!("{bad:?} is not one email address"),
                        ));
                    }
                }
            }
            let misplaced = match d.kind {
                NotifyKind::Webhook | NotifyKind::Slack => [
                    ("to", !d.to.is_empty()),
                    ("from", d.from.is_some()),
                    ("sendmail", d.sendmail.is_some()),
                ],
                NotifyKind::Email => [
                    ("url", d.url.is_some()),
                    ("url_env", d.url_env.is_some()),
                    ("sendmail", false),
                ],
            };
            if let Some((field, _)) = misplaced.iter().find(|(_, set)| *set) {
                return Err(invalid(
                    &key(field),
                    format!("not a setting of a {} destination", d.kind.label()),
                ));
            }
        }
        Ok(())
    }

    /// Every numeric setting with its dotted key and allowed range. Windows reach back
    /// from the reference date by whole periods, so an unbounded one overflows the
    /// calendar or has `kpi check` read decades of days.
    fn numeric_settings(&self) -> Vec<(String, f64, Range)> {
        let alerts = &self.alerts;
        let count = |n: usize| n as f64;
        let mut settings = vec![
            (
                "time_frame_weeks".into(),
                f64::from(self.time_frame_weeks),
                TIME_FRAME_WEEKS,
            ),
            (
                "churn_window_days".into(),
                f64::from(self.churn_window_days),
                CHURN_WINDOW_DAYS,
            ),
            ("alerts.window".into(), count(alerts.window), ALERT_WINDOW),
            (
                "alerts.noise_window".into(),
                count(alerts.noise_window),
                NOISE_WINDOW,
            ),
            ("alerts.mild_pct".into(), alerts.mild_pct, THRESHOLD_PCT),
            ("alerts.strong_pct".into(), alerts.strong_pct, THRESHOLD_PCT),
            (
                "alerts.min_volume".into(),
                alerts.min_volume as f64,
                MIN_VOLUME,
            ),
            (
                "alerts.pulse_flat_pct".into(),
                alerts.pulse_flat_pct,
                PULSE_FLAT_PCT,
            ),
            ("alerts.noise_k".into(), alerts.noise_k, NOISE_K),
            ("alerts.day_noise_k".into(), alerts.day_noise_k, NOISE_K),
            (
                "alerts.material_share_pct".into(),
                alerts.material_share_pct,
                MATERIAL_SHARE_PCT,
            ),
        ];
        for (metric, t) in &alerts.metrics {
            let key = |name: &str| format!("alerts.metrics.{metric}.{name}");
            let overrides = [
                ("mild_pct", t.mild_pct, THRESHOLD_PCT),
                ("strong_pct", t.strong_pct, THRESHOLD_PCT),
                ("min_volume", t.min_volume.map(|v| v as f64), MIN_VOLUME),
                ("noise_k", t.noise_k, NOISE_K),
            ];
            for (name, value, range) in overrides {
                if let Some(value) = value {
                    settings.push((key(name), value, range));
                }
            }
        }
        for (i, t) in self.targets.iter().enumerate() {
            settings.push((format!("targets[{i}].value"), t.value, TARGET_VALUE));
            for m in &t.milestones {
                settings.push((
                    format!("targets[{i}].milestones.value"),
                    m.value,
                    TARGET_VALUE,
                ));
            }
        }
        settings
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// The line (1-based) that sets `key`, a dotted path such as `alerts.metrics.nps.mild_pct`
/// or `targets[1].start`, following `[table]` and `[[array]]` headers; the first line
/// setting its last part when no line sets the whole path (a key given inline).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let normalize = |k: &str| -> String {
        k.split('.')
            .map(|part| part.trim().trim_matches('"').trim_matches('\''))
            .collect::<Vec<_>>()
            .join(".")
    };
    let wanted = normalize(key);
    let last = wanted.rsplit('.').next()?.to_string();
    let mut table = String::new();
    let mut array_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut fallback = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix("[[") {
            let name = normalize(header.split("]]").next().unwrap_or_default());
            let count = array_counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{count}]");
            *count += 1;
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            table = normalize(header.split(']').next().unwrap_or_default());
            continue;
        }
        let Some((lhs, _)) = line.split_once('=') else {
            continue;
        };
        let lhs = normalize(lhs);
        if lhs.is_empty() || lhs.starts_with('#') {
            continue;
        }
        let full = if table.is_empty() {
            lhs.clone()
        } else {
            format!("{table}.{lhs}")
        };
        // `targets[0].milestones.value`: a key inside an inline table or array.
        let inline_match = line.contains('{') && wanted.starts_with(&format!("{full}."));
        if full == wanted || inline_match {
            return Some(index + 1);
        }
        if fallback.is_none() && lhs.rsplit('.').next() == Some(last.as_str()) {
            fallback = Some(index + 1);
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_without_a_file() {
        let c = Config::parse("", Path::new("kpi.toml")).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.alerts.window, 3);
        assert_eq!(c.churn_window_days, 90);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = Config::parse(
            "currency = \"EUR\"\nchurn_windw_days = 30\n",
            Path::new("x/kpi.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("x/kpi.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("churn_windw_days"), "{err}");
    }

    #[test]
    fn bad_type_and_bad_value_are_errors() {
        let err =
            Config::parse("[alerts]\nwindow = \"three\"\n", Path::new("kpi.toml")).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Config::parse(
            "currency = \"EUR\"\ntime_zone = \"Mars/Olympus\"\n",
            Path::new("kpi.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("kpi.toml"), "{err}");
        assert!(err.contains("line 2, time_zone"), "{err}");
        assert!(err.contains("Mars/Olympus"), "{err}");
        let err = Config::parse("[alerts]\nmild_pct = 20\n", Path::new("kpi.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2, alerts.mild_pct"), "{err}");
        let err = Config::parse("churn_window_days = 0\n", Path::new("kpi.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1, churn_window_days"), "{err}");
        let err = Config::parse("currency = \"euro\"\n", Path::new("kpi.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("currency"), "{err}");
    }

    #[test]
    fn per_metric_thresholds_and_target_starts_are_checked() {
        let err = Config::parse(
            "[alerts.metrics.nps]\nmild_pct = 20\n",
            Path::new("kpi.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("alerts.metrics.nps"), "{err}");
        let err = Config::parse(
            "[[targets]]\nmetric = \"nps\"\nvalue = 40\nby = \"2026-12-31\"\nstart = \"2027-01-01\"\n",
            Path::new("kpi.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("targets[0].start"), "{err}");
        let ok = Config::parse(
            "[alerts]\nmin_volume = 10\n[alerts.metrics.nps]\nmild_pct = 8\nmin_volume = 5\n",
            Path::new("kpi.toml"),
        )
        .unwrap();
        assert_eq!(ok.alerts.metrics["nps"].min_volume, Some(5));
    }

    #[test]
    fn targets_aliases_and_owners_parse() {
        let c = Config::parse(
            r#"
[[targets]]
metric = "nps"
value = 40
by = "2026-12-31"
milestones = [{ date = "2026-09-30", value = 35 }]

[owners]
net_revenue = "Dana"

[aliases.orders]
revenue = ["amount", "total"]
"#,
            Path::new("kpi.toml"),
        )
        .unwrap();
        assert_eq!(c.targets[0].milestones[0].value, 35.0);
        assert_eq!(c.owners["net_revenue"], "Dana");
        assert_eq!(c.aliases["orders"]["revenue"], ["amount", "total"]);
    }
}
