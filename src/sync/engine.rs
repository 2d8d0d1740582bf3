//! Running the rollup plan on DataFusion: a local session, or a Ballista scheduler's.

use ballista::prelude::SessionContextExt;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, UInt32Type, UInt64Type,
};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use rusqlite::types::Value;

use super::source::{Format, Input};
use super::{SyncError, SyncOptions};
use crate::store::rollup_plan::{
    self, DayRanges, RAW_INPUTS, RollupRows, range_queries, with_ctes,
};

pub struct Engine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
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
                SessionContext::new_with_config(config)
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

    /// Every rollup of the plan, computed from `inputs` (a raw table without exports
    /// reads as empty).
    pub fn compute(&self, inputs: &[Input]) -> Result<Vec<RollupRows>, SyncError> {
        self.runtime.block_on(self.compute_async(inputs))
    }

    async fn compute_async(&self, inputs: &[Input]) -> Result<Vec<RollupRows>, SyncError> {
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
        let mut out = Vec::new();
        for query in rollup_plan::plan(&ranges) {
            let label = format!("rollup {}", query.table);
            let rows = self.rows(&label, &query.select_with(&sources)).await?;
            out.push(RollupRows {
                table: query.table,
                columns: query.columns,
                rows,
            });
        }
        Ok(out)
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

/// The rows of `batch` as SQLite values.
fn append_rows(
    table: &str,
    batch: &RecordBatch,
    out: &mut Vec<Vec<Value>>,
) -> Result<(), SyncError> {
    let start = out.len();
    out.extend((0..batch.num_rows()).map(|_| Vec::with_capacity(batch.num_columns())));
    for column in batch.columns() {
        for (row, values) in out[start..].iter_mut().enumerate() {
            values.push(cell(table, column.as_ref(), row)?);
        }
    }
    Ok(())
}

fn cell(table: &str, column: &dyn Array, row: usize) -> Result<Value, SyncError> {
    if column.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match column.data_type() {
        DataType::Utf8 => Value::Text(column.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::Text(column.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::Text(column.as_string_view().value(row).to_string()),
        DataType::Int64 => Value::Integer(column.as_primitive::<Int64Type>().value(row)),
        DataType::Int32 => Value::Integer(column.as_primitive::<Int32Type>().value(row).into()),
        DataType::UInt32 => Value::Integer(column.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => {
            let n = column.as_primitive::<UInt64Type>().value(row);
            Value::Integer(i64::try_from(n).map_err(|_| column_type(table, column))?)
        }
        DataType::Float64 => Value::Real(column.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => Value::Real(column.as_primitive::<Float32Type>().value(row).into()),
        DataType::Null => Value::Null,
        _ => return Err(column_type(table, column)),
    })
}

fn column_type(table: &str, column: &dyn Array) -> SyncError {
    SyncError::ColumnType {
        table: table.to_string(),
        data_type: column.data_type().to_string(),
    }
}
