//! The password policy and the common-password list.

use super::{MAX_BYTES, MAX_CHARS, MIN_IDENTIFIER_CHARS, Password, nfkc};
use crate::error::{ApiError, FieldError};

/// What the policy compares a new password with.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    pub login: &'a str,
    pub email: &'a str,
    /// The current password, in self-service: the new one must differ.
    pub current: Option<&'a Password>,
}

/// The configurable part of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 15 }
    }
}

impl PasswordPolicy {
    /// Checks `raw` against every rule and reports every violation at once; on success,
    /// the password in NFKC form.
    pub fn check(&self, raw: &str, context: PolicyContext<'_>) -> Result<Password, ApiError> {
        let violation =
            |code: &'static str, message: String| FieldError::new("password", code, message);
        let mut errors = Vec::new();
        // Normalising is linear, but there is no point in it for a body-sized string.
        if raw.len() > 4 * MAX_BYTES {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_BYTES} bytes of UTF-8"),
            ));
            return Err(ApiError::PasswordPolicy { errors });
        }
        let normalized = nfkc(raw);
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            errors.push(violation(
                "too-short",
                format!(
                    "must be at least {} characters long (has {chars})",
                    self.min_chars
                ),
            ));
        }
        if chars > MAX_CHARS {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        if raw.len() > MAX_BYTES || normalized.len() > MAX_BYTES {
            errors.push(violation(
                "too-long",
                format!("must be at most {MAX_BYTES} bytes of UTF-8"),
            ));
        }
        if normalized.chars().any(char::is_control) || raw.chars().any(char::is_control) {
            errors.push(violation(
                "control-character",
                "must not contain control characters".into(),
            ));
        }
        let lowered = normalized.to_lowercase();
        if is_common(&lowered) {
            errors.push(violation(
                "common-password",
                "is a commonly used password".into(),
            ));
        }
        if contains_identifier(&lowered, context.login) {
            errors.push(violation(
                "contains-login",
                "must not contain the login".into(),
            ));
        }
        let local_part = context
            .email
            .rsplit_once('@')
            .map_or("", |(local, _)| local);
        if contains_identifier(&lowered, local_part) {
            errors.push(violation(
                "contains-email",
                "must not contain the local part of the email address".into(),
            ));
        }
        if context
            .current
            .is_some_and(|current| current.expose() == normalized)
        {
            errors.push(violation(
                "same-as-current",
                "must differ from the current password".into(),
            ));
        }
        // Report one `too-long` even when both limits are broken.
        errors.dedup_by(|a, b| a.code == b.code);
        if errors.is_empty() {
            Ok(Password(normalized))
        } else {
            Err(ApiError::PasswordPolicy { errors })
        }
    }
}

/// The common-password list of the `passwords` crate (99,838 entries), in NFKC, lower-cased,
/// without the entries shorter than [`SHORTEST_MIN_CHARS`](super::SHORTEST_MIN_CHARS) (the
/// length rule refuses those whatever the configuration): `data/common-passwords.txt`, which
/// `data/README.md` says how to make and a test checks against the crate, compiled by
/// `build.rs` into a finite-state transducer. Not the crate itself, whose table of 100k `&str`
/// costs a pointer and a relocation per entry at every cold start; not the text, which is
/// twice the size (what each bought: docs/benchmarks.md).
static COMMON_PASSWORDS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.fst"));

/// Whether `lowered` (an NFKC, lower-cased password) is on [`COMMON_PASSWORDS`].
fn is_common(lowered: &str) -> bool {
    // `new` reads the header only. build.rs wrote these bytes and the tests read them, so
    // they are a set; were they not, refusing every password is the side to fail on.
    fst::Set::new(COMMON_PASSWORDS).map_or(true, |list| list.contains(lowered))
}

fn contains_identifier(lowered_password: &str, identifier: &str) -> bool {
    let identifier = nfkc(identifier).to_lowercase();
    identifier.chars().count() >= MIN_IDENTIFIER_CHARS && lowered_password.contains(&identifier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::SHORTEST_MIN_CHARS;

    /// The list as build.rs reads it.
    const LIST: &str = include_str!("../../data/common-passwords.txt");
    const LOGIN: &str = "JohnDoe";
    const EMAIL: &str = "johndoe@mysite.com";

    fn codes(raw: &str, current: Option<&Password>) -> Vec<&'static str> {
        let context = PolicyContext {
            login: LOGIN,
            email: EMAIL,
            current,
        };
        match PasswordPolicy::default().check(raw, context) {
            Ok(_) => Vec::new(),
            Err(ApiError::PasswordPolicy { errors }) => errors.iter().map(|e| e.code).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn any_unicode_of_the_right_length_is_accepted() {
        for ok in [
            "correct horse battery staple",
            "пароль-который-трудно-угадать",
            "🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀",
            "長い長いパスワードです、覚えやすい",
            "كلمة مرور طويلة جدا للاختبار",
            "   fifteen spaces and words   ",
        ] {
            assert_eq!(codes(ok, None), Vec::<&str>::new(), "{ok}");
        }
    }

    #[test]
    fn length_is_counted_in_code_points_after_nfkc() {
        // 14 crabs are 56 bytes but 14 characters: too short.
        assert_eq!(codes(&"🦀".repeat(14), None), ["too-short"]);
        // "ﬃ" (one code point) is "ffi" (three) under NFKC.
        assert_eq!(codes(&"ﬃ".repeat(5), None), Vec::<&str>::new());
        assert_eq!(codes(&"xy".repeat(129)[..257], None), ["too-long"]);
        // 256 four-byte characters are exactly 1,024 bytes: the longest password there is.
        assert_eq!(codes(&"🦀".repeat(256), None), Vec::<&str>::new());
        // Over both limits, reported once.
        assert_eq!(codes(&"🦀".repeat(257), None), ["too-long"]);
        assert_eq!(codes(&"🦀".repeat(2_000), None), ["too-long"]);
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let found = codes("johndoe\u{7}", None);
        assert!(found.contains(&"too-short"));
        assert!(found.contains(&"control-character"));
        assert!(found.contains(&"contains-login"));
        assert!(found.contains(&"contains-email"));
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        let policy = PasswordPolicy { min_chars: 8 };
        let context = PolicyContext {
            login: "x",
            email: "",
            current: None,
        };
        for common in [
            "password1",
            "PASSWORD1",
            "Password1",
            "qwertyuiop",
            "iloveyou",
        ] {
            assert!(policy.check(common, context).is_err(), "{common}");
        }
    }

    #[test]
    fn the_current_password_is_compared_in_nfkc() {
        let decomposed = "cafe\u{301} au lait sans sucre";
        let composed = "caf\u{e9} au lait sans sucre";
        let current = Password::normalize(decomposed).unwrap();
        assert_eq!(codes(composed, Some(&current)), ["same-as-current"]);
    }

    #[test]
    fn short_identifiers_are_not_searched() {
        let context = PolicyContext {
            login: "jo",
            email: "ab@x.example",
            current: None,
        };
        assert!(
            PasswordPolicy::default()
                .check("a long jolly password abc", context)
                .is_ok()
        );
    }

    #[test]
    fn every_listed_password_is_found_and_nothing_else() {
        let lines: Vec<&str> = LIST.lines().collect();
        assert!(lines.len() > 46_000);
        for line in &lines {
            assert!(is_common(line), "{line:?}");
        }
        for absent in [
            "",
            " ",
            "a perfectly fine passphrase",
            "passwor\u{0}",
            "password0000000000",
            "\u{10ffff}",
        ] {
            assert!(!is_common(absent), "{absent:?}");
        }
        // Between every two neighbours there is a string that is not listed.
        for pair in lines.windows(2).step_by(97) {
            assert!(!is_common(&format!("{}\u{0}", pair[0])));
        }
    }

    /// The list is exactly the `passwords` crate's, in the form [`is_common`] expects. The
    /// crate's own data file is found through `cargo metadata`.
    #[test]
    fn the_list_is_the_passwords_crates_list_normalised() {
        let rustc = std::process::Command::new("rustc")
            .arg("-vV")
            .output()
            .unwrap();
        let host = String::from_utf8(rustc.stdout)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Offline, for this platform only: the packages of other platforms may not be here.
        let metadata = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", &host])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata");
        let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
        let manifest = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "passwords")
            .and_then(|p| p["manifest_path"].as_str())
            .expect("the passwords crate (a dev-dependency)");
        let json = std::path::Path::new(manifest)
            .with_file_name("data")
            .join("common-passwords.json");
        let source: Vec<String> =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(source.len(), 99_838);
        let mut expected: Vec<String> = source
            .iter()
            .map(|entry| nfkc(entry).to_lowercase())
            .filter(|entry| entry.chars().count() >= SHORTEST_MIN_CHARS)
            .collect();
        expected.sort();
        expected.dedup();
        let ours: Vec<&str> = LIST.lines().collect();
        assert_eq!(ours, expected);
        // And the set the binary looks up in is that list.
        let compiled = fst::Set::new(COMMON_PASSWORDS).unwrap();
        let compiled: Vec<String> = compiled.stream().into_strs().unwrap();
        assert_eq!(compiled, expected);
        // And the crate agrees that its own entries are common.
        assert!(
            source
                .iter()
                .step_by(101)
                .all(passwords::analyzer::is_common_password)
        );
    }
}
