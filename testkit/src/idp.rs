//! An identity provider the tests make: an RSA and a P-256 key pair made at start, their
//! JWKS, and tokens signed with them, or signed wrongly on purpose (`none`, HS256 over the
//! public key, a key the JWKS does not have). Signed with RustCrypto's `rsa` and `ring`'s
//! ECDSA, so the authorizer's verification is checked against an implementation of its own.

use base64ct::{Base64UrlUnpadded, Encoding};
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

/// What signs a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es256,
}

pub struct Idp {
    pub issuer: String,
    pub audience: String,
    rsa: (String, RsaPrivateKey),
    ec: (String, EcdsaKeyPair),
}

impl Idp {
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            rsa: rsa_key(),
            ec: ec_key(),
        }
    }

    /// New keys (and `kid`s) for both algorithms, as a provider's rotation makes them.
    pub fn rotate(&mut self) {
        self.rsa = rsa_key();
        self.ec = ec_key();
    }

    pub fn kid(&self, alg: Alg) -> &str {
        match alg {
            Alg::Rs256 => &self.rsa.0,
            Alg::Es256 => &self.ec.0,
        }
    }

    /// The public keys, as the provider publishes them.
    pub fn jwks(&self) -> Value {
        let public = RsaPublicKey::from(&self.rsa.1);
        let point = self.ec.1.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.rsa.0,
             "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())},
            {"kty": "EC", "use": "sig", "alg": "ES256", "kid": self.ec.0, "crv": "P-256",
             "x": b64(&point[1..33]), "y": b64(&point[33..65])},
        ]})
    }

    /// The claims of a valid token of this provider for `sub`, issued now and valid for
    /// an hour; the test adds or changes the rest.
    pub fn claims(&self, sub: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now,
               "exp": now + 3600})
    }

    /// `claims` signed with `alg`'s key, its `kid` in the header.
    pub fn token(&self, alg: Alg, claims: &Value) -> String {
        self.token_with_kid(alg, self.kid(alg), claims)
    }

    /// `claims` signed with `alg`'s key under the `kid` given, which may be another
    /// provider's (a forgery that names a key the verifier trusts).
    pub fn token_with_kid(&self, alg: Alg, kid: &str, claims: &Value) -> String {
        let name = match alg {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        };
        let header = json!({"alg": name, "typ": "JWT", "kid": kid});
        sign(&header, claims, |message| match alg {
            Alg::Rs256 => SigningKey::<Sha256>::new(self.rsa.1.clone())
                .sign(message)
                .to_vec(),
            Alg::Es256 => self
                .ec
                .1
                .sign(&SystemRandom::new(), message)
                .expect("ECDSA signature")
                .as_ref()
                .to_vec(),
        })
    }

    /// An algorithm confusion: HS256 whose secret is the RSA key's public PEM (what a
    /// verifier that lets the token choose the algorithm would check it with), under the
    /// RSA key's `kid`.
    pub fn hs256_with_public_key(&self, claims: &Value) -> String {
        let pem = RsaPublicKey::from(&self.rsa.1)
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM");
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": self.rsa.0});
        sign(&header, claims, |message| {
            hmac_sha256(pem.as_bytes(), message)
        })
    }

    /// `alg: none`, no signature, under the RSA key's `kid`.
    pub fn unsigned(&self, claims: &Value) -> String {
        let header = json!({"alg": "none", "typ": "JWT", "kid": self.rsa.0});
        sign(&header, claims, |_| Vec::new())
    }
}

/// An HTTP API's REQUEST authorizer event (payload 2.0), as API Gateway sends it, with
/// `authorization` as its `Authorization` header and identity source (neither when `None`).
pub fn authorizer_event(authorization: Option<&str>) -> Value {
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/$default/GET/users/x",
        "routeKey": "GET /users/{user_id}",
        "rawPath": "/users/x",
        "rawQueryString": "",
        "headers": {"host": "abcdef123.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef123", "domainName": "example.com",
            "domainPrefix": "abcdef123", "requestId": "r-1", "routeKey": "GET /users/{user_id}",
            "stage": "$default", "time": "04/Dec/2026:10:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/users/x", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "test"}
        }
    });
    if let Some(value) = authorization {
        event["identitySource"] = json!([value]);
        event["headers"]["authorization"] = json!(value);
    }
    event
}

fn sign(header: &Value, claims: &Value, signer: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = signer(message.as_bytes());
    format!("{message}.{}", b64(&signature))
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn kid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn rsa_key() -> (String, RsaPrivateKey) {
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA key");
    (kid(), key)
}

fn ec_key() -> (String, EcdsaKeyPair) {
    let random = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random).expect("P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &random)
        .expect("P-256 key");
    (kid(), pair)
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .to_vec()
}
