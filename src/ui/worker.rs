//! The worker thread: performs [`Effect`]s against its own store connection and sends the
//! results back as [`Msg`]s, so no query ever runs on the thread that draws.

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};

use chrono::{NaiveDate, Utc};

use crate::config::Config;
use crate::metrics::{self, SeriesRequest};
use crate::snapshot::{self, Snapshot};
use crate::store::Store;

use super::keymap::{AlertAction, Msg};
use super::update::Effect;

/// Everything the worker needs to (re)build snapshots.
pub struct Worker {
    pub store: Store,
    pub config: Config,
    pub as_of: Option<NaiveDate>,
}

impl Worker {
    pub fn build_snapshot(&self) -> anyhow::Result<Snapshot> {
        snapshot::build(&self.store, &self.config, self.as_of)
    }

    /// Performs one effect and returns the message carrying its result.
    pub fn perform(&self, effect: Effect) -> Msg {
        match effect {
            Effect::LoadSnapshot => Msg::SnapshotLoaded(
                self.build_snapshot()
                    .map(Box::new)
                    .map_err(|e| format!("{e:#}")),
            ),
            Effect::Breakdown {
                purpose,
                metrics: ids,
                grain,
                dimension,
                from,
                to,
            } => {
                let mut all = Vec::new();
                let mut failure = None;
                for id in &ids {
                    let request = SeriesRequest {
                        metric: id,
                        grain,
                        from,
                        to,
                        by: Some(&dimension),
                    };
                    match metrics::compute(&self.store, &self.config, to, &request) {
                        Ok(series) => all.extend(series),
                        Err(err) => {
                            failure = Some(err.to_string());
                            break;
                        }
                    }
                }
                Msg::BreakdownLoaded {
                    purpose,
                    dimension,
                    result: failure.map_or(Ok(all), Err),
                }
            }
            Effect::Acknowledge { alert } => Msg::AlertSaved {
                result: self
                    .store
                    .acknowledge_alert(&alert.key, Utc::now())
                    .map_err(|e| e.to_string()),
                alert,
                action: AlertAction::Acknowledge,
            },
            Effect::Snooze { alert, until } => Msg::AlertSaved {
                result: self
                    .store
                    .snooze_alert(&alert.key, until, Utc::now())
                    .map_err(|e| e.to_string()),
                alert,
                action: AlertAction::Snooze,
            },
        }
    }

    /// Runs until the effect channel closes. A burst of snapshot requests is served by one
    /// build: only the newest matters.
    pub fn run<E: Send + 'static>(
        self,
        effects: &Receiver<Effect>,
        results: &Sender<E>,
        wrap: fn(Msg) -> E,
    ) {
        while let Ok(first) = effects.recv() {
            let mut batch = vec![first];
            batch.extend(effects.try_iter());
            let reload = batch.contains(&Effect::LoadSnapshot);
            for effect in batch.into_iter().filter(|e| *e != Effect::LoadSnapshot) {
                if results.send(wrap(self.perform(effect))).is_err() {
                    return;
                }
            }
            if reload
                && results
                    .send(wrap(self.perform(Effect::LoadSnapshot)))
                    .is_err()
            {
                return;
            }
        }
    }
}

/// Opens the store for the worker; the UI thread never holds a connection.
pub fn open(db: &Path, config: Config, as_of: Option<NaiveDate>) -> anyhow::Result<Worker> {
    let store = Store::open(db)?;
    Ok(Worker {
        store,
        config,
        as_of,
    })
}
