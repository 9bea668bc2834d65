//! The time of a request, taken once and handed to every write that records it.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The platform's timestamp format: microseconds and a `+00:00` offset.
const TIMESTAMP: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
);

pub fn format_timestamp(at: OffsetDateTime) -> String {
    // Formatting a UTC time with a fixed description cannot fail; fall back to RFC 3339
    // rather than panic if the `time` crate ever disagrees.
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(TIMESTAMP)
        .or_else(|_| at.format(&time::format_description::well_known::Rfc3339))
        .unwrap_or_default()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_the_platform_format() {
        let at = time::macros::datetime!(2019-07-25 07:11:02.807354 UTC);
        assert_eq!(format_timestamp(at), "2019-07-25T07:11:02.807354+00:00");
    }
}
