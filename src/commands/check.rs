//! `kpi check`: the open alerts for cron and CI, with an exit code that says how bad
//! they are (0 none, 1 mild only, 2 any strong, counting bad news only unless
//! `--fail-on any`; errors use `EXIT_ERROR`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;

use crate::alerts::{self, render};
use crate::cli::{CheckArgs, CheckFormat, FailOnArg, StoreArgs};
use crate::config::Config;
use crate::metrics;
use crate::store::Store;

pub fn run(
    store_args: &StoreArgs,
    args: &CheckArgs,
    as_of: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    // Opening would create an empty store, and a mistyped path in a crontab must not
    // report "no open alerts" forever.
    anyhow::ensure!(
        store_args.db.exists(),
        "store {} does not exist (import data first, or pass --db FILE)",
        store_args.db.display()
    );
    let config = Config::load_for(&store_args.db, store_args.config.as_deref())?;
    let store = Store::open_for_reading(&store_args.db)
        .with_context(|| format!("cannot open store {}", store_args.db.display()))?;
    let as_of = match as_of {
        Some(date) => Some(date),
        None => metrics::reference_date(&store)?,
    };
    // A store with no data yet has no reference date, but its failed imports still
    // alert: judge them as of today.
    let judged_on = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    let catalog = metrics::catalog(&store)?;
    crate::metric_ids::check_config(
        &config,
        Config::source_for(&store_args.db, store_args.config.as_deref()).as_deref(),
        &catalog,
    )?;
    let mut evaluation = alerts::evaluate(&store, &config, judged_on, &catalog)?;
    if args.notify {
        let source = Config::source_for(&store_args.db, store_args.config.as_deref());
        // Not delivering is reported, never the exit code: that says how bad the alerts are.
        if let Err(err) = notify(
            &store_args.db,
            source.as_deref(),
            &config,
            judged_on,
            &mut evaluation,
        ) {
            let mut stderr = crate::present::stderr();
            writeln!(stderr, "notify: nothing sent: {err:#}")?;
            stderr.flush()?;
        }
    }
    let open = evaluation.open_alerts(judged_on);
    let fail_on = match args.fail_on {
        FailOnArg::Bad => alerts::FailOn::Bad,
        FailOnArg::Any => alerts::FailOn::Any,
    };
    let out = match args.format {
        CheckFormat::Text => render::check_text(&open, as_of, &config.currency),
        CheckFormat::Json => render::check_json(&open, as_of, fail_on)? + "\n",
    };
    let mut stdout = crate::present::stdout();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::from(alerts::exit_code(&open, fail_on)))
}

/// `--notify`: records the sightings (a returning alert is a new occurrence) and sends
/// the open alerts' undelivered occurrences. A destination's failure is reported on
/// stderr, never turned into the exit code: that says how bad the alerts are.
fn notify(
    db: &std::path::Path,
    config_path: Option<&std::path::Path>,
    config: &Config,
    judged_on: NaiveDate,
    evaluation: &mut alerts::Evaluation,
) -> anyhow::Result<()> {
    let mut stderr = crate::present::stderr();
    for warning in crate::notify::literal_url_warnings(config_path, config) {
        writeln!(stderr, "{warning}")?;
    }
    if config.notify.destinations.is_empty() {
        writeln!(
            stderr,
            "notify: no destinations in kpi.toml ([[notify.destinations]]): nothing sent"
        )?;
        return Ok(());
    }
    anyhow::ensure!(
        crate::store::permits_writing(db),
        "--notify records what it sends in the store, and {} is read-only",
        db.display()
    );
    let writer = Store::open(db).with_context(|| format!("cannot open store {}", db.display()))?;
    alerts::record_sightings(&writer, judged_on, chrono::Utc::now(), evaluation)?;
    let open = evaluation.open_alerts(judged_on);
    let reports = crate::notify::deliver(&writer, config, &open)?;
    // A destination that is down makes every later alert wait: one line for those.
    let mut waiting: std::collections::BTreeMap<&str, (usize, &str)> = Default::default();
    for report in &reports {
        if report.attempts == 0 && !report.sent {
            let entry = waiting
                .entry(report.destination.as_str())
                .or_insert((0, report.answer.as_str()));
            entry.0 += 1;
        } else {
            writeln!(stderr, "{}", report.line())?;
        }
    }
    for (destination, (count, answer)) in waiting {
        writeln!(
            stderr,
            "notify: {count} alert{} not sent to {destination} ({answer}); pending, tried again \
             on the next run",
            if count == 1 { "" } else { "s" }
        )?;
    }
    stderr.flush()?;
    Ok(())
}
