//! The in-process engine's memory pool, which remembers the most its operators held.
//!
//! A sync's peak RSS is the pool's share plus what lives beside it (the binary's code,
//! the Parquet readers' buffers, the store's page cache, the allocator's slack). The
//! pool's own peak tells the two apart, so that a peak RSS that grows with the source
//! can be put down to one or the other.

use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::error::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// The most a sync's in-process sorts and aggregations held at once, and their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolPeak {
    pub held_bytes: usize,
    pub limit_bytes: usize,
}

impl std::fmt::Display for PoolPeak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |bytes: usize| bytes.div_ceil(1 << 20);
        write!(
            f,
            "the engine's sorts and aggregations held at most {} MB of their {} MB",
            mb(self.held_bytes),
            mb(self.limit_bytes)
        )
    }
}

/// DataFusion's fair spill pool: sorts and aggregations share `limit` bytes fairly and
/// spill beyond it. Some operators grow their reservation past the limit when they
/// cannot spill (`MemoryPool::grow`), so the peak may exceed it.
#[derive(Debug)]
pub struct PeakPool {
    pool: FairSpillPool,
    limit: usize,
    peak: AtomicUsize,
}

impl PeakPool {
    pub fn new(limit: usize) -> Self {
        Self {
            pool: FairSpillPool::new(limit),
            limit,
            peak: AtomicUsize::new(0),
        }
    }

    /// The most the operators held at once so far.
    pub fn peak(&self) -> PoolPeak {
        PoolPeak {
            held_bytes: self.peak.load(Ordering::Relaxed),
            limit_bytes: self.limit,
        }
    }

    fn note_reserved(&self) {
        self.peak.fetch_max(self.pool.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for PeakPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.pool, self.peak())
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        self.pool.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.pool.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.pool.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.pool.grow(reservation, additional);
        self.note_reserved();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.pool.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.pool.try_grow(reservation, additional)?;
        self.note_reserved();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.pool.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.pool.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_peak_is_the_most_held_at_once_not_the_sum_of_every_reservation() {
        let pool: Arc<dyn MemoryPool> = Arc::new(PeakPool::new(1000));
        let first = MemoryConsumer::new("first").register(&pool);
        let second = MemoryConsumer::new("second").register(&pool);
        first.try_grow(300).expect("within the limit");
        second.try_grow(200).expect("within the limit");
        first.shrink(300);
        second.try_grow(100).expect("within the limit");
        // An operator that cannot spill grows past the limit: the peak says so.
        second.grow(900);
        second.shrink(1200);
        let peak = pool.downcast_ref::<PeakPool>().expect("a peak pool").peak();
        assert_eq!(
            peak,
            PoolPeak {
                held_bytes: 1200,
                limit_bytes: 1000
            }
        );
        assert_eq!(pool.reserved(), 0);
    }
}
