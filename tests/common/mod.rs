//! Helpers shared by the cockpit's tests: draw an app on a `TestBackend` and read it back
//! as text.
#![allow(dead_code, clippy::unwrap_used)]

use kpi::ui::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

pub fn terminal(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| kpi::ui::view::draw(frame, app))
        .unwrap();
    terminal
}

pub fn buffer(app: &App, width: u16, height: u16) -> Buffer {
    terminal(app, width, height).backend().buffer().clone()
}

/// The screen as lines of text, trailing spaces trimmed.
pub fn text(app: &App, width: u16, height: u16) -> String {
    let buffer = buffer(app, width, height);
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
