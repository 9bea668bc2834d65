//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) on the authenticated writes,
//! as AWS Lambda Powertools' idempotency utility does it, on our own table: the first request
//! with a key leases it with a conditional `PutItem` (a record "running" until a lease ends),
//! runs, and stores its answer; a retry with the same key and request gets that answer back
//! without anything being done again. Keys belong to one caller and one user, and are
//! remembered [`KEEP_SECS`]. Without the header nothing here sends a request.
//!
//! Only successful answers are remembered. An error changed nothing (every write is one
//! conditional write, and a refused request writes nothing), so its key is released and a
//! retry runs again, as Powertools does when a handler fails.
//!
//! A route whose body carries a secret (the password) leaves it out of the fingerprint, so
//! the fingerprint alone cannot tell a retry from a request with another password. Such a
//! route stores a verifier with its answer (the Argon2id hash it wrote, the same PHC string
//! as the user item's) and a replay happens only when the presented secret verifies against
//! it (see [`Secrets`]); otherwise the key was reused with another payload (`422`).

pub(crate) mod record;

pub use record::*;

use lambda_http::Request;

use crate::caller::Caller;
use crate::error::{Answer, ApiError};
use crate::ids::UserId;
use crate::now::Now;
use crate::store::{KeyLease, Store};

/// What a route's body holds that the fingerprint must leave out, and how a replay proves
/// that it presents the same secret as the request whose answer it would get.
pub trait Secrets: Sync {
    /// The body fields left out of the fingerprint.
    fn fields(&self) -> &[&str];

    /// True when `request` presents the secret that `verifier` (stored with the first
    /// answer, see [`Verifier`]) was made from. Only asked when the fingerprints match.
    fn presents(
        &self,
        request: &Request,
        verifier: Option<&Verifier>,
    ) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

/// A route whose body holds no secret: the fingerprint covers it all.
pub struct NoSecrets;

impl Secrets for NoSecrets {
    fn fields(&self) -> &[&str] {
        &[]
    }

    async fn presents(&self, _: &Request, _: Option<&Verifier>) -> Result<bool, ApiError> {
        Ok(true)
    }
}

/// Runs `work` for `request` at most once per `Idempotency-Key`: without the header, it just
/// runs; with it, a retry of the same request gets the first successful answer, another
/// request with the key `422`, and a retry while the first runs `409`.
///
/// The caller authorises the request (scope, principal type) before calling this, so a
/// replay never reaches a caller that the work would refuse. `valid` refuses what is wrong
/// with the request on its own (its body), before the key is looked at: an invalid request
/// is answered as it would be without a key, never with a replay, even where its
/// fingerprint leaves the secret fields out.
pub async fn once(
    store: &Store,
    request: &Request,
    caller: &Caller,
    user_id: UserId,
    secrets: &impl Secrets,
    valid: impl FnOnce() -> Result<(), ApiError>,
    work: impl Future<Output = Answer>,
) -> Answer {
    let Some(key) = IdempotencyKey::of(request)? else {
        return work.await;
    };
    valid()?;
    let record = RecordKey::new(caller, user_id, &key);
    let fingerprint = Fingerprint::of(request, secrets.fields());
    let now = Now::current();
    let lease = match store.lease_key(&record, &fingerprint, &now).await? {
        KeyLease::Granted(lease) => lease,
        KeyLease::Held {
            fingerprint: first, ..
        } if first != fingerprint => return Err(ApiError::IdempotencyKeyReuse),
        KeyLease::Held {
            answer: Some(answer),
            burned,
            ..
        } => {
            // A user acting on itself is checked as the work would check it (a revoked token,
            // a disabled account): one read, on replays only.
            if let Some(token) = caller.own_token(user_id) {
                let item = store.get_user(user_id).await?.ok_or(ApiError::NotFound)?;
                item.admits(token)?;
            }
            if burned {
                return Err(ApiError::IdempotencyKeyReuse);
            }
            if secrets.presents(request, answer.verifier.as_ref()).await? {
                return answer.replay();
            }
            store.burn_key(&record).await?;
            return Err(ApiError::IdempotencyKeyReuse);
        }
        KeyLease::Held { answer: None, .. } => return Err(ApiError::IdempotencyKeyInUse),
    };
    let answer = work.await;
    // The answer stands whatever happens to the record: the work is done (or refused). A
    // record left running only makes a retry wait for the lease, then run again.
    let settled = match answer.as_ref().ok().and_then(StoredAnswer::of) {
        Some(stored) => store.complete_key(&record, &lease, &stored).await,
        None => store.release_key(&record, &lease).await,
    };
    if let Err(error) = settled {
        tracing::error!(error = %error, "could not record the outcome of an idempotent request");
    }
    answer
}
