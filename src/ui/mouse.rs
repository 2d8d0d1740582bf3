//! The mouse, as gitui and bottom do it: every frame records where it drew each thing a
//! click can mean (a tab, a tile, a list row, a cohort cell, a chart), and a mouse event is
//! looked up in what the *last* frame drew. Nothing here recomputes the layout, so a click
//! can never disagree with what was on the screen.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::app::{App, DataSection, Tab};
use super::keymap::Msg;

/// A list a row of which can be clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListId {
    /// Trends' metric list.
    Metrics,
    /// Trends' annotation list.
    Annotations,
    /// Drivers' KPI (y) list.
    DriverKpis,
    /// Drivers' driver (x) list.
    DriverOptions,
    Alerts,
    Data(DataSection),
    /// The segment picker's entries.
    Picker,
}

/// What is under a point of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    Tab(Tab),
    /// An Overview tile, by its index into the core KPIs.
    Tile(usize),
    Row(ListId, usize),
    CohortCell {
        row: usize,
        col: usize,
    },
    /// A chart: the wheel narrows or widens its range.
    Chart,
}

/// The hit areas of one frame, in drawing order: a popup drawn later lies on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hits {
    areas: Vec<(Rect, Hit)>,
}

impl Hits {
    pub fn clear(&mut self) {
        self.areas.clear();
    }

    pub fn push(&mut self, area: Rect, hit: Hit) {
        if area.width > 0 && area.height > 0 {
            self.areas.push((area, hit));
        }
    }

    /// A popup hides what is under it: nothing below `area` answers a click any more.
    pub fn cover(&mut self, area: Rect) {
        self.areas.retain(|(rect, _)| !rect.intersects(area));
    }

    /// What the topmost area holding `(column, row)` shows.
    pub fn at(&self, column: u16, row: u16) -> Option<Hit> {
        let point = ratatui::layout::Position::new(column, row);
        self.areas
            .iter()
            .rev()
            .find(|(rect, _)| rect.contains(point))
            .map(|(_, hit)| *hit)
    }

    /// One hit per visible row of a one-line-per-item list drawn in `inner` (inside its
    /// border), starting at item `offset` (the list's scroll position after drawing).
    pub fn rows(&mut self, inner: Rect, offset: usize, count: usize, list: ListId) {
        let visible = usize::from(inner.height).min(count.saturating_sub(offset));
        for i in 0..visible {
            let y = inner.y + u16::try_from(i).unwrap_or(u16::MAX);
            self.push(
                Rect::new(inner.x, y, inner.width, 1),
                Hit::Row(list, offset + i),
            );
        }
    }
}

/// A mouse event as the message a key would send: a click selects (a second click on the
/// selected thing opens it, as Enter does), the wheel moves through lists and narrows or
/// widens a chart's range.
pub fn mouse_to_msg(app: &App, hits: &Hits, event: MouseEvent) -> Option<Msg> {
    let hit = hits.at(event.column, event.row);
    if app.help {
        // The help overlay hides the panes: a click closes it as Esc does, the wheel is
        // ignored as keys are.
        return matches!(event.kind, MouseEventKind::Down(MouseButton::Left)).then_some(Msg::Help);
    }
    match event.kind {
        MouseEventKind::Down(MouseButton::Left) => match hit {
            Some(Hit::Chart) | None => app.picker.as_ref().map(|_| Msg::Back),
            Some(hit) => Some(Msg::Click(hit)),
        },
        MouseEventKind::ScrollUp => Some(match hit {
            Some(Hit::Chart) => Msg::RangeShorter,
            _ => Msg::Up,
        }),
        MouseEventKind::ScrollDown => Some(match hit {
            Some(Hit::Chart) => Msg::RangeLonger,
            _ => Msg::Down,
        }),
        _ => None,
    }
}
