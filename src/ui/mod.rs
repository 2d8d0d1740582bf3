//! The cockpit, built the Elm way so each piece can be tested without a terminal:
//!
//! ```text
//! crossterm key ──keymap──▶ Msg ──update(&mut App)──▶ Option<Effect> ──worker──▶ Msg …
//!                                        │
//!                                        └──▶ view::draw(&App) (reads state, never mutates)
//! ```
//!
//! - [`app`] holds every piece of state, including the latest [`crate::snapshot::Snapshot`].
//! - [`keymap`] turns keys into [`keymap::Msg`] (and lists every key for the help overlay);
//!   [`mouse`] turns clicks and the wheel into the same messages, through the hit areas
//!   the last frame recorded as it drew.
//! - [`update`] applies a message; anything needing the store comes back as an
//!   [`update::Effect`], which [`worker`] performs on its own thread with its own store
//!   connection, so the screen never waits for a query.
//! - [`view`] draws one module per pane from `&App`; no SQL, no file I/O.
//! - [`run`] is the event loop; [`terminal`] owns raw mode, the alternate screen, the panic
//!   hook and the signals that must restore the terminal.

pub mod app;
pub mod export;
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture;
pub mod keymap;
pub mod live;
pub mod mouse;
pub mod run;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
pub mod worker;

pub use app::{App, Tab};
pub use keymap::Msg;
pub use update::{Effect, update};
