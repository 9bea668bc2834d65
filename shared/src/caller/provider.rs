//! The JWT algorithms this code knows: HS256 for development tokens (signed and verified),
//! RS256 and ES256 for the identity provider's tokens that `authorize` verifies (verified
//! only).
//!
//! `jsonwebtoken` is built without its crypto back-ends: `rust_crypto` would link a second
//! implementation of RSA and ECDSA, and `aws_lc_rs` all of AWS-LC, while every function
//! already links `ring`, whose RSA PKCS#1 and ECDSA P-256 verification rustls uses for
//! certificates. Every other algorithm is refused, and a key is only ever used with the
//! algorithm of its own family (no HS256 over an RSA key's bytes).

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use sha2::Sha256;

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's JWT provider. Idempotent: a second call finds it installed.
pub fn install() {
    // `Err` means a provider is installed already, and only this module installs one.
    let _ = PROVIDER.install_default();
}

struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(algorithm: &Algorithm, family: AlgorithmFamily, key: &[u8]) -> Result<Self, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        Hmac::new_from_slice(key)
            .map(Self)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Ok(Box::new(Hs256::new(
        algorithm,
        key.family(),
        key.as_bytes(),
    )?))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let wrong_key = || Error::from(ErrorKind::InvalidKeyFormat);
    match (algorithm, key.family(), key.kind()) {
        (Algorithm::HS256, _, _) => Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?)),
        (Algorithm::RS256, AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(Rs256 {
                n: n.clone(),
                e: e.clone(),
            }))
        }
        (Algorithm::ES256, AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
            Ok(Box::new(Es256(point.clone())))
        }
        (Algorithm::RS256 | Algorithm::ES256, _, _) => Err(wrong_key()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// An RSA public key from a JWK's modulus and exponent; RS256 is PKCS#1 v1.5 with SHA-256,
/// keys of 2048 to 8192 bits.
struct Rs256 {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

/// A P-256 public key as an uncompressed point (what `DecodingKey::from_ec_components`
/// makes of a JWK's `x` and `y`); ES256 signatures are `r || s`, 64 bytes (RFC 7518 §3.4).
struct Es256(Vec<u8>);

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self
            .0
            .clone()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        // `verify_slice` compares in constant time.
        self.0
            .clone()
            .chain_update(message)
            .verify_slice(tag)
            .map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Header, Validation};
    use serde_json::{Value, json};

    fn token(algorithm: Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<String> {
        install();
        jsonwebtoken::encode(&Header::new(algorithm), &json!({"sub": "u"}), key)
    }

    fn check(token: &str, secret: &[u8]) -> jsonwebtoken::errors::Result<Value> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims::<&str>(&[]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret), &validation)
            .map(|data| data.claims)
    }

    #[test]
    fn hs256_signs_and_verifies_with_its_secret_only() {
        let signed = token(Algorithm::HS256, &EncodingKey::from_secret(b"secret")).unwrap();
        assert_eq!(check(&signed, b"secret").unwrap(), json!({"sub": "u"}));
        assert_eq!(
            check(&signed, b"other").unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
        // One bit of the signature changed.
        let mut tampered = signed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(check(&tampered, b"secret").is_err());
    }

    #[test]
    fn other_algorithms_and_keys_are_refused() {
        for algorithm in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::EdDSA,
        ] {
            let refused = token(algorithm, &EncodingKey::from_secret(b"secret")).unwrap_err();
            assert_eq!(
                refused.kind(),
                &ErrorKind::InvalidAlgorithm,
                "{algorithm:?}"
            );
        }
        // `encode` checks the key's family itself; the provider does too.
        let not_a_secret = EncodingKey::from_ed_der(b"not a secret");
        let refused = signer(&Algorithm::HS256, &not_a_secret).err().unwrap();
        assert_eq!(refused.kind(), &ErrorKind::InvalidKeyFormat);
    }

    #[test]
    fn each_key_verifies_with_its_own_algorithm_only() {
        let rsa = DecodingKey::from_rsa_raw_components(&[0xc5; 256], &[1, 0, 1]);
        let ec = DecodingKey::from_ec_der(&[4; 65]);
        let secret = DecodingKey::from_secret(b"secret");
        for (algorithm, key, fits) in [
            (Algorithm::RS256, &rsa, true),
            (Algorithm::RS256, &ec, false),
            (Algorithm::RS256, &secret, false),
            (Algorithm::ES256, &ec, true),
            (Algorithm::ES256, &rsa, false),
            (Algorithm::ES256, &secret, false),
            (Algorithm::HS256, &secret, true),
            (Algorithm::HS256, &rsa, false),
            (Algorithm::HS256, &ec, false),
            (Algorithm::PS256, &rsa, false),
            (Algorithm::ES384, &ec, false),
        ] {
            assert_eq!(verifier(&algorithm, key).is_ok(), fits, "{algorithm:?}");
        }
    }
}
