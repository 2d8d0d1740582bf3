//! The cockpit: app state, `update(state, event)`, and one view module per pane.
