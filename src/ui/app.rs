//! Everything the cockpit knows: the latest snapshot and what the user has chosen.
//! Views borrow it; only `update` changes it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::metrics::{CohortVariant, Grain, MetricDef, MetricId, Period, Series};
use crate::snapshot::Snapshot;
use crate::watch::WatchState;

use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Trends,
    Drivers,
    Cohorts,
    Alerts,
    Data,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Overview,
        Tab::Trends,
        Tab::Drivers,
        Tab::Cohorts,
        Tab::Alerts,
        Tab::Data,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Trends => "Trends",
            Tab::Drivers => "Drivers",
            Tab::Cohorts => "Cohorts",
            Tab::Alerts => "Alerts",
            Tab::Data => "Data",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// How many periods the charts show; `[` and `]` step through these. The snapshot holds
/// the longest at every grain (where the data reaches back that far).
pub const RANGES: [usize; 6] = [4, 8, 12, 26, 52, crate::snapshot::LONGEST_RANGE];
const DEFAULT_RANGE: usize = 2;

/// The cohort variants in the order `v` cycles through them.
pub const VARIANTS: [CohortVariant; 4] = [
    CohortVariant::PurchasingCustomers,
    CohortVariant::ActiveUsers,
    CohortVariant::SubscribedCustomers,
    CohortVariant::RevenueRetention,
];

pub fn variant_name(variant: CohortVariant) -> &'static str {
    match variant {
        CohortVariant::PurchasingCustomers => "purchasing customers",
        CohortVariant::ActiveUsers => "active users",
        CohortVariant::SubscribedCustomers => "subscribed customers",
        CohortVariant::RevenueRetention => "revenue retention",
    }
}

/// What a heatmap cell shows; `m` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CohortMeasure {
    /// The share of the cohort still active (or revenue kept), in percent.
    #[default]
    Share,
    /// The number of the cohort's members still active (share × cohort size).
    Members,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverviewState {
    /// Index into the core KPIs.
    pub selected: usize,
    /// `t`: the launch view (today so far vs the same weekday last week, by hour) in
    /// place of the tiles; on from the start while watching a folder.
    pub launch: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendsState {
    /// Index into the filtered metric list.
    pub selected: usize,
    pub filter: String,
    /// The filter line has the keyboard.
    pub filtering: bool,
    /// The chosen segment's series, replacing the overall one in the chart.
    pub segment: Option<Series>,
    /// The same segment by month, replacing the overall values in the monthly bars.
    pub segment_months: Option<Series>,
    /// `n` / `N`: the annotation stepped to (index into the snapshot's annotations),
    /// marked on the chart and in the annotation list.
    pub annotation: Option<usize>,
}

impl TrendsState {
    /// Back to the overall series, in the chart and the monthly bars alike.
    pub fn clear_segment(&mut self) {
        self.segment = None;
        self.segment_months = None;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverFocus {
    #[default]
    Kpi,
    Driver,
}

/// One point per segment, when a segment dimension is picked in Drivers.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPoint {
    pub segment: String,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriversState {
    /// Index into the catalog.
    pub kpi: usize,
    /// Index into the driver list of the chosen KPI.
    pub driver: usize,
    pub focus: DriverFocus,
    /// `(dimension, points)` when broken down by segment.
    pub by_segment: Option<(String, Vec<SegmentPoint>)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CohortsState {
    pub variant: usize,
    pub measure: CohortMeasure,
    pub row: usize,
    pub col: usize,
    /// Enter shows the cursor's cell in full.
    pub detail: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertsState {
    pub selected: usize,
    /// `/` in Alerts: only alerts whose metric, segment or period contain this.
    pub filter: String,
    pub filtering: bool,
    /// Enter opens the selected alert over the whole pane.
    pub detail: bool,
    /// What the delivery log says was sent (or is pending) for the alerts shown.
    pub deliveries: Vec<crate::store::notify_log::Delivery>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataSection {
    #[default]
    Tables,
    Imports,
    Rejects,
}

impl DataSection {
    pub const ALL: [DataSection; 3] = [
        DataSection::Tables,
        DataSection::Imports,
        DataSection::Rejects,
    ];
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataState {
    pub section: DataSection,
    /// Selected row in each section, in `DataSection::ALL` order.
    pub selected: [usize; 3],
    /// Enter shows the selected reject's raw row and reason in full.
    pub detail: bool,
    /// `/` in Data: only rejected rows whose file, column, reason or row contain this.
    pub filter: String,
    pub filtering: bool,
}

/// Which pane asked for a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerPurpose {
    Trends,
    Drivers,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PickerStage {
    /// Choosing a dimension; the first entry is "overall".
    Dimensions(Vec<String>),
    /// Waiting for the breakdown of this dimension.
    Loading(String),
    /// Choosing one value of the dimension (Trends).
    Values {
        dimension: String,
        /// One series per value, at the chart's grain.
        series: Vec<Series>,
        /// The same by month, for the monthly bars.
        months: Vec<Series>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPicker {
    pub purpose: PickerPurpose,
    pub stage: PickerStage,
    pub selected: usize,
}

impl SegmentPicker {
    pub fn len(&self) -> usize {
        match &self.stage {
            PickerStage::Dimensions(dims) => dims.len(),
            PickerStage::Loading(_) => 0,
            PickerStage::Values { series, .. } => series.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The watched folder of `kpi --watch DIR`, as the live thread last reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStatus {
    pub state: WatchState,
    /// While the files already in the folder are imported: `(done, total)`.
    pub progress: Option<(usize, usize)>,
    /// The file being imported and how far its import has come.
    pub importing: Option<(String, crate::import::ImportProgress)>,
    /// Local time of the last round that imported something.
    pub last_update: Option<String>,
    /// The watcher failed (the folder was removed, …); the cockpit keeps running.
    pub error: Option<String>,
}

impl LiveStatus {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            state: WatchState {
                dir,
                ..WatchState::default()
            },
            progress: Some((0, 0)),
            importing: None,
            last_update: None,
            error: None,
        }
    }
}

// ── issue 15 (cockpit): compare two periods, drill down to accounts ──

/// `c`: two periods side by side. Both are counted in periods of the current grain: the
/// shown one back from the latest complete period, the base one back from the shown one
/// (a year by default, so "this week against the same week last year").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    pub shown_back: usize,
    pub base_gap: usize,
}

impl Compare {
    /// The same period a year earlier: 52 weeks, 12 months, or 364 days (same weekday).
    pub fn year_over_year(grain: Grain) -> Self {
        Self {
            shown_back: 0,
            base_gap: periods_per_year(grain),
        }
    }
}

pub fn periods_per_year(grain: Grain) -> usize {
    match grain {
        Grain::Day => 364,
        Grain::Week => 52,
        Grain::Month => 12,
    }
}

/// Where a drill-down was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillOrigin {
    /// An Overview tile, by index into the core KPIs.
    Tile(usize),
    /// An alert, by key.
    Alert(String),
}

/// Enter on a tile or an alert: the accounts behind the number, once the worker has read
/// them (`result` is `None` while it reads).
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub origin: DrillOrigin,
    pub request: super::update::DrillRequest,
    pub result: Option<Result<crate::store::accounts::AccountMoves, String>>,
}

/// Label of the "no breakdown" entry of the segment picker.
pub const OVERALL: &str = "overall";

#[derive(Debug, Clone)]
pub struct App {
    pub snapshot: Snapshot,
    pub theme: Theme,
    /// Today, for snooze dates; injected so tests are deterministic.
    pub today: NaiveDate,
    pub tab: Tab,
    pub grain: Grain,
    /// Index into [`RANGES`].
    pub range: usize,
    pub help: bool,
    pub picker: Option<SegmentPicker>,
    /// A snapshot is being built.
    pub loading: bool,
    /// Fresh metrics are shown; their alert evaluation is still running.
    pub checking_alerts: bool,
    /// Why the last alert evaluation failed; the Alerts pane says so instead of "no open
    /// alerts".
    pub alerts_error: Option<String>,
    /// The last thing that happened (errors, "acknowledged …").
    pub status: Option<String>,
    /// Shown for as long as the session lasts (e.g. the state of `--watch`).
    pub notice: Option<String>,
    /// Set by `kpi --watch DIR`.
    pub live: Option<LiveStatus>,
    /// Metrics whose latest values changed with the last live update, marked on screen.
    pub changed: BTreeSet<String>,
    pub quit: bool,
    /// The keys in force: defaults patched by `[keys]` in `kpi.toml`.
    pub keymap: super::keymap::Keymap,
    /// Text `y` copied, for the event loop to hand to the terminal (OSC 52).
    pub clipboard: Option<String>,
    pub overview: OverviewState,
    pub trends: TrendsState,
    pub drivers: DriversState,
    pub cohorts: CohortsState,
    pub alerts: AlertsState,
    pub data: DataState,
    // ── issue 15 (cockpit) ──
    /// `c`: comparing two periods (Overview, Trends).
    pub compare: Option<Compare>,
    /// The drill-down open over a tile or inside an alert's details.
    pub drill: Option<Drill>,
}

impl App {
    /// The data's reference date (today's clock before any data): what snoozes run from
    /// and whether an alert is still open is read against, as everywhere else.
    pub fn reference_date(&self) -> NaiveDate {
        self.snapshot.as_of.unwrap_or(self.today)
    }

    pub fn new(snapshot: Snapshot, theme: Theme, today: NaiveDate) -> Self {
        Self {
            snapshot,
            theme,
            today,
            tab: Tab::Overview,
            grain: Grain::Week,
            range: DEFAULT_RANGE,
            help: false,
            picker: None,
            loading: false,
            checking_alerts: false,
            alerts_error: None,
            status: None,
            notice: None,
            live: None,
            changed: BTreeSet::new(),
            quit: false,
            keymap: super::keymap::Keymap::default(),
            clipboard: None,
            overview: OverviewState::default(),
            trends: TrendsState::default(),
            drivers: DriversState::default(),
            cohorts: CohortsState::default(),
            alerts: AlertsState::default(),
            data: DataState::default(),
            compare: None,
            drill: None,
        }
    }

    /// The chosen range, in periods.
    pub fn periods_shown(&self) -> usize {
        RANGES[self.range.min(RANGES.len() - 1)]
    }

    /// The periods the charts actually draw at the current grain: the chosen range, or
    /// every complete period the snapshot holds when that is fewer.
    pub fn periods_drawn(&self) -> usize {
        let held = self
            .snapshot
            .series
            .iter()
            .filter(|s| s.grain == self.grain && s.segment.is_none())
            .map(|s| s.points.iter().filter(|p| !p.partial).count())
            .max()
            .unwrap_or(0);
        if held == 0 {
            self.periods_shown()
        } else {
            self.periods_shown().min(held)
        }
    }

    /// Metrics whose id or name contains the Trends filter (case-insensitive).
    pub fn filtered_metrics(&self) -> Vec<&MetricDef> {
        let needle = self.trends.filter.to_lowercase();
        self.snapshot
            .metrics
            .iter()
            .filter(|m| {
                needle.is_empty()
                    || m.id.to_lowercase().contains(&needle)
                    || m.name.to_lowercase().contains(&needle)
            })
            .collect()
    }

    /// The metric Trends shows.
    pub fn trend_metric(&self) -> Option<&MetricDef> {
        let list = self.filtered_metrics();
        list.get(self.trends.selected.min(list.len().saturating_sub(1)))
            .copied()
    }

    pub fn driver_kpi(&self) -> Option<&MetricDef> {
        self.snapshot.metrics.get(self.drivers.kpi)
    }

    /// Drivers offered for the chosen KPI: the configured pairs first, then the usual
    /// levers (spend, discount, price, conversion), then every other metric.
    pub fn driver_options(&self) -> Vec<&MetricDef> {
        const LEVERS: [MetricId; 7] = [
            MetricId::DiscountRate,
            MetricId::Aov,
            MetricId::Cac,
            MetricId::ConversionRatePct,
            MetricId::CtrPct,
            MetricId::Roas,
            MetricId::Orders,
        ];
        let Some(kpi) = self.driver_kpi() else {
            return Vec::new();
        };
        let mut ids: Vec<&str> = self
            .snapshot
            .config
            .drivers
            .iter()
            .filter(|p| p.kpi == kpi.id)
            .map(|p| p.driver.as_str())
            .collect();
        ids.extend(LEVERS.map(MetricId::as_str));
        let mut out: Vec<&MetricDef> = Vec::new();
        for id in ids {
            if let Some(m) = self.snapshot.metric(id)
                && m.id != kpi.id
                && !out.iter().any(|o| o.id == m.id)
            {
                out.push(m);
            }
        }
        for m in &self.snapshot.metrics {
            if m.id != kpi.id && !out.iter().any(|o| o.id == m.id) {
                out.push(m);
            }
        }
        out
    }

    pub fn driver_metric(&self) -> Option<&MetricDef> {
        let options = self.driver_options();
        options
            .get(self.drivers.driver.min(options.len().saturating_sub(1)))
            .copied()
    }

    pub fn cohort_variant(&self) -> CohortVariant {
        VARIANTS[self.cohorts.variant % VARIANTS.len()]
    }

    pub fn cohort_matrix(&self) -> Option<&crate::metrics::CohortMatrix> {
        let variant = self.cohort_variant();
        self.snapshot.cohorts.iter().find(|m| m.variant == variant)
    }

    /// The filter line that has the keyboard, if one has: `(text, pane)`.
    pub fn filtering(&self) -> bool {
        match self.tab {
            Tab::Trends => self.trends.filtering,
            Tab::Alerts => self.alerts.filtering,
            Tab::Data => self.data.filtering,
            _ => false,
        }
    }

    /// The alerts in the order the Alerts pane lists them: bad news before good news
    /// (good news wakes no one), strong before mild within each; open before acknowledged
    /// within a tier. Only those matching the Alerts filter.
    pub fn alert_order(&self) -> Vec<&crate::alerts::Alert> {
        let needle = self.alerts.filter.to_lowercase();
        let mut alerts: Vec<_> = self
            .snapshot
            .alerts
            .iter()
            .filter(|a| needle.is_empty() || alert_matches(self, a, &needle))
            .collect();
        alerts.sort_by_key(|a| (a.good, std::cmp::Reverse(a.tier), a.acknowledged));
        alerts
    }

    pub fn selected_alert(&self) -> Option<&crate::alerts::Alert> {
        self.alert_order().get(self.alerts.selected).copied()
    }

    pub fn data_rows(&self, section: DataSection) -> usize {
        let data = &self.snapshot.data;
        match section {
            DataSection::Tables => data.tables.len(),
            DataSection::Imports => data.imports.len(),
            DataSection::Rejects => self.filtered_rejects().len(),
        }
    }

    /// The rejected rows the Data pane lists: those matching its filter.
    pub fn filtered_rejects(&self) -> Vec<&crate::store::status::RejectEntry> {
        let needle = self.data.filter.to_lowercase();
        self.snapshot
            .data
            .rejects
            .iter()
            .filter(|r| {
                needle.is_empty()
                    || [
                        r.path.as_str(),
                        r.column.as_deref().unwrap_or_default(),
                        r.reason.as_str(),
                        r.raw.as_str(),
                    ]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&needle))
            })
            .collect()
    }

    /// The latest complete period at the current grain (the reference date's period when
    /// it ends on that date, else the one before).
    pub fn latest_complete(&self) -> Option<Period> {
        let as_of = self.snapshot.as_of?;
        let current = Period::containing(self.grain, as_of);
        Some(if current.end() == as_of {
            current
        } else {
            current.prev()
        })
    }

    /// While comparing: `(shown, base)` periods.
    pub fn compare_periods(&self) -> Option<(Period, Period)> {
        let compare = self.compare?;
        let back = |mut period: Period, n: usize| {
            for _ in 0..n {
                period = period.prev();
            }
            period
        };
        let shown = back(self.latest_complete()?, compare.shown_back);
        Some((shown, back(shown, compare.base_gap)))
    }

    /// Takes up the keys and colours of the configuration in force (after `r`, or the
    /// first load); the configuration was validated when it was read.
    pub fn apply_config(&mut self) {
        let config = &self.snapshot.config;
        if let Ok(keymap) = super::keymap::Keymap::from_config(&config.key_bindings()) {
            self.keymap = keymap;
        }
        if let Ok(palette) =
            super::theme::Palette::from_config(config.theme.base(), &config.theme.colours())
        {
            self.theme = self.theme.with_palette(palette);
        }
    }

    /// True when the store holds no data at all.
    pub fn is_empty_store(&self) -> bool {
        self.snapshot.as_of.is_none() && self.snapshot.series.is_empty()
    }
}

/// An alert matches a (lower-case) filter by its metric's id or name, segment or period.
fn alert_matches(app: &App, alert: &crate::alerts::Alert, needle: &str) -> bool {
    let name = app.snapshot.metric(&alert.metric).map(|m| m.name.as_ref());
    let segment = alert
        .segment
        .as_ref()
        .map(|s| format!("{}={}", s.dimension, s.value));
    [
        Some(alert.metric.as_str()),
        name,
        segment.as_deref(),
        Some(alert.period.as_str()),
    ]
    .into_iter()
    .flatten()
    .any(|field| field.to_lowercase().contains(needle))
}
