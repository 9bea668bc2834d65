//! The time of a request, taken once and handed to every write that records it.

use time::OffsetDateTime;

use crate::user::format_timestamp;

/// One instant in the two forms the item stores: Unix seconds (for conditions and limits)
/// and the platform's timestamp (`updated_at` and the like).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Now {
    pub epoch: i64,
    pub timestamp: String,
}

impl Now {
    pub fn current() -> Self {
        Self::at(OffsetDateTime::now_utc())
    }

    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            epoch: at.unix_timestamp(),
            timestamp: format_timestamp(at),
        }
    }

    /// The instant `secs` later.
    pub fn later(&self, secs: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp(self.epoch.saturating_add(secs))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self::at(at)
    }
}
