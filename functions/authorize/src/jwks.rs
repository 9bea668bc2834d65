//! The identity provider's signing keys (its JWKS), cached per execution environment.
//!
//! Loaded once at cold start; fetched again when a token names a key (`kid`) the cache does
//! not hold, at most once a minute, so that a rotation is picked up at its first token and a
//! stream of made-up `kid`s cannot make this function flood the provider; and again when the
//! cached set is an hour old, so that a key the provider withdrew stops being trusted. A
//! fetch that fails is tried again at most every 5 seconds; meanwhile a held set answers for
//! its keys, but never once it is a day old: then nothing is trusted until a fetch succeeds.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use shared::aws::Https;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The fewest seconds between two fetches made for an unknown `kid`.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// The fewest seconds between two attempts while no key set is held at all.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// The age at which a held key set is fetched again at the next token.
pub const MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// The age past which a held key set is no longer used, whether or not a fetch succeeds.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest JWKS document read: real ones hold a few keys, a few KB.
pub const MAX_BYTES: usize = 64 * 1024;

/// A verification key, with the one algorithm it may be used with.
#[derive(Clone)]
pub struct Key {
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
}

/// Why no key could be found.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// The provider's key set names no such key.
    Unknown,
    /// No key set could be fetched (the JWKS is unreachable or malformed).
    Unavailable,
}

pub struct KeySet {
    url: String,
    https: Https,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    keys: HashMap<String, Key>,
    /// When the held keys were fetched; `None` before the first success.
    fetched: Option<Instant>,
    /// When the last fetch made for an unknown `kid` was made.
    refetched: Option<Instant>,
    /// When the last fetch that failed was made.
    failed: Option<Instant>,
}

impl KeySet {
    pub fn new(url: String, https: Https) -> Self {
        Self {
            url,
            https,
            held: Mutex::new(Held::default()),
        }
    }

    /// Fetches the keys, at cold start: a failure is logged, and the first token tries again.
    pub async fn load(&self) {
        let mut held = self.held.lock().await;
        if let Err(error) = self.fetch_into(&mut held).await {
            tracing::warn!(error, "the JWKS could not be loaded at start");
        }
    }

    /// The key `kid`, fetching the key set again when the rules above allow.
    pub async fn key(&self, kid: &str) -> Result<Key, Missing> {
        // One fetch at a time: tokens that arrive during a fetch wait for its keys.
        let mut held = self.held.lock().await;
        let now = Instant::now();
        let since = |at: Option<Instant>, interval: Duration| {
            at.is_none_or(|at| now.duration_since(at) >= interval)
        };
        // After a failed fetch, none for a while: a provider that is down is not hammered.
        let fetch = since(held.failed, RETRY_INTERVAL)
            && match held.fetched {
                None => true,
                Some(fetched) if now.duration_since(fetched) >= MAX_AGE => true,
                Some(_) => !held.keys.contains_key(kid) && since(held.refetched, REFETCH_INTERVAL),
            };
        let mut failed = false;
        if fetch {
            if held.fetched.is_some() && !held.keys.contains_key(kid) {
                held.refetched = Some(now);
            }
            if let Err(error) = self.fetch_into(&mut held).await {
                failed = true;
                tracing::error!(error, "the JWKS could not be fetched");
            }
        }
        // An old key set still answers for the keys it holds, for a day; with none, deny.
        let usable = held
            .fetched
            .is_some_and(|fetched| now.duration_since(fetched) < MAX_STALE);
        // One count per token the JWKS failed: its fetch failed, or it was denied for want
        // of keys (not both).
        if failed || !usable {
            shared::metrics::count(shared::metrics::names::AUTHORIZER_FAILURES, 1);
        }
        if !usable {
            return Err(Missing::Unavailable);
        }
        held.keys.get(kid).cloned().ok_or(Missing::Unknown)
    }

    async fn fetch_into(&self, held: &mut Held) -> Result<(), String> {
        let now = Instant::now();
        let fetched = async {
            let (status, body) = self.https.get(&self.url, MAX_BYTES).await?;
            if status != 200 {
                return Err(format!("the JWKS answered {status}"));
            }
            // A set without one usable key would deny every token: keep the old one.
            let keys = parse(&body)?;
            if keys.is_empty() {
                return Err("the JWKS has no RS256 or ES256 signing key with a kid".into());
            }
            Ok(keys)
        };
        match fetched.await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "JWKS fetched");
                held.keys = keys;
                held.fetched = Some(now);
                Ok(())
            }
            Err(error) => {
                held.failed = Some(now);
                Err(error)
            }
        }
    }
}

/// The signing keys of a JWKS document, by `kid`: RSA keys for RS256 and P-256 keys for
/// ES256. Keys of other types (symmetric keys above all: a public document's secret would
/// be anyone's), of other curves or algorithms, for encryption, or without a `kid` are left
/// out; a document that is not a JWKS is an error.
pub fn parse(document: &[u8]) -> Result<HashMap<String, Key>, String> {
    let set: JwkSet =
        serde_json::from_slice(document).map_err(|e| format!("the JWKS is malformed: {e}"))?;
    Ok(set
        .keys
        .iter()
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, signing_key(jwk)?)))
        .collect())
}

fn signing_key(jwk: &Jwk) -> Option<Key> {
    if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let stated = jwk.common.key_algorithm;
    let agrees = match stated {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(_) => false,
    };
    if !agrees {
        return None;
    }
    DecodingKey::from_jwk(jwk).ok().map(|decoding| Key {
        algorithm,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_signing_keys_of_known_algorithms_are_kept() {
        let rsa = json!({"kty": "RSA", "kid": "r", "n": "sXch", "e": "AQAB", "use": "sig"});
        let ec = json!({"kty": "EC", "kid": "e", "crv": "P-256", "x": "AQ", "y": "AQ"});
        let document = json!({"keys": [
            rsa,
            ec,
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AQ", "y": "AQ"},
            {"kty": "RSA", "kid": "enc", "n": "sXch", "e": "AQAB", "use": "enc"},
            {"kty": "RSA", "kid": "ps", "n": "sXch", "e": "AQAB", "alg": "PS256"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AQ"},
        ]});
        let keys = parse(document.to_string().as_bytes()).unwrap();
        let mut kept: Vec<_> = keys
            .iter()
            .map(|(k, v)| (k.as_str(), v.algorithm))
            .collect();
        kept.sort_by_key(|(kid, _)| *kid);
        assert_eq!(kept, [("e", Algorithm::ES256), ("r", Algorithm::RS256)]);
        assert!(parse(b"{\"keys\": 1}").is_err());
        assert!(parse(b"<html>").is_err());
    }
}
