//! Colours, with NO_COLOR and a 16-colour fallback. Colour never carries a state alone:
//! every view pairs it with a symbol (▲▼ for change, ‼ ! for tiers, ~ for forecasts), so
//! the screen reads the same on a monochrome terminal or through a screen reader.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// NO_COLOR: modifiers only (bold, reversed, dim).
    None,
    /// The 16 ANSI colours every terminal has.
    Ansi16,
    /// The 256-colour palette, for the heatmap's finer ramp.
    Ansi256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub mode: ColorMode,
}

/// Number of shades in the heatmap ramp.
pub const HEAT_LEVELS: usize = 5;

impl Theme {
    pub const fn new(mode: ColorMode) -> Self {
        Self { mode }
    }

    /// NO_COLOR (any non-empty value) wins; 256 colours only where the terminal says so.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Self::new(Self::detect(
            &var("NO_COLOR"),
            &var("TERM"),
            &var("COLORTERM"),
        ))
    }

    pub fn detect(no_color: &str, term: &str, colorterm: &str) -> ColorMode {
        if !no_color.is_empty() || term == "dumb" {
            ColorMode::None
        } else if term.contains("256color")
            || colorterm.contains("truecolor")
            || colorterm.contains("24bit")
        {
            ColorMode::Ansi256
        } else {
            ColorMode::Ansi16
        }
    }

    fn fg(self, color: Color) -> Style {
        match self.mode {
            ColorMode::None => Style::new(),
            _ => Style::new().fg(color),
        }
    }

    pub fn text(self) -> Style {
        Style::new()
    }

    pub fn dim(self) -> Style {
        match self.mode {
            ColorMode::None => Style::new().add_modifier(Modifier::DIM),
            _ => Style::new().fg(Color::DarkGray),
        }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn bad(self) -> Style {
        self.fg(Color::Red)
    }

    pub fn neutral(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn strong(self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    pub fn mild(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn series(self, index: usize) -> Style {
        const COLORS: [Color; 5] = [
            Color::Cyan,
            Color::Yellow,
            Color::Magenta,
            Color::Green,
            Color::Blue,
        ];
        self.fg(COLORS[index % COLORS.len()])
    }

    /// A heatmap cell of shade `level` (0 = lowest): background colour, with a text colour
    /// that stays readable on it.
    pub fn heat(self, level: usize) -> Style {
        let level = level.min(HEAT_LEVELS - 1);
        match self.mode {
            ColorMode::None => Style::new(),
            ColorMode::Ansi16 => {
                const BG: [Color; HEAT_LEVELS] = [
                    Color::Black,
                    Color::Blue,
                    Color::Cyan,
                    Color::Green,
                    Color::LightGreen,
                ];
                let fg = if level >= 2 {
                    Color::Black
                } else {
                    Color::White
                };
                Style::new().bg(BG[level]).fg(fg)
            }
            ColorMode::Ansi256 => {
                const BG: [u8; HEAT_LEVELS] = [17, 24, 30, 36, 78];
                let fg = if level >= 3 {
                    Color::Black
                } else {
                    Color::White
                };
                Style::new().bg(Color::Indexed(BG[level])).fg(fg)
            }
        }
    }

    /// The fill drawn in a heatmap cell too narrow for its value; carries the shade on
    /// monochrome terminals.
    pub fn heat_glyph(level: usize) -> &'static str {
        const GLYPHS: [&str; HEAT_LEVELS] = ["·", "░", "▒", "▓", "█"];
        GLYPHS[level.min(HEAT_LEVELS - 1)]
    }

    pub fn forecast(self) -> Style {
        Style::new().add_modifier(Modifier::ITALIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_and_256_needs_the_terminal_to_say_so() {
        assert_eq!(
            Theme::detect("1", "xterm-256color", "truecolor"),
            ColorMode::None
        );
        assert_eq!(Theme::detect("", "dumb", ""), ColorMode::None);
        assert_eq!(Theme::detect("", "xterm-256color", ""), ColorMode::Ansi256);
        assert_eq!(Theme::detect("", "screen", "truecolor"), ColorMode::Ansi256);
        assert_eq!(Theme::detect("", "xterm", ""), ColorMode::Ansi16);
    }

    #[test]
    fn no_color_styles_carry_no_colour() {
        let theme = Theme::new(ColorMode::None);
        for style in [theme.good(), theme.bad(), theme.strong(), theme.heat(4)] {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert_eq!(Theme::new(ColorMode::Ansi16).bad().fg, Some(Color::Red));
    }
}
