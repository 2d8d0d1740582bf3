//! Running the rollup plan on DataFusion: a local session, or a Ballista scheduler's.

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use datafusion::arrow::array::{
    Array, AsArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, UInt32Type, UInt64Type,
};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, collect, execute_stream};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use rusqlite::types::{Value, ValueRef};

use super::source::{Format, Input};
use super::{SyncError, SyncOptions};
use crate::store::rollup_plan::{
    self, DayRanges, RAW_INPUTS, RollupInsert, range_queries, with_ctes,
};

/// The spill files a sort merges in one pass (more are merged in several passes). Each
/// file merged holds a buffer reserved outside what the pool can reclaim, and DataFusion
/// (55) takes as many as the pool lets it by default: at 10 M events the window sort of
/// the cohort query held the whole 256 MB pool that way, and the operator after it
/// could not get 544 bytes.
const SPILL_MERGE_FAN_IN: usize = 8;

pub struct Engine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
}

/// One rollup query of the plan as the engine runs it: its rows are rollup `table`'s
/// `columns`, in order.
pub struct Planned {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    sql: String,
}

impl Planned {
    /// Names this rollup in an engine error.
    fn error(&self) -> impl Fn(datafusion::error::DataFusionError) -> SyncError + '_ {
        move |source| SyncError::Query {
            what: format!("rollup {}", self.table),
            source,
        }
    }
}

impl Engine {
    /// A local DataFusion session, or one on the cluster of `options.cluster`.
    pub fn start(options: &SyncOptions) -> Result<Self, SyncError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(SyncError::Runtime)?;
        let ctx = match &options.cluster {
            None => {
                let mut config = SessionConfig::new();
                if options.partitions > 0 {
                    config = config.with_target_partitions(options.partitions);
                }
                let mut env =
                    RuntimeEnvBuilder::new().with_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN);
                if options.memory_mb > 0 {
                    // Shared fairly by the operators that can spill (sorts,
                    // aggregations), which then spill to the OS temp folder; without it
                    // their hash tables grow with the source.
                    env = env.with_memory_pool(Arc::new(FairSpillPool::new(
                        options.memory_mb.saturating_mul(1 << 20),
                    )));
                }
                let env = env.build_arc().map_err(|source| SyncError::Query {
                    what: "the in-process runtime".to_string(),
                    source,
                })?;
                SessionContext::new_with_config_rt(config, env)
            }
            Some(url) => runtime
                .block_on(remote(url))
                .map_err(|e| SyncError::Cluster {
                    url: url.clone(),
                    reason: e.to_string(),
                })?,
        };
        Ok(Self { runtime, ctx })
    }

    /// Registers the exports of `inputs` and reads the raw tables' day ranges: the plan's
    /// queries, each to [`stream`](Self::stream) (a raw table without exports reads as
    /// empty).
    pub fn plan(&self, inputs: &[Input]) -> Result<Vec<Planned>, SyncError> {
        self.runtime.block_on(self.plan_async(inputs))
    }

    async fn plan_async(&self, inputs: &[Input]) -> Result<Vec<Planned>, SyncError> {
        let sources = self.register(inputs).await?;
        let mut ranges = DayRanges::default();
        for (table, body) in range_queries() {
            let label = format!("the day range of {table}");
            let rows = self
                .rows(&label, &with_ctes(&as_strs(&sources), &body))
                .await?;
            let text = |v: Option<&Value>| match v {
                Some(Value::Text(t)) => Some(t.clone()),
                _ => None,
            };
            let first = rows.first().and_then(|r| text(r.first()));
            let last = rows.first().and_then(|r| text(r.get(1)));
            ranges.set(table, first.as_deref(), last.as_deref());
        }
        Ok(rollup_plan::plan(&ranges)
            .into_iter()
            .map(|query| Planned {
                table: query.table,
                columns: query.columns,
                sql: query.select_with(&sources),
            })
            .collect())
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
            // The branches of a UNION ALL one after the other. Run together, every
            // branch's operators would share the pool at once, and the fair pool gives
            // each spilling operator the pool divided by their number: the four branches
            // of ru_distinct together (over a hundred operators) left each under 1.1 MB
            // of a 128 MB pool, and a final aggregation failed at 200 k events; one
            // branch at a time synced them with 64 MB.
            let parts = match plan.downcast_ref::<UnionExec>() {
                Some(union) => union.inputs().clone(),
                _ => vec![plan],
            };
            for part in parts {
                let mut batches = execute_stream(part, Arc::clone(&task)).map_err(&query_error)?;
                while let Some(batch) = batches.next().await {
                    each(&batch.map_err(&query_error)?)?;
                }
            }
            Ok(())
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
        let frame = self.ctx.sql(&query.sql).await.map_err(query.error())?;
        let task = Arc::new(frame.task_ctx());
        let plan = frame.create_physical_plan().await.map_err(query.error())?;
        Ok((plan, task))
    }

    /// Registers every export location, and returns one CTE per raw table that reads
    /// them all as the table's stored columns.
    async fn register(&self, inputs: &[Input]) -> Result<Vec<String>, SyncError> {
        let mut ctes = Vec::new();
        for (table, columns) in RAW_INPUTS {
            let mut selects = Vec::new();
            let locations = inputs
                .iter()
                .filter(|i| i.table == table)
                .flat_map(|i| &i.locations);
            for (n, location) in locations.enumerate() {
                let name = format!("src_{table}_{n}");
                let mut path = location.path.to_string_lossy().to_string();
                // A folder is listed (recursively) only when its path says it is one.
                if location.path.is_dir() && !path.ends_with('/') {
                    path.push('/');
                }
                let fail = |e: datafusion::error::DataFusionError| SyncError::Source {
                    path: location.path.clone(),
                    reason: e.to_string(),
                };
                match location.format {
                    Format::Parquet => self
                        .ctx
                        .register_parquet(name.as_str(), &path, ParquetReadOptions::default())
                        .await
                        .map_err(fail)?,
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
                        self.ctx
                            .register_csv(name.as_str(), &path, options)
                            .await
                            .map_err(fail)?
                    }
                }
                let provided: Vec<String> = self
                    .ctx
                    .table(name.as_str())
                    .await
                    .map_err(fail)?
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                selects.push(rollup_plan::export_select(&name, columns, &provided));
            }
            if selects.is_empty() {
                selects.push(rollup_plan::empty_export(columns));
            }
            ctes.push(rollup_plan::export_cte(table, &selects));
        }
        Ok(ctes)
    }

    /// The rows of `sql`; `what` names the query in an error.
    async fn rows(&self, what: &str, sql: &str) -> Result<Vec<Vec<Value>>, SyncError> {
        let query_error = |source| SyncError::Query {
            what: what.to_string(),
            source,
        };
        let batches = self
            .ctx
            .sql(sql)
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

fn as_strs(ctes: &[String]) -> Vec<&str> {
    ctes.iter().map(String::as_str).collect()
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
