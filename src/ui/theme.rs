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
    pub palette: Palette,
}

/// The colours of each role, chosen by `[theme]` in `kpi.toml`: a built-in base (`dark`,
/// for dark backgrounds, the default; `light`, for light ones) with any role overridden
/// by a named colour (`red`, `lightblue`, `darkgray`, `#005f87`, or a 256-colour index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub title: Color,
    pub accent: Color,
    pub good: Color,
    pub bad: Color,
    pub neutral: Color,
    pub mild: Color,
    pub strong: Color,
    pub dim: Color,
    pub series: [Color; 5],
    /// Heatmap backgrounds, lowest shade first, in 16 and 256 colours, and the shade
    /// from which text on them is drawn black rather than white.
    pub heat16: [Color; HEAT_LEVELS],
    pub heat16_dark_text_from: usize,
    pub heat256: [u8; HEAT_LEVELS],
    pub heat256_dark_text_from: usize,
}

impl Palette {
    /// For dark backgrounds: what the cockpit has always drawn.
    pub const DARK: Palette = Palette {
        title: Color::Cyan,
        accent: Color::Cyan,
        good: Color::Green,
        bad: Color::Red,
        neutral: Color::Yellow,
        mild: Color::Yellow,
        strong: Color::LightRed,
        dim: Color::DarkGray,
        series: [
            Color::Cyan,
            Color::Yellow,
            Color::Magenta,
            Color::Green,
            Color::Blue,
        ],
        heat16: [
            Color::Black,
            Color::Blue,
            Color::Cyan,
            Color::Green,
            Color::LightGreen,
        ],
        heat16_dark_text_from: 2,
        heat256: [17, 24, 30, 36, 78],
        heat256_dark_text_from: 3,
    };

    /// For light backgrounds: no yellow or cyan text (unreadable on white), a heat ramp
    /// from pale to deep.
    pub const LIGHT: Palette = Palette {
        title: Color::Blue,
        accent: Color::Blue,
        good: Color::Green,
        bad: Color::Red,
        neutral: Color::Magenta,
        mild: Color::Magenta,
        strong: Color::Red,
        dim: Color::DarkGray,
        series: [
            Color::Blue,
            Color::Magenta,
            Color::Red,
            Color::Green,
            Color::Black,
        ],
        heat16: [
            Color::White,
            Color::LightCyan,
            Color::Cyan,
            Color::Blue,
            Color::Magenta,
        ],
        heat16_dark_text_from: 0,
        heat256: [255, 153, 111, 68, 25],
        heat256_dark_text_from: 0,
    };

    /// The palette `[theme]` asks for: `base` (`dark` or `light`) and overrides by role.
    /// An unknown base, role or colour is an error naming the `theme.…` key.
    pub fn from_config(
        base: Option<&str>,
        overrides: &std::collections::BTreeMap<String, String>,
    ) -> Result<Palette, (String, String)> {
        let mut palette = match base.unwrap_or("dark") {
            "dark" => Palette::DARK,
            "light" => Palette::LIGHT,
            other => {
                return Err((
                    "theme".into(),
                    format!("unknown theme {other:?}: the built-in themes are dark and light"),
                ));
            }
        };
        for (role, colour) in overrides {
            let key = format!("theme.{role}");
            let parsed: Color = colour.parse().map_err(|_| {
                (
                    key.clone(),
                    format!(
                        "{colour:?} is not a colour: use a name (red, lightblue, darkgray …), \
                         #rrggbb or a 256-colour index"
                    ),
                )
            })?;
            let slot = match role.as_str() {
                "title" => &mut palette.title,
                "accent" => &mut palette.accent,
                "good" => &mut palette.good,
                "bad" => &mut palette.bad,
                "neutral" => &mut palette.neutral,
                "mild" => &mut palette.mild,
                "strong" => &mut palette.strong,
                "dim" => &mut palette.dim,
                _ => {
                    return Err((
                        key,
                        format!(
                            "unknown colour role {role:?}; the roles are title, accent, good, \
                             bad, neutral, mild, strong, dim"
                        ),
                    ));
                }
            };
            *slot = parsed;
        }
        Ok(palette)
    }
}

/// Number of shades in the heatmap ramp.
pub const HEAT_LEVELS: usize = 5;

impl Theme {
    pub const fn new(mode: ColorMode) -> Self {
        Self {
            mode,
            palette: Palette::DARK,
        }
    }

    /// The same colour mode with another palette (`[theme]` in `kpi.toml`).
    pub const fn with_palette(self, palette: Palette) -> Self {
        Self { palette, ..self }
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
            _ => Style::new().fg(self.palette.dim),
        }
    }

    pub fn title(self) -> Style {
        self.fg(self.palette.title).add_modifier(Modifier::BOLD)
    }

    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn good(self) -> Style {
        self.fg(self.palette.good)
    }

    pub fn bad(self) -> Style {
        self.fg(self.palette.bad)
    }

    pub fn neutral(self) -> Style {
        self.fg(self.palette.neutral)
    }

    pub fn strong(self) -> Style {
        self.fg(self.palette.strong).add_modifier(Modifier::BOLD)
    }

    pub fn mild(self) -> Style {
        self.fg(self.palette.mild)
    }

    pub fn accent(self) -> Style {
        self.fg(self.palette.accent)
    }

    pub fn series(self, index: usize) -> Style {
        let colors = self.palette.series;
        self.fg(colors[index % colors.len()])
    }

    /// A heatmap cell of shade `level` (0 = lowest): background colour, with a text colour
    /// that stays readable on it.
    pub fn heat(self, level: usize) -> Style {
        let level = level.min(HEAT_LEVELS - 1);
        match self.mode {
            ColorMode::None => Style::new(),
            ColorMode::Ansi16 => {
                let p = self.palette;
                let fg = if level >= p.heat16_dark_text_from {
                    Color::Black
                } else {
                    Color::White
                };
                Style::new().bg(p.heat16[level]).fg(fg)
            }
            ColorMode::Ansi256 => {
                let p = self.palette;
                let fg = if level >= p.heat256_dark_text_from {
                    Color::Black
                } else {
                    Color::White
                };
                Style::new().bg(Color::Indexed(p.heat256[level])).fg(fg)
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
        // NO_COLOR wins over any [theme].
        let light = Theme::new(ColorMode::None).with_palette(Palette::LIGHT);
        assert_eq!(light.title().fg, None);
        assert_eq!(light.heat(4).bg, None);
    }

    #[test]
    fn theme_picks_a_base_and_overrides_roles_by_colour_name() {
        let mut overrides = std::collections::BTreeMap::new();
        overrides.insert("bad".to_string(), "lightmagenta".to_string());
        let palette = Palette::from_config(Some("light"), &overrides).unwrap();
        assert_eq!(palette.bad, Color::LightMagenta);
        assert_eq!(palette.title, Palette::LIGHT.title);
        let light = Theme::new(ColorMode::Ansi16).with_palette(palette);
        assert_eq!(light.neutral().fg, Some(Color::Magenta));
        overrides.insert("bad".to_string(), "blurple".to_string());
        let (key, reason) = Palette::from_config(None, &overrides).unwrap_err();
        assert_eq!(key, "theme.bad");
        assert!(reason.contains("blurple"), "{reason}");
        let (key, _) = Palette::from_config(Some("solarized"), &Default::default()).unwrap_err();
        assert_eq!(key, "theme");
    }
}
