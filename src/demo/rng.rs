//! A small self-contained PRNG (SplitMix64), so that a seed gives the same files on every
//! build: no dependency whose stream could change under us, no wall clock.

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut rng = Self {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
        };
        rng.next_u64();
        rng
    }

    /// An independent stream for one concern (orders, tickets, …), so that tuning one
    /// part of the scenario leaves the others' numbers unchanged.
    pub fn stream(seed: u64, concern: &str) -> Self {
        let salt = concern.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        });
        Self::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Approximately standard normal (Irwin–Hall of 12 uniforms): arithmetic only, so
    /// the stream does not depend on the platform's libm.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.f64()).sum::<f64>() - 6.0
    }

    /// Log-normal around `median` with shape `sigma`: money and durations are skewed.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Index drawn in proportion to `weights`.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// Turns a stream of expected (fractional) counts into whole counts whose running sum
/// never strays more than one from the expected sum. The scenario's shapes (a launch
/// spike, a ticket burst) then show in weekly totals instead of drowning in noise,
/// while single days still vary.
#[derive(Debug, Clone, Default)]
pub struct Dither {
    carry: f64,
}

impl Dither {
    pub fn take(&mut self, expected: f64, rng: &mut Rng) -> u64 {
        self.carry += expected.max(0.0);
        let n = (self.carry + rng.f64() - 0.5).round().max(0.0);
        self.carry -= n;
        n as u64
    }
}

/// Picks categories (promoter / passive / detractor, or a score) so that the shares in
/// any run of picks follow the target shares within one pick: the one most behind its
/// expected count goes next.
#[derive(Debug, Clone)]
pub struct Quota {
    behind: Vec<f64>,
}

impl Quota {
    pub fn new(categories: usize) -> Self {
        Self {
            behind: vec![0.0; categories],
        }
    }

    pub fn pick(&mut self, shares: &[f64]) -> usize {
        let total: f64 = shares.iter().sum();
        for (b, s) in self.behind.iter_mut().zip(shares) {
            *b += s / total;
        }
        let mut best = 0;
        for (i, b) in self.behind.iter().enumerate() {
            if *b > self.behind[best] {
                best = i;
            }
        }
        self.behind[best] -= 1.0;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::stream(7, "orders").next_u64(),
            Rng::stream(7, "events").next_u64()
        );
    }

    #[test]
    fn dither_keeps_the_running_sum() {
        let mut rng = Rng::new(1);
        let mut d = Dither::default();
        let total: u64 = (0..1000).map(|_| d.take(0.37, &mut rng)).sum();
        assert!((total as f64 - 370.0).abs() <= 1.0, "{total}");
    }

    #[test]
    fn quota_follows_shares_within_one() {
        let mut q = Quota::new(3);
        let mut counts = [0u32; 3];
        for _ in 0..100 {
            counts[q.pick(&[0.5, 0.3, 0.2])] += 1;
        }
        assert_eq!(counts, [50, 30, 20]);
    }
}
