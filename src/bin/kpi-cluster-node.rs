//! A Ballista scheduler or executor for `kpi sync --cluster`, built from the same
//! DataFusion and Ballista as the client: a local or CI cluster without installing (and
//! compiling DataFusion again for) the upstream `ballista-scheduler` and
//! `ballista-executor` binaries. A real deployment may run either; the protocol is the same.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use clap::{Args, Parser, Subcommand, ValueEnum};
use datafusion::execution::context::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;

#[derive(Parser)]
#[command(
    version,
    about = "A Ballista scheduler or executor for `kpi sync --cluster`"
)]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Plans the jobs clients submit and hands their tasks to the executors.
    Scheduler(SchedulerArgs),
    /// Runs tasks for a scheduler and serves their shuffle output to the other executors.
    Executor(ExecutorArgs),
}

/// How tasks reach the executors; the scheduler and its executors must agree.
#[derive(Clone, Copy, ValueEnum)]
enum Scheduling {
    /// Executors ask the scheduler for tasks. The default: with push, a scheduler on a
    /// loaded machine dropped healthy executors whose task launch it had cancelled.
    Pull,
    /// The scheduler sends tasks to the executors (lower latency).
    Push,
}

impl From<Scheduling> for TaskSchedulingPolicy {
    fn from(scheduling: Scheduling) -> Self {
        match scheduling {
            Scheduling::Pull => TaskSchedulingPolicy::PullStaged,
            Scheduling::Push => TaskSchedulingPolicy::PushStaged,
        }
    }
}

#[derive(Args)]
struct SchedulerArgs {
    #[arg(long, value_enum, default_value_t = Scheduling::Pull)]
    scheduling: Scheduling,
    /// Address the scheduler listens on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Host name clients and executors reach the scheduler by.
    #[arg(long, default_value = "127.0.0.1")]
    external_host: String,
    /// gRPC port (clients connect with df://HOST:PORT).
    #[arg(long, default_value_t = 50050)]
    port: u16,
    /// Seconds without a heartbeat after which an executor counts as lost and its tasks
    /// run elsewhere.
    #[arg(long, default_value_t = 180)]
    executor_timeout_seconds: u64,
    /// Seconds between checks for lost executors.
    #[arg(long, default_value_t = 15)]
    expire_dead_executor_interval_seconds: u64,
    /// Seconds a finished query's result stays on the executors for its client to fetch
    /// (Ballista's `finished_job_data_clean_up_interval_seconds`; 0: never deleted).
    #[arg(long, default_value_t = 300)]
    finished_job_data_clean_up_interval_seconds: u64,
}

#[derive(Args)]
struct ExecutorArgs {
    #[arg(long, value_enum, default_value_t = Scheduling::Pull)]
    scheduling: Scheduling,
    /// Address the executor listens on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Host name the scheduler and the other executors reach this executor by.
    #[arg(long, default_value = "127.0.0.1")]
    external_host: String,
    /// Arrow Flight port, serving the shuffle output.
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// gRPC port, receiving tasks.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    scheduler_host: String,
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Tasks run at once (default: the machine's cores).
    #[arg(long)]
    vcores: Option<usize>,
    /// Folder for shuffle files (default: a temporary folder).
    #[arg(long)]
    work_dir: Option<String>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 60)]
    heartbeat_interval_seconds: u64,
}

/// Ballista's log lines on stderr, each with its UTC time to the millisecond, so a failed
/// or slow run shows what the node did and when.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "{} {} {}: {}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only fails when a logger is already set, which nothing here does.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    // Deep plans are (de)serialised and planned recursively; an unoptimised build needs
    // more stack than the default 2 MiB (the upstream scheduler binary sets 32 MiB too).
    // The node runs on a worker thread, not on the main thread's smaller stack.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let node = match cli.role {
        Role::Scheduler(args) => runtime.spawn(scheduler(args)),
        Role::Executor(args) => runtime.spawn(executor(args)),
    };
    let result = runtime
        .block_on(node)
        .unwrap_or_else(|e| Err(format!("the node stopped: {e}")));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&reason),
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("kpi-cluster-node: {reason}");
    ExitCode::FAILURE
}

async fn scheduler(args: SchedulerArgs) -> Result<(), String> {
    let address: SocketAddr = format!("{}:{}", args.bind_host, args.port)
        .parse()
        .map_err(|e| format!("bad address {}:{}: {e}", args.bind_host, args.port))?;
    let config = SchedulerConfig {
        bind_host: args.bind_host,
        external_host: args.external_host,
        bind_port: args.port,
        scheduling_policy: args.scheduling.into(),
        executor_timeout_seconds: args.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: args.expire_dead_executor_interval_seconds,
        // Without executors for this long, queued jobs fail rather than wait.
        no_executors_grace_period_seconds: args.executor_timeout_seconds,
        finished_job_data_clean_up_interval_seconds: args
            .finished_job_data_clean_up_interval_seconds,
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("cannot set up the scheduler's state: {e}"))?;
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| format!("scheduler on {address}: {e}"))
}

async fn executor(args: ExecutorArgs) -> Result<(), String> {
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: args.bind_host,
        external_host: Some(args.external_host),
        port: args.port,
        grpc_port: args.grpc_port,
        task_scheduling_policy: args.scheduling.into(),
        scheduler_host: args.scheduler_host,
        scheduler_port: args.scheduler_port,
        vcores: args.vcores.unwrap_or(defaults.vcores),
        work_dir: args.work_dir,
        executor_heartbeat_interval_seconds: args.heartbeat_interval_seconds,
        override_execution_engine: Some(Arc::new(
            WithoutPlanMetrics(DefaultExecutionEngine::new()),
        )),
        ..defaults
    };
    let port = config.port;
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor on port {port}: {e}"))
}

/// Ballista's own engine, but its tasks report no per-operator plan metrics. With them,
/// tasks of one stage reported plans of different sizes (14 and 15 operators: the
/// scheduler shapes each task's plan), the scheduler refused those status updates
/// ("task metrics array size 14 does not equal with the stage metrics array size 15")
/// and the job never finished. The metrics only feed the scheduler's plan display.
struct WithoutPlanMetrics(DefaultExecutionEngine);

impl ExecutionEngine for WithoutPlanMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> datafusion::error::Result<Arc<dyn QueryStageExecutor>> {
        let stage = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(StageWithoutPlanMetrics(stage)))
    }
}

#[derive(Debug)]
struct StageWithoutPlanMetrics(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for StageWithoutPlanMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for StageWithoutPlanMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::error::Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> datafusion::error::Result<Vec<WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}
