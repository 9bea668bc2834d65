//! Property tests: the parsers, the password policy and the claim reader take any input
//! without panicking, and what they accept satisfies their rules.

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use shared::email::EmailAddress;
use shared::password::{PasswordPolicy, PolicyContext};
use shared::testing::{Event, Payload, TEST_DEV_SECRET};
use shared::token::ConfirmationToken;
use shared::{ApiError, AuthMode, Authenticator, UserId};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StatusBody {
    enabled: bool,
    version: shared::Version,
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
    fn the_password_policy_takes_any_text(raw in any::<String>(), login in "[a-zA-Z]{0,8}") {
        let context = PolicyContext { login: &login, email: "someone@example.com", current: None };
        match PasswordPolicy::default().check(&raw, context) {
            Ok(_) => {
                let normalized: String = raw.nfkc().collect();
                let chars = normalized.chars().count();
                prop_assert!((15..=256).contains(&chars));
                prop_assert!(normalized.len() <= 1024);
                prop_assert!(!normalized.chars().any(char::is_control));
            }
            Err(ApiError::PasswordPolicy { errors }) => prop_assert!(!errors.is_empty()),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
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
