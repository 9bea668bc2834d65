//! Rate limits kept on the user item as a log of recent event times (Unix seconds).
//!
//! The store writes the new log in the same conditional `UpdateItem` as the work it limits,
//! on the condition that the log is still the one the decision was made on, so concurrent
//! requests cannot both take the last slot (see `Store::begin_password_check` and
//! `Store::set_pending_email`). A log is a sliding window: no interval of `window_secs`
//! ever holds more than `max` events, whatever the calendar says.

/// When a full log takes events again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// When its oldest event leaves the window (at most `max` per window, sliding).
    Oldest,
    /// Only when its newest event leaves the window: a lockout of `window_secs` from the
    /// event that filled it.
    Newest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlidingLimit {
    pub max: usize,
    pub window_secs: i64,
    /// Least time between two events (0 for none).
    pub cooldown_secs: i64,
    pub release: Release,
}

/// docs/contract.md §4: after the 5th wrong current password within 15 minutes the self-service change
/// is locked for 15 minutes from that attempt. Attempts are logged before verification, so
/// the log counts guesses under way as well as wrong ones; a right password clears it.
pub(crate) const PASSWORD_ATTEMPTS: SlidingLimit = SlidingLimit {
    max: 5,
    window_secs: 15 * 60,
    cooldown_secs: 0,
    release: Release::Newest,
};

impl SlidingLimit {
    /// Admits an event at `now` to the log `times`: the log to store (events that left the
    /// window dropped, `now` added), or the seconds to wait before asking again.
    pub(crate) fn admit(&self, times: &[i64], now: i64) -> Result<Vec<i64>, u64> {
        // A lockout may have begun with an event up to a window before the one that filled
        // the log, so such a log keeps two windows.
        let kept = match self.release {
            Release::Oldest => self.window_secs,
            Release::Newest => 2 * self.window_secs,
        };
        let mut log: Vec<i64> = times
            .iter()
            .copied()
            .filter(|&at| at > now - kept)
            .collect();
        log.sort_unstable();
        if let Some(&newest) = log.last()
            && newest + self.cooldown_secs > now
        {
            return Err(wait(newest + self.cooldown_secs - now));
        }
        if self.release == Release::Newest
            && let Some(until) = log
                .windows(self.max.max(1))
                .filter(|run| run[run.len() - 1] - run[0] < self.window_secs)
                .map(|run| run[run.len() - 1] + self.window_secs)
                .max()
            && until > now
        {
            return Err(wait(until - now));
        }
        let live: Vec<i64> = log
            .iter()
            .copied()
            .filter(|&at| at > now - self.window_secs)
            .collect();
        if live.len() >= self.max {
            return Err(wait(live[live.len() - self.max] + self.window_secs - now));
        }
        log.push(now);
        Ok(log)
    }
}

/// A `Retry-After` is a positive number of seconds.
fn wait(secs: i64) -> u64 {
    u64::try_from(secs).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAILS: SlidingLimit = SlidingLimit {
        max: 5,
        window_secs: 86_400,
        cooldown_secs: 60,
        release: Release::Oldest,
    };

    #[test]
    fn the_fifth_wrong_password_locks_for_fifteen_minutes_from_itself() {
        let mut log = Vec::new();
        for at in [0, 100, 200, 300, 890] {
            log = PASSWORD_ATTEMPTS.admit(&log, at).unwrap();
        }
        // The first attempt leaves the window at 900, but the lock runs from the fifth.
        assert_eq!(PASSWORD_ATTEMPTS.admit(&log, 901), Err(889));
        assert_eq!(PASSWORD_ATTEMPTS.admit(&log, 1789), Err(1));
        let after = PASSWORD_ATTEMPTS.admit(&log, 1790).unwrap();
        assert_eq!(after.last(), Some(&1790));
        // The old run is kept a while, but no longer counts.
        let mut log = after;
        for at in [1791, 1792, 1793] {
            log = PASSWORD_ATTEMPTS.admit(&log, at).unwrap();
        }
        assert_eq!(PASSWORD_ATTEMPTS.admit(&log, 1794).map(|l| l.len()), Ok(10));
        assert_eq!(
            PASSWORD_ATTEMPTS.admit(&log, 1795),
            Ok(log.iter().copied().chain([1795]).collect())
        );
    }

    #[test]
    fn no_window_boundary_lets_more_than_five_through() {
        // Four at the end of one quarter of an hour, then as many as will pass at its turn.
        let mut log = Vec::new();
        for at in [896, 897, 898, 899] {
            log = PASSWORD_ATTEMPTS.admit(&log, at).unwrap();
        }
        let admitted = (900..960)
            .filter(|&at| match PASSWORD_ATTEMPTS.admit(&log, at) {
                Ok(next) => {
                    log = next;
                    true
                }
                Err(_) => false,
            })
            .count();
        assert_eq!(admitted, 1, "five in any 15 minutes, not five per window");
    }

    #[test]
    fn mails_wait_for_the_cooldown_then_slide_over_a_day() {
        let log = MAILS.admit(&[], 1_000).unwrap();
        assert_eq!(MAILS.admit(&log, 1_030), Err(30));
        let mut log = log;
        for at in [1_060, 2_000, 3_000, 4_000] {
            log = MAILS.admit(&log, at).unwrap();
        }
        // Five within a day: the next one when the oldest is a day old.
        assert_eq!(MAILS.admit(&log, 5_000), Err(86_400 + 1_000 - 5_000));
        let later = MAILS.admit(&log, 87_401).unwrap();
        assert_eq!(later, vec![1_060, 2_000, 3_000, 4_000, 87_401]);
    }
}
