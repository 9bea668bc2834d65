//! `send-notices`: mails the notices of account events — a password changed or reset, an
//! address changed — read from the bus through an SQS queue (docs/events.md, "Notices").
//!
//! Apart from `account-events` on purpose: a mail that fails here holds back no event, and
//! the stream's consumer needs no mail permission. Each message is one event; one that fails
//! (SES or DynamoDB unreachable) is reported as a batch item failure, so that the queue
//! hands it out again, and after its retries to the dead-letter queue. Each notice goes out
//! once however often its event comes ([`NoticeKey`]), and within the user's and the
//! address's daily budget.
//!
//! [`NoticeKey`]: shared::store::NoticeKey

pub mod notice;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::lambda_runtime;
use shared::aws::Https;
use shared::config::{ConfigError, Env, var};
use shared::limit::{Release, SlidingLimit};
use shared::mail::{MailConfig, Mailer};
use shared::metrics::{self, names};
use shared::store::{BudgetKey, Lease};
use shared::{ApiError, CoreConfig, Now, Store};

pub use notice::{Notice, NoticeEvent, notices};

pub struct Config {
    pub core: CoreConfig,
    pub mail: MailConfig,
    pub notice_budget: SlidingLimit,
}

/// The default of `NOTICE_DAILY_LIMIT`: notices per user, and per address, in 24 hours.
pub const DEFAULT_NOTICE_DAILY_LIMIT: u64 = 10;

/// At most `max` notices in any 24 hours, per user and per recipient address: no caller can
/// make the platform's sender mail one inbox, or any address, more often than that.
pub fn notice_budget(max: usize) -> SlidingLimit {
    SlidingLimit {
        max,
        window_secs: 24 * 60 * 60,
        cooldown_secs: 0,
        release: Release::Oldest,
    }
}

impl Config {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let max = env.number(
            var::NOTICE_DAILY_LIMIT,
            DEFAULT_NOTICE_DAILY_LIMIT,
            1..=1000,
        )?;
        Ok(Self {
            core: CoreConfig::load(env)?,
            mail: MailConfig::load(env)?,
            // 1 to 1000 fits a usize.
            notice_budget: notice_budget(max as usize),
        })
    }
}

pub struct State {
    pub store: Store,
    pub mailer: Mailer,
    /// Each user's and each address's notices (see [`notice_budget`]).
    pub notice_budget: SlidingLimit,
}

impl State {
    /// The clients, over one HTTPS client.
    pub fn connect(config: &Config) -> Result<Self, ConfigError> {
        let https = Https::new(&config.core.trust)?;
        Ok(Self {
            store: Store::connect(&config.core, &https)?,
            mailer: Mailer::connect(&config.mail, &config.core, &https)?,
            notice_budget: config.notice_budget,
        })
    }
}

/// What `main.rs` runs: logging, configuration and clients once per cold start, then the
/// runtime loop. `name` is the `function` dimension of its metrics.
pub async fn run(name: &'static str) -> Result<(), lambda_runtime::Error> {
    let (state, metrics) = shared::runtime::start_events(name, |env| {
        Config::load(env).and_then(|config| State::connect(&config))
    })?;
    state.store.open_connection().await;
    shared::runtime::serve_events(state, metrics, |state, event: SqsEvent| async move {
        Ok(handle(state, event).await)
    })
    .await
}

/// One batch of messages, each an event: those that failed are reported, the others are
/// done (notices have no order to keep).
pub async fn handle(state: &State, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        if let Err(error) = process(state, message).await {
            tracing::error!(message_id = id, error = %error, "message failed; it comes again");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// One message: its event's notices, each sent once. A message that is not an account event
/// fails, so that it ends in the dead-letter queue rather than being dropped.
pub async fn process(state: &State, message: &SqsMessage) -> Result<(), ApiError> {
    let body = message.body.as_deref().unwrap_or_default();
    let event: NoticeEvent = serde_json::from_str(body)
        .map_err(|e| ApiError::internal(format!("not an account event: {e}")))?;
    let Some(user) = state.store.get_user(event.detail.user_id).await? else {
        tracing::info!(event_id = event.detail.event_id, "no notice: no such user");
        return Ok(());
    };
    for notice in notices(&event, &user) {
        send_once(state, &notice).await?;
    }
    Ok(())
}

/// Sends `notice` unless a delivery of the same event did, or the user's or the address's
/// daily budget is spent (then it is dropped: logged without the address, counted, and
/// marked handled, so a redelivery does not count it again). A mail refused for good (an
/// address SES will not take) is logged and counted as sent: retrying would not change it.
async fn send_once(state: &State, notice: &Notice) -> Result<(), ApiError> {
    let now = Now::current();
    if state.store.lease_notice(&notice.key, &now).await? == Lease::Taken {
        tracing::info!(notice = notice.key.as_str(), "notice sent already");
        return Ok(());
    }
    let within = match within_budget(state, notice, &now).await {
        Ok(within) => within,
        Err(error) => {
            state.store.release_notice(&notice.key, &now).await?;
            return Err(error);
        }
    };
    if !within {
        metrics::count(names::NOTICES_DROPPED, 1);
        tracing::warn!(
            notice = notice.key.as_str(),
            "notice dropped: the user or the address had its daily budget of notices"
        );
        return state.store.notice_sent(&notice.key, &now).await;
    }
    match state.mailer.send(&notice.mail).await {
        Ok(()) => {}
        Err(error @ ApiError::MailRejected { .. }) => {
            tracing::error!(notice = notice.key.as_str(), error = %error, "notice refused");
        }
        Err(error) => {
            state.store.release_notice(&notice.key, &now).await?;
            return Err(error);
        }
    }
    state.store.notice_sent(&notice.key, &now).await?;
    tracing::info!(notice = notice.key.as_str(), "notice sent");
    Ok(())
}

/// Spends one notice of the user's budget, then one of the address's: false when either is
/// spent (a notice the address refuses still counted against the user, which errs on the
/// side of fewer mails).
async fn within_budget(state: &State, notice: &Notice, now: &Now) -> Result<bool, ApiError> {
    let budget = &state.notice_budget;
    let store = &state.store;
    Ok(store
        .spend_notice_budget(&BudgetKey::user(notice.user_id), budget, now)
        .await?
        && store
            .spend_notice_budget(&BudgetKey::recipient(&notice.mail.to), budget, now)
            .await?)
}
