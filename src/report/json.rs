//! The JSON form of a report. Its shape is a contract, documented in the README:
//! numbers keep full precision; a missing value is `null` with a `note` saying why. Each
//! point carries its `change` from the period before in the metric's own terms
//! (`{"kind": "relative"|"points", "unit": "%"|"pp"|"pts", "value": …}`), the same change the
//! cockpit and the markdown show rounded.

use serde_json::{Value, json};

use super::Report;

pub fn to_json(report: &Report) -> Value {
    let metrics: Vec<Value> = report
        .metrics
        .iter()
        .map(|m| {
            json!({
                "id": m.def.id,
                "name": m.def.name,
                "category": m.category,
                "unit": m.def.unit,
                "direction": m.def.direction,
                "formula": m.def.formula,
                "segment": m.segment.as_ref().map(|s| json!({"dimension": s.dimension, "value": s.value})),
                "change_kind": m.def.change_kind(),
                "series": m.points.iter().map(|p| json!({
                    "period": p.period.label(),
                    "value": p.value,
                    "change": m.change_into(p.period),
                    "note": p.note,
                    "partial": p.partial,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let cohorts: Vec<Value> = report
        .cohorts
        .iter()
        .flat_map(|matrix| {
            matrix.rows.iter().map(move |row| {
                json!({
                    "variant": matrix.variant,
                    "cohort": row.cohort,
                    "size": row.size,
                    "cells": row.cells,
                    "forecast": row.forecast,
                })
            })
        })
        .collect();
    json!({
        "store": report.store,
        "generated_at": report.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "as_of": report.as_of.map(|d| d.to_string()),
        "grain": report.grain,
        "period": report.focus.map(|p| p.label()),
        "metrics": metrics,
        "cohorts": cohorts,
        "alerts": report.alerts,
        "targets": report.targets,
    })
}
