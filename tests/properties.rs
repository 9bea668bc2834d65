//! Property tests: the parsers, the password policy and the claim reader take any input
//! without panicking, and what they accept satisfies their rules.

mod support;

use std::sync::LazyLock;

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use shared::confirmation::ConfirmationToken;
use shared::email::EmailAddress;
use shared::password::{PasswordPolicy, PolicyContext};
use shared::{ApiError, AuthMode, Authenticator, Principal, UserId};
use testkit::{Event, Payload, TEST_DEV_SECRET};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StatusBody {
    enabled: bool,
    version: shared::Version,
}

/// The shared crate's common-password list, read once.
static COMMON_PASSWORDS: LazyLock<String> = LazyLock::new(|| {
    let path = support::workspace_root().join("shared/data/common-passwords.txt");
    std::fs::read_to_string(path).expect("the common-password list")
});

/// The common-password list entries that are long enough to pass every other rule.
fn long_common_passwords() -> Vec<&'static str> {
    COMMON_PASSWORDS
        .lines()
        .filter(|entry| entry.chars().count() >= 15)
        .collect()
}

/// `text` with the case of each letter flipped where `flips` says so.
fn recased(text: &str, flips: &[bool]) -> String {
    text.chars()
        .zip(flips.iter().cycle())
        .map(|(c, &flip)| if flip { c.to_ascii_uppercase() } else { c })
        .collect()
}

fn codes(error: ApiError) -> Vec<&'static str> {
    match error {
        ApiError::PasswordPolicy { errors } => errors.iter().map(|e| e.code).collect(),
        other => panic!("unexpected {other:?}"),
    }
}

fn uuid_or_not() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        any::<String>(),
        "[a-z0-9-]{1,40}",
    ]
}

/// Any text, and text around the policy's bounds, which proptest's default strings (at most
/// 32 characters) never reach: 256 code points, and 1 KiB (four-byte characters reach it at
/// 256, three-byte ones beyond it at 342), in printable Unicode and in ASCII.
fn password_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{240,270}",
        "[a-z0-9 ]{250,262}",
        "[\u{20AC}x]{250,350}",
        "[\u{1F600}a]{250,262}",
    ]
}

fn json_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"\{"enabled": (true|false|"x"|1), "version": (-?[0-9]{1,25}|1\.5|"1"|null)\}"#,
        r#"[\[\{\}\]":,a-z0-9 ]{0,64}"#,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_bodies_never_panic(body in json_like()) {
        match shared::http::parse_json::<StatusBody>(body.as_bytes()) {
            Ok(parsed) => prop_assert!(parsed.version.get() >= 1),
            Err(error) => prop_assert_eq!(error.status(), 400),
        }
    }

    #[test]
    fn the_password_policy_takes_any_text(raw in password_like(), login in "[a-zA-Z]{0,8}") {
        let context = PolicyContext { login: &login, email: "someone@example.com", current: None };
        match PasswordPolicy::default().check(&raw, context) {
            Ok(_) => {
                let normalized = shared::password::nfkc(&raw);
                let chars = normalized.chars().count();
                prop_assert!((15..=256).contains(&chars));
                prop_assert!(normalized.len() <= 1024);
                prop_assert!(!normalized.chars().any(char::is_control));
                let lowered = normalized.to_lowercase();
                prop_assert!(login.len() < 3 || !lowered.contains(&login.to_lowercase()));
                prop_assert!(!lowered.contains("someone"), "the email's local part");
            }
            Err(ApiError::PasswordPolicy { errors }) => prop_assert!(!errors.is_empty()),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn a_password_with_the_login_or_the_email_inside_is_refused(
        prefix in "[a-z0-9 ]{0,12}",
        login in "[a-z]{3,8}",
        suffix in "[a-z0-9 ]{12,20}",
        flips in proptest::collection::vec(any::<bool>(), 1..8),
        in_email in any::<bool>(),
    ) {
        let inside = recased(&login, &flips);
        let raw = format!("{prefix}{inside}{suffix}");
        let email = format!("{login}@example.com");
        let (context, code) = if in_email {
            (PolicyContext { login: "zz", email: &email, current: None }, "contains-email")
        } else {
            (PolicyContext { login: &login, email: "x@example.com", current: None }, "contains-login")
        };
        let refused = PasswordPolicy::default().check(&raw, context).expect_err("refused");
        prop_assert!(codes(refused).contains(&code));
    }

    #[test]
    fn a_common_password_is_refused_in_any_case(
        index in any::<proptest::sample::Index>(),
        flips in proptest::collection::vec(any::<bool>(), 1..16),
    ) {
        let list = long_common_passwords();
        prop_assert!(list.len() > 100, "the list has long entries");
        let raw = recased(list[index.index(list.len())], &flips);
        let context = PolicyContext { login: "zz", email: "x@example.com", current: None };
        let refused = PasswordPolicy::default().check(&raw, context).expect_err("refused");
        prop_assert!(codes(refused).contains(&"common-password"), "{raw:?}");
    }

    #[test]
    fn email_addresses_are_parsed_or_refused(raw in prop_oneof![any::<String>(), "[a-zA-Z0-9.+\r\n -]{0,20}@[a-zA-Z0-9.-]{0,20}"]) {
        if let Ok(email) = EmailAddress::parse(&raw) {
            let text = email.as_str();
            prop_assert!(text.len() <= 254);
            prop_assert!(!text.chars().any(char::is_control));
            let (_, domain) = text.rsplit_once('@').expect("an @");
            prop_assert_eq!(domain.to_lowercase(), domain);
        }
    }

    #[test]
    fn tokens_and_ids_are_parsed_or_refused(raw in any::<String>(), uuid in any::<u128>()) {
        if let Some(token) = ConfirmationToken::parse(&raw) {
            prop_assert_eq!(token.as_str().len(), 43);
        }
        if let Ok(id) = UserId::parse_canonical(&raw) {
            prop_assert_eq!(id.to_string(), raw);
        }
        let id = UserId::from(uuid::Uuid::from_u128(uuid));
        prop_assert_eq!(UserId::parse_canonical(&id.to_string()), Ok(id));
    }

    #[test]
    fn the_claim_reader_takes_any_claims(
        claims in proptest::collection::hash_map("[a-z_]{1,14}", any::<String>(), 0..6),
        sub in any::<String>(),
        tenant in any::<String>(),
        kind in prop_oneof![Just("user".to_owned()), Just("client".to_owned()), any::<String>()],
        number in any::<i64>(),
        good_sub in uuid_or_not(),
        good_tenant in uuid_or_not(),
    ) {
        let api_gateway = Authenticator::new(&AuthMode::ApiGateway);
        let mut all: serde_json::Map<String, Value> = claims.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        all.insert("sub".into(), Value::String(sub));
        all.insert("tenant_id".into(), Value::String(tenant));
        all.insert("principal_type".into(), Value::String(kind));
        for payload in [Payload::V1, Payload::V2] {
            let event = Event::new(payload, "GET", "/users/{user_id}").user_id(UserId::new_random()).raw_claims(Value::Object(all.clone()));
            if let Err(error) = api_gateway.caller(&event.request()) {
                prop_assert_eq!(error.status(), 401);
            }
        }
        // Whatever it accepts is exactly what the claims say: a canonical tenant UUID, a user
        // whose `sub` is its canonical UUID, or a client, and nothing else.
        let mut plausible = all.clone();
        plausible.insert("sub".into(), Value::String(good_sub.clone()));
        plausible.insert("tenant_id".into(), Value::String(good_tenant.clone()));
        for payload in [Payload::V1, Payload::V2] {
            let event = Event::new(payload, "GET", "/users/{user_id}").user_id(UserId::new_random()).raw_claims(Value::Object(plausible.clone()));
            match api_gateway.caller(&event.request()) {
                Ok(caller) => {
                    prop_assert_eq!(caller.tenant_id.to_string(), good_tenant.clone());
                    match &caller.principal {
                        Principal::User(id) => {
                            prop_assert_eq!(all["principal_type"].as_str(), Some("user"));
                            prop_assert_eq!(id.to_string(), good_sub.clone());
                        }
                        Principal::Client(id) => {
                            prop_assert_eq!(all["principal_type"].as_str(), Some("client"));
                            prop_assert_eq!(id.as_str(), good_sub.as_str());
                        }
                    }
                }
                Err(error) => prop_assert_eq!(error.status(), 401),
            }
        }
        // Claims of other JSON types (a Lambda authorizer's context can hold any).
        let mut odd = all.clone();
        odd.insert("tenant_id".into(), Value::from(number));
        let event = Event::new(Payload::V1, "GET", "/users/{user_id}").user_id(UserId::new_random()).raw_claims(Value::Object(odd));
        prop_assert_eq!(api_gateway.caller(&event.request()).map(|_| ()).unwrap_err().status(), 401);
    }

    #[test]
    fn the_development_mode_takes_any_authorization_header(header in "[ -~]{0,200}") {
        let secret = shared::config::DevSecret::new(TEST_DEV_SECRET.into()).expect("secret");
        let development = Authenticator::new(&AuthMode::Development { secret });
        let event = Event::new(Payload::V2, "GET", "/users/{user_id}").user_id(UserId::new_random()).header("authorization", &header);
        let error = development.caller(&event.request()).expect_err("no forged header is a caller");
        prop_assert_eq!(error.status(), 401);
    }
}
