//! Email addresses, and the settings of the email change.

use std::fmt;

use crate::config::{ConfigError, Env, var};
use crate::error::ApiError;
use crate::limit::{Release, SlidingLimit};

/// Longest address (RFC 5321's path limit less the angle brackets).
pub(crate) const MAX_EMAIL_LEN: usize = 254;

/// A validated, normalised address that Amazon SES can deliver to: trimmed, an ASCII local
/// part, the domain lower-cased in its ASCII (IDNA) form.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Validates with the `email_address` crate (RFC 5321/5322 syntax, no display name, no
    /// domain literal, a dotted domain) after trimming; refuses control characters anywhere,
    /// so CR/LF can never reach a mail header. SES takes only ASCII local parts and punycode
    /// domains, so a non-ASCII local part is refused and the domain is stored as IDNA ASCII
    /// (UTS #46, the `idna` crate); a quoted local part is refused too, since it would carry
    /// arbitrary text into the platform's own mails.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let invalid = |message: &str| ApiError::invalid_field("contact.email", "invalid", message);
        if raw.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(invalid("must be at most 254 bytes long"));
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = email_address::EmailAddress::parse_with_options(trimmed, options)
            .map_err(|e| invalid(&format!("is not an email address ({e})")))?;
        let local = parsed.local_part();
        if local.starts_with('"') {
            return Err(invalid("must not have a quoted local part"));
        }
        if !local.is_ascii() {
            return Err(invalid(
                "the part before @ must be ASCII (mail cannot be delivered to other addresses)",
            ));
        }
        let domain = idna::domain_to_ascii_strict(parsed.domain())
            .map_err(|_| invalid("the domain is not a valid internationalised domain name"))?;
        let address = format!("{local}@{}", domain.to_ascii_lowercase());
        if address.len() > MAX_EMAIL_LEN {
            return Err(invalid("must be at most 254 bytes long in its ASCII form"));
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where confirmation links point, how long they live, and how many may be mailed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailConfig {
    /// The API's public base URL, without a trailing slash.
    pub confirmation_url_base: String,
    pub token_ttl_secs: i64,
    /// Confirmation mails per user: a cool-down between two, and at most so many a day.
    pub confirmation_mails: SlidingLimit,
}

impl EmailConfig {
    pub(crate) const DEFAULT_TTL_SECS: u64 = 24 * 60 * 60;

    /// The defaults of docs/contract.md §4: one mail a minute, five a day.
    pub fn mail_limit(cooldown_secs: i64, daily: usize) -> SlidingLimit {
        SlidingLimit {
            max: daily,
            window_secs: 24 * 60 * 60,
            cooldown_secs,
            release: Release::Oldest,
        }
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let base = env.required(var::CONFIRMATION_URL_BASE)?;
        let base = base.trim().trim_end_matches('/').to_owned();
        let uri: http::Uri = base.parse().map_err(|_| {
            ConfigError::new(var::CONFIRMATION_URL_BASE, format!("{base:?} is not a URL"))
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ConfigError::new(
                var::CONFIRMATION_URL_BASE,
                "must be an http:// or https:// URL",
            ));
        }
        if uri.query().is_some() {
            return Err(ConfigError::new(
                var::CONFIRMATION_URL_BASE,
                "must not have a query",
            ));
        }
        let ttl = env.number(
            var::EMAIL_TOKEN_TTL_SECONDS,
            Self::DEFAULT_TTL_SECS,
            60..=7 * 24 * 60 * 60,
        )?;
        let cooldown = env.number(var::EMAIL_CHANGE_COOLDOWN_SECONDS, 60, 0..=24 * 60 * 60)?;
        let daily = env.number(var::EMAIL_CHANGE_DAILY_LIMIT, 5, 1..=100)?;
        Ok(Self {
            confirmation_url_base: base,
            token_ttl_secs: ttl as i64,
            // Both ranges fit: at most a day of seconds, at most 100 mails.
            confirmation_mails: Self::mail_limit(cooldown as i64, daily as usize),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, ApiError> {
        EmailAddress::parse(raw).map(|e| e.0)
    }

    #[test]
    fn addresses_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(
            parse("  John.Doe@NewMail.NET ").unwrap(),
            "John.Doe@newmail.net"
        );
        assert_eq!(
            parse("john@Exämple.COM").unwrap(),
            "john@xn--exmple-cua.com"
        );
        assert_eq!(
            parse("john@xn--exmple-cua.com").unwrap(),
            "john@xn--exmple-cua.com"
        );
    }

    #[test]
    fn addresses_ses_cannot_take_name_the_field() {
        for bad in [
            "jöhn@example.com",
            "\"john doe\"@example.com",
            "\"john\\\"@example.com",
            "john@exa_mple.com",
            "john@xn--.com",
        ] {
            let err = parse(bad).unwrap_err();
            let ApiError::Validation { errors, .. } = &err else {
                panic!("{bad:?}: {err:?}");
            };
            assert_eq!(errors[0].field, "contact.email", "{bad:?}");
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "john",
            "john@",
            "@example.com",
            "john@localhost",
            "john@[127.0.0.1]",
            "John <john@example.com>",
            "john@example.com\r\nBcc: victim@example.com",
            "john@exa mple.com",
            "a..b@example.com",
            &format!("{}@example.com", "a".repeat(250)),
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn the_url_base_is_validated() {
        let vars: &[(&str, &str)] = &[("CONFIRMATION_URL_BASE", "https://api.example.com/")];
        let config = EmailConfig::load(&Env::new(&vars)).unwrap();
        assert_eq!(config.confirmation_url_base, "https://api.example.com");
        assert_eq!(config.token_ttl_secs, 86_400);
        assert_eq!(config.confirmation_mails, EmailConfig::mail_limit(60, 5));
        for (name, bad) in [
            ("EMAIL_CHANGE_DAILY_LIMIT", "0"),
            ("EMAIL_CHANGE_COOLDOWN_SECONDS", "-1"),
        ] {
            let vars: &[(&str, &str)] = &[
                ("CONFIRMATION_URL_BASE", "https://api.example.com"),
                (name, bad),
            ];
            assert_eq!(EmailConfig::load(&Env::new(&vars)).unwrap_err().name, name);
        }
        for bad in [
            "api.example.com",
            "ftp://x.example",
            "https://x.example/?a=1",
        ] {
            let vars: &[(&str, &str)] = &[("CONFIRMATION_URL_BASE", bad)];
            assert_eq!(
                EmailConfig::load(&Env::new(&vars)).unwrap_err().name,
                "CONFIRMATION_URL_BASE"
            );
        }
        let vars: &[(&str, &str)] = &[];
        assert_eq!(
            EmailConfig::load(&Env::new(&vars)).unwrap_err().name,
            "CONFIRMATION_URL_BASE"
        );
    }
}
