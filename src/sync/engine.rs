//! Running the rollup plan on DataFusion: a local session, or a Ballista scheduler's.

use std::io::{BufReader, BufWriter, Seek};
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use datafusion::arrow::array::{
    Array, AsArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, UInt32Type, UInt64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, collect, execute_stream};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use rusqlite::types::{Value, ValueRef};

use super::pool::{PeakPool, PoolPeak};
use super::source::{Format, Input, Location};
use super::{SyncError, SyncOptions};
use crate::dates::parse_day;
use crate::store::rollup::TABLE_DAYS;
use crate::store::rollup_plan::{
    self, ChangedDays, DayCounts, DayRanges, ExportChecks, FirstEvents, ProvidedColumn,
    ProvidedType, RAW_INPUTS, RollupInsert,
};

/// The spill files a sort merges in one pass (more are merged in several passes). Each
/// file merged holds a buffer reserved outside what the pool can reclaim, and DataFusion
/// (55) takes as many as the pool lets it by default: at 10 M events the window sort of
/// the cohort query held the whole 256 MB pool that way, and the operator after it
/// could not get 544 bytes.
const SPILL_MERGE_FAN_IN: usize = 8;

/// The stack of a Ballista scheduler's threads (see `Engine::decoding_plans_as_a_scheduler`).
const SCHEDULER_STACK_BYTES: usize = 32 << 20;

/// The export sources whose rows one query counts (see `Engine::rejects`).
const SOURCES_PER_COUNT: usize = 16;

/// What [`Engine::count_exports`] counts of one export source.
#[derive(Debug, Default)]
struct SourceCount {
    rows: u64,
    rejected: u64,
    /// Its valid rows per stored day.
    valid_per_day: Vec<(String, i64)>,
}

/// An export source whose rows are counted: a whole location, or one of its files.
struct Counted<'a> {
    table: &'static str,
    location: &'a Location,
    path: &'a std::path::Path,
    checks: ExportChecks,
    name: String,
}

pub struct Engine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    /// A session that reads each file in one partition, in its order, and keeps that
    /// order: where the rejects are numbered by their row in the file. (A CSV file of
    /// `repartition_file_min_size`, 10 MB, or more is otherwise read in byte ranges side
    /// by side, and the rows of several partitions are interleaved.)
    in_order: SessionContext,
    /// The configured time zone, in which the events' days are cut.
    time_zone: String,
    /// Every query's plan is encoded as the Ballista client sends it and decoded as a
    /// scheduler does before it runs (see [`Engine::decoding_plans_as_a_scheduler`]).
    decode_as_scheduler: bool,
    /// The in-process engine's memory pool, for its peak.
    pool: Option<Arc<PeakPool>>,
    /// On a cluster, whose scheduler deletes a finished query's result after a while.
    on_cluster: bool,
}

/// The rows of one export file that fail the data contract's checks (see
/// `rollup_plan::ExportChecks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRejects {
    pub table: &'static str,
    pub path: std::path::PathBuf,
    /// The file's rows, valid or not.
    pub rows: u64,
    /// Its rows that fail a check: left out of every rollup.
    pub rejected: u64,
    /// The first of them (up to the limit asked for), in the file's order.
    pub listed: Vec<RejectedRow>,
}

/// One rejected row of an export file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// Its line in a CSV file (the header is line 1); its row (from 1) in a Parquet file.
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    /// The row as in the file (CSV), or its cells as CSV (Parquet).
    pub raw: String,
}

/// What one read of every export of orders, refunds and events counts
/// ([`Engine::count_exports`]).
#[derive(Debug, Clone, Default)]
pub struct ExportCounts {
    /// Each file with rejected rows, and the first of them.
    pub files: Vec<FileRejects>,
    /// The valid rows per (table, stored day): those tables' rows of `ru_table_days`.
    pub rows_per_day: DayCounts,
}

/// What a sync computes on the engine ([`Engine::plan`], [`Engine::plan_changed`]).
pub struct SyncPlan {
    /// `ru_table_days` whole: the rows per day the exports were counted with (they also
    /// give the day ranges, and the changed days), written as they are.
    pub table_days: Vec<Vec<Value>>,
    /// After changed exports, only their days are computed again: which ones, per raw
    /// table with day rollups, and how the first events are counted.
    pub changed: Option<(ChangedDays, FirstEvents)>,
    /// The queries of the other rollups (of every day, or the day rollups of the
    /// changed days and the rollups computed whole).
    pub queries: Vec<Planned>,
}

/// The registered exports: per raw table, a select of its valid rows per export
/// location.
struct Registered {
    tables: Vec<(&'static str, Vec<String>)>,
}

impl Registered {
    /// One CTE per raw table reading all its exports.
    fn ctes(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|(table, selects)| rollup_plan::export_cte(table, selects))
            .collect()
    }
}

/// The name export location `n` of raw `table` is registered under.
fn source_name(table: &str, n: usize) -> String {
    format!("src_{table}_{n}")
}

/// The column that dates the rows of raw `table`.
fn day_column(table: &str) -> &'static str {
    TABLE_DAYS
        .iter()
        .find(|(t, _)| *t == table)
        .map_or("day", |(_, column)| *column)
}

/// Adds `day` (text) to the changed days of raw `table`, if it has day rollups.
fn add_day(days: &mut ChangedDays, table: &str, day: &str) {
    if let (Some(days), Some(day)) = (days.of_mut(table), parse_day(day)) {
        days.insert(day);
    }
}

/// One rollup query of the plan as the engine runs it: its rows are rollup `table`'s
/// `columns`, in order.
pub struct Planned {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    sql: String,
}

impl Planned {
    /// `query` reading the raw tables from the export CTEs `sources`.
    fn of(query: &rollup_plan::RollupQuery, sources: &[String]) -> Self {
        Self {
            table: query.table,
            columns: query.columns,
            sql: query.select_with(sources),
        }
    }

    /// Names this rollup in an engine error.
    fn error(&self) -> impl Fn(datafusion::error::DataFusionError) -> SyncError + '_ {
        move |source| SyncError::Query {
            what: format!("rollup {}", self.table),
            source,
        }
    }
}

/// The DataFusion settings of the engine's two sessions, in-process or on a cluster.
struct SessionSettings {
    /// The session of the rollups, whose scans and aggregations run in partitions.
    parallel: Vec<(&'static str, String)>,
    /// The session of the queries that read an export in its order, one partition.
    in_order: Vec<(&'static str, String)>,
}

impl SessionSettings {
    fn of(options: &SyncOptions) -> Self {
        // Statistics are every file's footer, read and copied when an export is
        // planned: time that grows with the number of files, for plans that cannot use
        // them (every rollup filters and reads every row).
        let both = [(
            "datafusion.execution.collect_statistics",
            "false".to_string(),
        )];
        let mut parallel = both.to_vec();
        if options.partitions > 0 {
            parallel.push((
                "datafusion.execution.target_partitions",
                options.partitions.to_string(),
            ));
        }
        let mut in_order = both.to_vec();
        in_order.extend([
            ("datafusion.execution.target_partitions", "1".to_string()),
            (
                "datafusion.optimizer.repartition_file_scans",
                "false".to_string(),
            ),
        ]);
        Self { parallel, in_order }
    }
}

impl Engine {
    /// A local DataFusion session, or one on the cluster of `options.cluster`.
    pub fn start(options: &SyncOptions) -> Result<Self, SyncError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(SyncError::Runtime)?;
        let mut pool = None;
        let settings = SessionSettings::of(options);
        let (ctx, in_order) = match &options.cluster {
            None => {
                let config = |settings: Vec<(&str, String)>| {
                    let mut config = SessionConfig::new();
                    for (key, value) in settings {
                        config.options_mut().set(key, &value).map_err(|source| {
                            SyncError::Query {
                                what: format!("the setting {key} = {value}"),
                                source,
                            }
                        })?;
                    }
                    Ok::<_, SyncError>(config)
                };
                // No Parquet footer is kept between queries. Each of a sync's queries
                // reads every footer again, a few kilobytes each, and the engine's
                // default cache keeps all of them, up to 50 MB: memory that grows with
                // the number of files and their pages, which the sync's peak must not.
                let mut env = RuntimeEnvBuilder::new()
                    .with_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN)
                    .with_metadata_cache_limit(0);
                if options.memory_mb > 0 {
                    // Shared fairly by the operators that can spill (sorts,
                    // aggregations), which then spill to the OS temp folder; without it
                    // their hash tables grow with the source.
                    let peak_pool =
                        Arc::new(PeakPool::new(options.memory_mb.saturating_mul(1 << 20)));
                    env = env.with_memory_pool(Arc::clone(&peak_pool) as _);
                    pool = Some(peak_pool);
                }
                let env = env.build_arc().map_err(|source| SyncError::Query {
                    what: "the in-process runtime".to_string(),
                    source,
                })?;
                (
                    SessionContext::new_with_config_rt(
                        config(settings.parallel)?,
                        Arc::clone(&env),
                    ),
                    SessionContext::new_with_config_rt(config(settings.in_order)?, env),
                )
            }
            Some(url) => {
                let cluster = |e: datafusion::error::DataFusionError| SyncError::Cluster {
                    url: url.clone(),
                    reason: e.to_string(),
                };
                // Each partition of a shuffle is a task, and a task costs the cluster tens
                // of milliseconds beyond its work (the executor asks for it, decodes its
                // plan, reports it): Ballista's default of 16 partitions on a cluster of
                // few cores left the executors mostly idle between tasks.
                let session = |settings: Vec<(&str, String)>| {
                    runtime
                        .block_on(async {
                            let ctx = remote(url).await?;
                            for (key, value) in &settings {
                                ctx.sql(&format!("SET {key} = {value}"))
                                    .await?
                                    .collect()
                                    .await?;
                            }
                            Ok(ctx)
                        })
                        .map_err(cluster)
                };
                (session(settings.parallel)?, session(settings.in_order)?)
            }
        };
        Ok(Self {
            runtime,
            ctx,
            in_order,
            time_zone: options.config.tz().name().to_string(),
            decode_as_scheduler: false,
            pool,
            on_cluster: options.cluster.is_some(),
        })
    }

    /// The most the in-process engine's sorts and aggregations held at once so far;
    /// `None` on a cluster or without a pool.
    pub fn pool_peak(&self) -> Option<PoolPeak> {
        self.pool.as_ref().map(|pool| pool.peak())
    }

    /// The engine, encoding every query's optimized plan as the Ballista client sends it
    /// to a scheduler and decoding it as the scheduler does, before running it
    /// in-process: a plan a scheduler would refuse fails here with the scheduler's
    /// error. The scheduler decodes with prost's limit of 100 nested messages, and a
    /// plan's nodes and the checks' expressions nest one message or more per level
    /// (Ballista 55 refused the first engine checks of the exports so: "Could not parse
    /// plan … RecursionLimitReached"). For tests: the in-process engine decodes nothing.
    pub fn decoding_plans_as_a_scheduler(mut self) -> Self {
        self.decode_as_scheduler = true;
        self
    }

    /// `sql` planned in `ctx`, its plan decoded as a scheduler would first when
    /// [`decoding_plans_as_a_scheduler`](Self::decoding_plans_as_a_scheduler).
    async fn frame(
        &self,
        ctx: &SessionContext,
        sql: &str,
    ) -> datafusion::error::Result<datafusion::dataframe::DataFrame> {
        let frame = ctx.sql(sql).await?;
        if self.decode_as_scheduler {
            let plan = frame.clone().into_optimized_plan()?;
            let task = frame.task_ctx();
            let round_trip = || {
                let codec = ballista_core::serde::BallistaLogicalExtensionCodec::default();
                let bytes = datafusion_proto::bytes::logical_plan_to_bytes_with_extension_codec(
                    &plan, &codec,
                )?;
                datafusion_proto::bytes::logical_plan_from_bytes_with_extension_codec(
                    &bytes, &task, &codec,
                )
                .map(|_| ())
            };
            // On a stack as large as the scheduler's threads have (`ballista-scheduler`
            // and `kpi-cluster-node` give them 32 MiB): the conversions recurse once
            // per level, and a test thread's 2 MiB overflowed.
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .stack_size(SCHEDULER_STACK_BYTES)
                    .spawn_scoped(scope, round_trip)
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })?;
        }
        Ok(frame)
    }

    /// Registers the exports of `inputs`: the plan's queries of every rollup, each to
    /// [`stream`](Self::stream) (a raw table without exports reads as empty), the day
    /// ranges and `ru_table_days` from the exports' rows per day `counted` (by
    /// [`count_exports`](Self::count_exports)) and the customers'.
    pub fn plan(&self, inputs: &[Input], counted: &DayCounts) -> Result<SyncPlan, SyncError> {
        self.runtime.block_on(self.plan_async(inputs, counted))
    }

    async fn plan_async(
        &self,
        inputs: &[Input],
        counted: &DayCounts,
    ) -> Result<SyncPlan, SyncError> {
        let registered = self.register(inputs).await?;
        let sources = registered.ctes();
        let (table_days, counted) = self.table_days(&sources, counted).await?;
        let ranges = DayRanges::of_counts(&counted);
        Ok(SyncPlan {
            table_days,
            changed: None,
            queries: rollup_plan::plan(&ranges)
                .into_iter()
                .filter(|query| query.table != "ru_table_days")
                .map(|query| Planned::of(&query, &sources))
                .collect(),
        })
    }

    /// `ru_table_days` (as rows to write, and as counts): the rows per day `counted` of
    /// the exports of orders, refunds and events, and the customers' counted from
    /// `sources`.
    async fn table_days(
        &self,
        sources: &[String],
        counted: &DayCounts,
    ) -> Result<(Vec<Vec<Value>>, DayCounts), SyncError> {
        let mut counted = counted.clone();
        let whole: Vec<&str> = TABLE_DAYS
            .iter()
            .map(|(table, _)| *table)
            .filter(|table| !super::ENGINE_ONLY.contains(table))
            .collect();
        let of_whole = self
            .rows(
                "the rows per day",
                &rollup_plan::table_days_of(&whole).select_with(sources),
            )
            .await?;
        for row in &of_whole {
            if let (Some(Value::Text(table)), Some(Value::Text(day)), Some(Value::Integer(n))) =
                (row.first(), row.get(1), row.get(2))
            {
                counted.insert((table.clone(), day.clone()), *n);
            }
        }
        let rows = counted
            .iter()
            .map(|((table, day), n)| {
                vec![
                    Value::Text(table.clone()),
                    Value::Text(day.clone()),
                    Value::Integer(*n),
                ]
            })
            .collect();
        Ok((rows, counted))
    }

    /// Registers the exports of `inputs` and finds what changed since the store's last
    /// sync of them: the rows per day of every export (`counted` by
    /// [`count_exports`](Self::count_exports), the customers' counted here) against the
    /// store's (`stored`: rows per (table, day)), and every day of the new or changed
    /// files `changed`. The plan then computes the day rollups of those days only, and
    /// the few rollups that need every row (see `rollup_plan::changed_days_plan`).
    pub fn plan_changed(
        &self,
        inputs: &[Input],
        changed: &[std::path::PathBuf],
        stored: &DayCounts,
        counted: &DayCounts,
        firsts: impl FnOnce(&ChangedDays) -> Result<FirstEvents, SyncError>,
    ) -> Result<SyncPlan, SyncError> {
        self.runtime
            .block_on(self.plan_changed_async(inputs, changed, stored, counted, firsts))
    }

    async fn plan_changed_async(
        &self,
        inputs: &[Input],
        changed: &[std::path::PathBuf],
        stored: &DayCounts,
        counted: &DayCounts,
        firsts: impl FnOnce(&ChangedDays) -> Result<FirstEvents, SyncError>,
    ) -> Result<SyncPlan, SyncError> {
        let registered = self.register(inputs).await?;
        let sources = registered.ctes();
        let (table_days, counted) = self.table_days(&sources, counted).await?;
        let ranges = DayRanges::of_counts(&counted);
        let mut days = ChangedDays::default();
        for (key, n) in &counted {
            if stored.get(key) != Some(n) {
                add_day(&mut days, &key.0, &key.1);
            }
        }
        for key in stored.keys() {
            if !counted.contains_key(key) {
                add_day(&mut days, &key.0, &key.1);
            }
        }
        self.days_of_files(inputs, changed, &mut days).await?;
        let of_days = self.register_days(inputs, &registered, &days).await?;
        let firsts = firsts(&days)?;
        let queries = rollup_plan::changed_days_plan(&ranges, firsts)
            .into_iter()
            .filter(|(query, _)| query.table != "ru_table_days")
            .map(|(query, of_changed_days)| {
                Planned::of(&query, if of_changed_days { &of_days } else { &sources })
            })
            .collect();
        Ok(SyncPlan {
            table_days,
            changed: Some((days, firsts)),
            queries,
        })
    }

    /// The export CTEs of the changed days: the tables with day rollups read, of their
    /// Parquet exports, only the files whose statistics allow a row of `days`
    /// ([`source::may_hold_days`]: one file of a day-partitioned export for a new day,
    /// not all of them); CSV exports are read whole. Every other table reads its exports
    /// as `registered`.
    async fn register_days(
        &self,
        inputs: &[Input],
        registered: &Registered,
        days: &ChangedDays,
    ) -> Result<Vec<String>, SyncError> {
        let mut ctes = Vec::new();
        for (table, selects) in &registered.tables {
            let (Some(of_table), Some((_, columns))) =
                (days.of(table), RAW_INPUTS.iter().find(|(t, _)| t == table))
            else {
                ctes.push(rollup_plan::export_cte(table, selects));
                continue;
            };
            let column = day_column(table);
            let locations = inputs
                .iter()
                .filter(|i| i.table == *table)
                .flat_map(|i| &i.locations);
            let mut kept = Vec::new();
            for (n, location) in locations.enumerate() {
                if location.format != Format::Parquet {
                    kept.push(selects[n].clone());
                    continue;
                }
                let files: Vec<&std::path::PathBuf> = location
                    .files
                    .iter()
                    .filter(|f| super::source::may_hold_days(f, column, of_table))
                    .collect();
                if files.len() == location.files.len() {
                    kept.push(selects[n].clone());
                    continue;
                }
                if files.is_empty() {
                    continue;
                }
                let name = format!("days_{table}_{n}");
                let fail = |e: datafusion::error::DataFusionError| SyncError::Source {
                    path: location.path.clone(),
                    reason: e.to_string(),
                };
                let paths: Vec<String> = files
                    .iter()
                    .map(|f| f.to_string_lossy().into_owned())
                    .collect();
                // The schema of the whole location, as the rollups read it: read alone,
                // several files take the first one's (a column without NULL in it is
                // declared non-nullable, and another file's NULLs then fail the read).
                let schema = self
                    .ctx
                    .table_provider(source_name(table, n))
                    .await
                    .map_err(fail)?
                    .schema();
                let frame = self
                    .ctx
                    .read_parquet(paths, ParquetReadOptions::default().schema(&schema))
                    .await
                    .map_err(fail)?;
                self.ctx
                    .register_table(name.as_str(), frame.into_view())
                    .map_err(fail)?;
                let provided = provided(&self.ctx, &name).await.map_err(fail)?;
                let checks = ExportChecks::of(&name, table, columns, &provided, &self.time_zone);
                kept.push(checks.valid_rows(columns));
            }
            if kept.is_empty() {
                kept.push(rollup_plan::empty_export(columns));
            }
            ctes.push(rollup_plan::export_cte_of_days(
                table, &kept, column, of_table,
            ));
        }
        Ok(ctes)
    }

    /// Adds to `days` every day of the valid rows of the `changed` files that are exports
    /// of a raw table with day rollups, each read alone.
    async fn days_of_files(
        &self,
        inputs: &[Input],
        changed: &[std::path::PathBuf],
        days: &mut ChangedDays,
    ) -> Result<(), SyncError> {
        for input in inputs {
            if days.of(input.table).is_none() {
                continue;
            }
            let column = day_column(input.table);
            let columns = RAW_INPUTS
                .iter()
                .find(|(t, _)| *t == input.table)
                .map_or(&[][..], |(_, c)| *c);
            let files = input.locations.iter().flat_map(|location| {
                location
                    .files
                    .iter()
                    .filter(|f| changed.contains(f))
                    .map(move |f| (location, f))
            });
            for (n, (location, path)) in files.enumerate() {
                let name = format!("changed_{}_{n}", input.table);
                let checks = self
                    .checks_of(&name, &path.to_string_lossy(), path, input.table, location)
                    .await?;
                let sql = checks.days_of_valid_rows(columns, column);
                let what = format!("the days of {}", path.display());
                for row in self.rows(&what, &sql).await? {
                    if let Some(Value::Text(day)) = row.first() {
                        add_day(days, input.table, day);
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs `query` and hands its result to `each`, record batch by record batch as the
    /// engine produces them: no more of the result is held than the batch at hand.
    pub fn stream(
        &self,
        query: &Planned,
        mut each: impl FnMut(&RecordBatch) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        let query_error = query.error();
        self.runtime.block_on(async {
            let (plan, task) = self.physical(query).await?;
            if self.on_cluster {
                fetched_whole_first(plan, task, query.table, &query_error, &mut each).await
            } else {
                run_by_branch(plan, task, &query_error, &mut each).await
            }
        })
    }

    /// Runs `query` (its result dropped) and returns, for each hash join of its plan, the
    /// rows the join built its table from: the side held whole in memory, which the
    /// memory pool cannot spill. Tests check that every one is bounded by the ids or
    /// days, not by the source's rows.
    pub fn hash_join_builds(&self, query: &Planned) -> Result<Vec<usize>, SyncError> {
        fn builds(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<usize>) {
            if plan.downcast_ref::<HashJoinExec>().is_some() {
                out.push(
                    plan.metrics()
                        .and_then(|m| m.sum_by_name("build_input_rows"))
                        .map_or(0, |v| v.as_usize()),
                );
            }
            for child in plan.children() {
                builds(child, out);
            }
        }
        let query_error = query.error();
        self.runtime.block_on(async {
            let (plan, task) = self.physical(query).await?;
            collect(Arc::clone(&plan), task)
                .await
                .map_err(query_error)?;
            let mut out = Vec::new();
            builds(&plan, &mut out);
            Ok(out)
        })
    }

    /// `query`'s physical plan, and the task context to execute it in.
    async fn physical(
        &self,
        query: &Planned,
    ) -> Result<(Arc<dyn ExecutionPlan>, Arc<TaskContext>), SyncError> {
        let frame = self
            .frame(&self.ctx, &query.sql)
            .await
            .map_err(query.error())?;
        let task = Arc::new(frame.task_ctx());
        let plan = frame.create_physical_plan().await.map_err(query.error())?;
        Ok((plan, task))
    }

    /// Registers every export location, and returns how each raw table reads them all as
    /// its stored columns.
    async fn register(&self, inputs: &[Input]) -> Result<Registered, SyncError> {
        let mut tables = Vec::new();
        for (table, columns) in RAW_INPUTS {
            let mut selects = Vec::new();
            let locations = inputs
                .iter()
                .filter(|i| i.table == table)
                .flat_map(|i| &i.locations);
            for (n, location) in locations.enumerate() {
                let name = source_name(table, n);
                let mut path = location.path.to_string_lossy().to_string();
                // A folder is listed (recursively) only when its path says it is one.
                if location.path.is_dir() && !path.ends_with('/') {
                    path.push('/');
                }
                let fail = |e: datafusion::error::DataFusionError| SyncError::Source {
                    path: location.path.clone(),
                    reason: e.to_string(),
                };
                register_path(&self.ctx, &name, &path, location)
                    .await
                    .map_err(fail)?;
                let provided = provided(&self.ctx, &name).await.map_err(fail)?;
                let checks = ExportChecks::of(&name, table, columns, &provided, &self.time_zone);
                selects.push(checks.valid_rows(columns));
            }
            if selects.is_empty() {
                selects.push(rollup_plan::empty_export(columns));
            }
            tables.push((table, selects));
        }
        Ok(Registered { tables })
    }

    /// One read of every export of the tables only the engine reads
    /// ([`ENGINE_ONLY`](super::ENGINE_ONLY)) counts their valid rows per day (their rows of
    /// `ru_table_days`, the day ranges, and after a change the changed days) and the rows
    /// that fail the data contract's checks: per file with any, its rows, its rejected
    /// rows, and the first `limit` of them with their line (CSV) or row (Parquet),
    /// column, reason and cells. The count reads every file whole; the list reads a file
    /// with rejects in one partition, in its order, up to its last row listed.
    pub fn count_exports(&self, inputs: &[Input], limit: usize) -> Result<ExportCounts, SyncError> {
        self.runtime
            .block_on(self.count_exports_async(inputs, limit))
    }

    async fn count_exports_async(
        &self,
        inputs: &[Input],
        limit: usize,
    ) -> Result<ExportCounts, SyncError> {
        // First each location whole, as the rollups read it: with clean exports, one
        // count per folder and no file registered on its own.
        let mut locations = Vec::new();
        for input in inputs {
            if !super::ENGINE_ONLY.contains(&input.table) {
                continue;
            }
            for location in &input.locations {
                let name = format!("loc_{}_{}", input.table, locations.len());
                let mut path = location.path.to_string_lossy().to_string();
                if location.path.is_dir() && !path.ends_with('/') {
                    path.push('/');
                }
                let checks = self
                    .checks_of(&name, &path, &location.path, input.table, location)
                    .await?;
                locations.push(Counted {
                    table: input.table,
                    location,
                    path: &location.path,
                    checks,
                    name,
                });
            }
        }
        let counts = self.count(&locations).await?;
        let mut rows_per_day = DayCounts::new();
        for (counted, count) in locations.iter().zip(&counts) {
            for (day, n) in &count.valid_per_day {
                *rows_per_day
                    .entry((counted.table.to_string(), day.clone()))
                    .or_default() += n;
            }
        }
        // Then each file of a location with rejected rows.
        let mut files = Vec::new();
        for (counted, count) in locations.iter().zip(counts) {
            let (rows, rejected) = (count.rows, count.rejected);
            if rejected == 0 {
                continue;
            }
            if counted.location.files.len() == 1 && counted.location.files[0] == *counted.path {
                files.push((
                    Counted {
                        table: counted.table,
                        location: counted.location,
                        path: counted.path,
                        checks: counted.checks.clone(),
                        name: counted.name.clone(),
                    },
                    (rows, rejected),
                ));
                continue;
            }
            let mut of_location = Vec::new();
            for path in &counted.location.files {
                let name = format!(
                    "file_{}_{}_{}",
                    counted.table,
                    files.len(),
                    of_location.len()
                );
                let checks = self
                    .checks_of(
                        &name,
                        &path.to_string_lossy(),
                        path,
                        counted.table,
                        counted.location,
                    )
                    .await?;
                of_location.push(Counted {
                    table: counted.table,
                    location: counted.location,
                    path,
                    checks,
                    name,
                });
            }
            let counts = self.count(&of_location).await?;
            files.extend(
                of_location
                    .into_iter()
                    .zip(counts)
                    .filter(|(_, c)| c.rejected > 0)
                    .map(|(file, c)| (file, (c.rows, c.rejected))),
            );
        }
        let mut out = Vec::new();
        for (file, (rows, rejected)) in files {
            // Read again in one partition, in the file's order, to number its rows.
            let fail = |e: datafusion::error::DataFusionError| SyncError::Source {
                path: file.path.to_path_buf(),
                reason: e.to_string(),
            };
            register(&self.in_order, &file.name, file.path, file.location)
                .await
                .map_err(fail)?;
            let what = format!("the rejected rows of {}", file.path.display());
            let sql = file.checks.rejected_rows(limit);
            let query_error = |source| SyncError::Query {
                what: what.clone(),
                source,
            };
            let batches = self
                .frame(&self.in_order, &sql)
                .await
                .map_err(query_error)?
                .collect()
                .await
                .map_err(query_error)?;
            let mut cells = Vec::new();
            for batch in &batches {
                append_rows(&file.name, batch, &mut cells)?;
            }
            // In the file's order (one partition), however the rows reached here.
            cells.sort_by_key(|r| match r.first() {
                Some(Value::Integer(n)) => *n,
                _ => 0,
            });
            let listed = listed_rows(file.location.format, file.path, &cells)?;
            out.push(FileRejects {
                table: file.table,
                path: file.path.to_path_buf(),
                rows,
                rejected,
                listed,
            });
        }
        Ok(ExportCounts {
            files: out,
            rows_per_day,
        })
    }

    /// Registers `path` (of `location`, an export of raw `table`) as table `name` and
    /// returns its checks.
    async fn checks_of(
        &self,
        name: &str,
        path: &str,
        shown: &std::path::Path,
        table: &str,
        location: &Location,
    ) -> Result<ExportChecks, SyncError> {
        let fail = |e: datafusion::error::DataFusionError| SyncError::Source {
            path: shown.to_path_buf(),
            reason: e.to_string(),
        };
        register_path(&self.ctx, name, path, location)
            .await
            .map_err(fail)?;
        let provided = provided(&self.ctx, name).await.map_err(fail)?;
        let columns = RAW_INPUTS
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(&[][..], |(_, c)| *c);
        Ok(ExportChecks::of(
            name,
            table,
            columns,
            &provided,
            &self.time_zone,
        ))
    }

    /// The rows, rejected rows and valid rows per day of each of `sources`, in order.
    async fn count(&self, sources: &[Counted<'_>]) -> Result<Vec<SourceCount>, SyncError> {
        let mut counts = Vec::new();
        // A few sources per query: the SQL parser and planner recurse once per branch of
        // a UNION ALL, and a debug build overflowed a 2 MB stack on 150 files in one.
        for some in sources.chunks(SOURCES_PER_COUNT) {
            let judged: Vec<String> = some
                .iter()
                .enumerate()
                .map(|(i, s)| s.checks.judged(&i.to_string()))
                .collect();
            let rows = self
                .rows(
                    "the rows and rejected rows per export file",
                    &rollup_plan::rows_per_file_and_day(&judged),
                )
                .await?;
            let number = |v: Option<&Value>| match v {
                Some(Value::Integer(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            let mut of_some: Vec<SourceCount> = std::iter::repeat_with(SourceCount::default)
                .take(some.len())
                .collect();
            for row in &rows {
                let Some(count) = (match row.first() {
                    Some(Value::Text(key)) => key.parse::<usize>().ok(),
                    _ => None,
                })
                .and_then(|i| of_some.get_mut(i)) else {
                    continue;
                };
                let (n, rejected) = (number(row.get(2)), number(row.get(3)));
                count.rows += n;
                count.rejected += rejected;
                if let Some(Value::Text(day)) = row.get(1) {
                    count
                        .valid_per_day
                        .push((day.clone(), i64::try_from(n - rejected).unwrap_or(i64::MAX)));
                }
            }
            counts.extend(of_some);
        }
        Ok(counts)
    }

    /// The rows of `sql`; `what` names the query in an error.
    async fn rows(&self, what: &str, sql: &str) -> Result<Vec<Vec<Value>>, SyncError> {
        let query_error = |source| SyncError::Query {
            what: what.to_string(),
            source,
        };
        let batches = self
            .frame(&self.ctx, sql)
            .await
            .map_err(query_error)?
            .collect()
            .await
            .map_err(query_error)?;
        let mut out = Vec::new();
        for batch in &batches {
            append_rows(what, batch, &mut out)?;
        }
        Ok(out)
    }
}

/// Runs `plan` and hands its result to `each`, batch by batch; a UNION ALL's branches one
/// after the other, each dropped once it has run.
///
/// Run together, every branch's operators would share the pool at once, and the fair pool
/// gives each spilling operator the pool divided by their number: the four branches of
/// ru_distinct together (over a hundred operators) left each under 1.1 MB of a 128 MB
/// pool, and a final aggregation failed at 200 k events; one branch at a time synced them
/// with 64 MB. And a Parquet scan keeps, for every file it opened, two sets of about
/// twenty metrics labelled with the file's path (DataFusion 55) until its plan is dropped:
/// kept to the end, every branch's would be held at once (at 7 300 export files, 350 MB).
async fn run_by_branch(
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    query_error: &impl Fn(datafusion::error::DataFusionError) -> SyncError,
    each: &mut impl FnMut(&RecordBatch) -> Result<(), SyncError>,
) -> Result<(), SyncError> {
    let branches = match plan.downcast_ref::<UnionExec>() {
        Some(union) => union.inputs().clone(),
        _ => vec![Arc::clone(&plan)],
    };
    drop(plan);
    for branch in branches {
        let mut batches = execute_stream(branch, Arc::clone(&task)).map_err(query_error)?;
        while let Some(batch) = batches.next().await {
            each(&batch.map_err(query_error)?)?;
        }
    }
    Ok(())
}

/// Runs `plan` on a cluster and fetches its whole result into a temporary file, then
/// hands it to `each`, batch by batch.
///
/// A Ballista scheduler deletes a finished query's result from the executors after a
/// while (`finished_job_data_clean_up_interval_seconds`, 300 s by default), and the
/// client fetches it a partition at a time as it is read. Read as fast as the store
/// wrote it, the 70 M rows of ru_event_users_day of 100 M events were still being
/// fetched after 300 s, and the sync failed: "Failed to open partition file".
async fn fetched_whole_first(
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    table: &str,
    query_error: &impl Fn(datafusion::error::DataFusionError) -> SyncError,
    each: &mut impl FnMut(&RecordBatch) -> Result<(), SyncError>,
) -> Result<(), SyncError> {
    let file_error = |source: std::io::Error| SyncError::ResultFile {
        what: format!("rollup {table}"),
        source,
    };
    let arrow_error = |e: ArrowError| query_error(e.into());
    let mut batches = execute_stream(plan, task).map_err(query_error)?;
    let Some(first) = batches.next().await else {
        return Ok(());
    };
    let first = first.map_err(query_error)?;
    let mut kept = tempfile::tempfile().map_err(file_error)?;
    let write_to = BufWriter::new(kept.try_clone().map_err(file_error)?);
    let mut writer = StreamWriter::try_new(write_to, &first.schema()).map_err(arrow_error)?;
    writer.write(&first).map_err(arrow_error)?;
    drop(first);
    while let Some(batch) = batches.next().await {
        writer
            .write(&batch.map_err(query_error)?)
            .map_err(arrow_error)?;
    }
    drop(batches);
    writer
        .into_inner()
        .map_err(arrow_error)?
        .into_inner()
        .map_err(|e| file_error(e.into_error()))?;
    kept.rewind().map_err(file_error)?;
    let reader = StreamReader::try_new(BufReader::new(kept), None).map_err(arrow_error)?;
    for batch in reader {
        each(&batch.map_err(arrow_error)?)?;
    }
    Ok(())
}

/// Registers the export file `path` of `location` as table `name` in `ctx`.
async fn register(
    ctx: &SessionContext,
    name: &str,
    path: &std::path::Path,
    location: &Location,
) -> datafusion::error::Result<()> {
    register_path(ctx, name, &path.to_string_lossy(), location).await
}

/// Registers `path` (a file, or a folder ending in `/`, listed recursively) as table
/// `name` in `ctx`, read as `location`'s format (CSV: its header, every column text).
async fn register_path(
    ctx: &SessionContext,
    name: &str,
    path: &str,
    location: &Location,
) -> datafusion::error::Result<()> {
    match location.format {
        Format::Parquet => {
            ctx.register_parquet(name, path, ParquetReadOptions::default())
                .await
        }
        Format::Csv => {
            let schema = Schema::new(
                location
                    .header
                    .iter()
                    .map(|h| Field::new(h, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            let options = CsvReadOptions::new()
                .has_header(true)
                .schema(&schema)
                .file_extension(Format::Csv.extension());
            ctx.register_csv(name, path, options).await
        }
    }
}

/// The columns table `name` of `ctx` provides, with how the engine reads each.
async fn provided(
    ctx: &SessionContext,
    name: &str,
) -> datafusion::error::Result<Vec<ProvidedColumn>> {
    Ok(ctx
        .table(name)
        .await?
        .schema()
        .fields()
        .iter()
        .map(|f| ProvidedColumn {
            name: f.name().clone(),
            kind: match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ProvidedType::Text,
                t if t.is_integer() => ProvidedType::Integer,
                t if t.is_floating() => ProvidedType::Float,
                _ => ProvidedType::Other,
            },
        })
        .collect())
}

/// The listed rejects of one file from the rows of `ExportChecks::rejected_rows`
/// (`row, reason, cells…`): a CSV row's line and text are read back from the file, as
/// `kpi import` lists them (a quoted field may hold line breaks, so a row's line is not
/// its row number plus one); a Parquet row is listed by its row number, its cells
/// written as CSV.
fn listed_rows(
    format: Format,
    path: &std::path::Path,
    rows: &[Vec<Value>],
) -> Result<Vec<RejectedRow>, SyncError> {
    let text = |v: Option<&Value>| match v {
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Integer(n)) => n.to_string(),
        Some(Value::Real(x)) => x.to_string(),
        _ => String::new(),
    };
    let mut out: Vec<RejectedRow> = rows
        .iter()
        .map(|r| {
            let line = match r.first() {
                Some(Value::Integer(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            let reason = text(r.get(1));
            let (column, reason) = match reason.split_once(": ") {
                Some((c, why)) => (Some(c.to_string()), why.to_string()),
                None => (None, reason),
            };
            let mut raw = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            let cells: Vec<String> = r.iter().skip(2).map(|c| text(Some(c))).collect();
            let _ = raw.write_record(&cells);
            let raw = raw
                .into_inner()
                .map(|b| String::from_utf8_lossy(&b).trim_end().to_string())
                .unwrap_or_default();
            RejectedRow {
                line,
                column,
                reason,
                raw,
            }
        })
        .collect();
    if format == Format::Csv && !out.is_empty() {
        csv_lines(path, &mut out).map_err(|e| SyncError::Source {
            path: path.to_path_buf(),
            reason: format!("cannot read its rejected rows again: {e}"),
        })?;
    }
    Ok(out)
}

/// Turns the record numbers of `rows` (from 1, after the header) into their lines in the
/// CSV file at `path`, with each record's text as it stands there: the file is read with
/// the engine's record rules (csv-core's, as Arrow's reader: quoted fields may span
/// lines, empty lines are skipped) up to the last record listed.
fn csv_lines(path: &std::path::Path, rows: &mut [RejectedRow]) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)?;
    reader.byte_headers()?;
    let mut file = std::fs::File::open(path)?;
    let mut record = csv::ByteRecord::new();
    let mut next = 0;
    let mut number = 0u64;
    while next < rows.len() {
        let start = reader.position().clone();
        if !reader.read_byte_record(&mut record)? {
            break;
        }
        number += 1;
        if number != rows[next].line {
            continue;
        }
        let end = reader.position().byte();
        let mut raw = vec![0; end.saturating_sub(start.byte()) as usize];
        file.seek(SeekFrom::Start(start.byte()))?;
        file.read_exact(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let text = text.trim_start_matches(['\r', '\n']);
        let skipped = raw.len() - text.len();
        let leading_lines = raw[..skipped].iter().filter(|&&b| b == b'\n').count() as u64;
        rows[next].line = record
            .position()
            .map_or(start.line(), |p| p.line())
            .max(start.line() + leading_lines);
        rows[next].raw = text.trim_end_matches(['\r', '\n']).to_string();
        next += 1;
    }
    Ok(())
}

/// A session on the scheduler at `url`, with Ballista's static planner: the adaptive one
/// (55.0.0) wrote some cohort rows twice on a two-executor cluster, and the rollups
/// must equal the local rebuild's exactly.
async fn remote(url: &str) -> datafusion::error::Result<SessionContext> {
    let ctx = SessionContext::remote(url).await?;
    ctx.sql("SET ballista.planner.adaptive.enabled = false")
        .await?
        .collect()
        .await?;
    Ok(ctx)
}

/// Inserts every row of `batch` (the columns of the `table` it is written to, in order)
/// with `insert`, each cell read straight from its Arrow column: text borrowed, not
/// copied.
pub fn write_batch(
    table: &str,
    batch: &RecordBatch,
    insert: &mut RollupInsert<'_>,
) -> Result<(), SyncError> {
    let columns = columns_of(table, batch)?;
    let mut values = Vec::with_capacity(columns.len());
    for row in 0..batch.num_rows() {
        values.clear();
        for column in &columns {
            values.push(column.cell(table, row)?);
        }
        insert.row(&values)?;
    }
    Ok(())
}

/// The columns of `batch`, each checked for a type the store holds.
fn columns_of<'b>(table: &str, batch: &'b RecordBatch) -> Result<Vec<Column<'b>>, SyncError> {
    batch
        .columns()
        .iter()
        .map(|c| Column::of(table, c.as_ref()))
        .collect()
}

/// The rows of `batch` as owned SQLite values (a few rows: the day ranges).
fn append_rows(
    table: &str,
    batch: &RecordBatch,
    out: &mut Vec<Vec<Value>>,
) -> Result<(), SyncError> {
    let columns = columns_of(table, batch)?;
    for row in 0..batch.num_rows() {
        let cells = columns.iter().map(|c| {
            c.cell(table, row).map(|v| match v {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(x) => Value::Real(x),
                // Arrow strings are UTF-8.
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            })
        });
        out.push(cells.collect::<Result<_, _>>()?);
    }
    Ok(())
}

/// An Arrow column of a type the store can hold, downcast once per batch.
enum Column<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Int64(&'a Int64Array),
    Int32(&'a Int32Array),
    UInt32(&'a UInt32Array),
    UInt64(&'a UInt64Array),
    Float64(&'a Float64Array),
    Float32(&'a Float32Array),
    Null,
}

impl<'a> Column<'a> {
    fn of(table: &str, column: &'a dyn Array) -> Result<Self, SyncError> {
        Ok(match column.data_type() {
            DataType::Utf8 => Self::Utf8(column.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(column.as_string::<i64>()),
            DataType::Utf8View => Self::Utf8View(column.as_string_view()),
            DataType::Int64 => Self::Int64(column.as_primitive::<Int64Type>()),
            DataType::Int32 => Self::Int32(column.as_primitive::<Int32Type>()),
            DataType::UInt32 => Self::UInt32(column.as_primitive::<UInt32Type>()),
            DataType::UInt64 => Self::UInt64(column.as_primitive::<UInt64Type>()),
            DataType::Float64 => Self::Float64(column.as_primitive::<Float64Type>()),
            DataType::Float32 => Self::Float32(column.as_primitive::<Float32Type>()),
            DataType::Null => Self::Null,
            _ => return Err(column_type(table, &column.data_type().to_string())),
        })
    }

    fn cell(&self, table: &str, row: usize) -> Result<ValueRef<'a>, SyncError> {
        fn get<T: Array>(
            array: &T,
            row: usize,
            value: impl FnOnce(&T) -> ValueRef<'_>,
        ) -> ValueRef<'_> {
            if array.is_null(row) {
                ValueRef::Null
            } else {
                value(array)
            }
        }
        Ok(match *self {
            Self::Utf8(a) => get(a, row, |a| ValueRef::Text(a.value(row).as_bytes())),
            Self::LargeUtf8(a) => get(a, row, |a| ValueRef::Text(a.value(row).as_bytes())),
            Self::Utf8View(a) => get(a, row, |a| ValueRef::Text(a.value(row).as_bytes())),
            Self::Int64(a) => get(a, row, |a| ValueRef::Integer(a.value(row))),
            Self::Int32(a) => get(a, row, |a| ValueRef::Integer(a.value(row).into())),
            Self::UInt32(a) => get(a, row, |a| ValueRef::Integer(a.value(row).into())),
            Self::UInt64(a) => {
                if a.is_null(row) {
                    ValueRef::Null
                } else {
                    ValueRef::Integer(
                        i64::try_from(a.value(row)).map_err(|_| column_type(table, "UInt64"))?,
                    )
                }
            }
            Self::Float64(a) => get(a, row, |a| ValueRef::Real(a.value(row))),
            Self::Float32(a) => get(a, row, |a| ValueRef::Real(a.value(row).into())),
            Self::Null => ValueRef::Null,
        })
    }
}

fn column_type(table: &str, data_type: &str) -> SyncError {
    SyncError::ColumnType {
        table: table.to_string(),
        data_type: data_type.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::datasource::memory::MemorySourceConfig;

    #[test]
    fn the_in_process_engine_keeps_no_parquet_footer_once_a_query_has_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let file = dir.path().join("part-0.parquet");
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&file).unwrap(),
            schema,
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let engine = Engine::start(&SyncOptions::default()).unwrap();
        let batches = engine
            .runtime
            .block_on(async {
                engine
                    .ctx
                    .read_parquet(file.to_str().unwrap(), ParquetReadOptions::default())
                    .await?
                    .collect()
                    .await
            })
            .unwrap();
        let values: Vec<i64> = batches
            .iter()
            .flat_map(|batch| {
                batch
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(values, [1, 2, 3]);
        let footers = engine
            .ctx
            .runtime_env()
            .cache_manager
            .get_file_metadata_cache();
        assert_eq!(footers.len(), 0, "the engine kept the file's footer");
    }

    #[test]
    fn a_union_branch_is_dropped_once_it_has_run_before_the_next_one_runs() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let branch = |n: i64| -> Arc<dyn ExecutionPlan> {
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from(vec![n]))],
            )
            .unwrap();
            MemorySourceConfig::try_new_exec(&[vec![batch]], Arc::clone(&schema), None).unwrap()
        };
        let (first, second) = (branch(1), branch(2));
        let first_held = Arc::downgrade(&first);
        let plan = UnionExec::try_new(vec![first, second]).unwrap();
        assert!(plan.downcast_ref::<UnionExec>().is_some());
        assert!(
            first_held.upgrade().is_some(),
            "the union holds its branches"
        );
        let query_error = |source| SyncError::Query {
            what: "the test union".to_string(),
            source,
        };
        // Each batch's value, and whether the first branch's plan was still held then.
        let mut seen = Vec::new();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(run_by_branch(
                plan,
                Arc::new(TaskContext::default()),
                &query_error,
                &mut |batch| {
                    let n = batch.column(0).as_primitive::<Int64Type>().value(0);
                    seen.push((n, first_held.upgrade().is_some()));
                    Ok(())
                },
            ))
            .unwrap();
        let values: Vec<i64> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(values, [1, 2]);
        assert!(
            !seen[1].1,
            "the first branch was still held while the second ran"
        );
    }
}
