//! `authorize` against DynamoDB Local and a JWKS stand-in serving keys the test makes
//! (testkit::idp): every case of docs/authorizer.md, with the DynamoDB requests each costs.

use std::sync::{Arc, Mutex};

use authorize::{Decision, KeySet, Reason, State};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::{Value, json};
use shared::aws::Https;
use shared::config::TrustRoots;
use shared::now::format_timestamp;
use shared::{Store, User};
use testkit::idp::{Alg, Idp};
use testkit::{Fixture, Reply, StandIn};

const ISSUER: &str = "https://idp.example.com/tenant-a";
const AUDIENCE: &str = "accounts-api";

/// A fixture, an identity provider, its JWKS served by a stand-in (what it serves can be
/// changed, and its requests counted), and an authorizer over them.
struct Scene {
    fixture: Fixture,
    idp: Idp,
    served: Arc<Mutex<String>>,
    jwks: StandIn,
    state: State,
}

impl Scene {
    async fn new() -> Self {
        let fixture = Fixture::new().await;
        let idp = Idp::new(ISSUER, AUDIENCE);
        let served = Arc::new(Mutex::new(idp.jwks().to_string()));
        let document = served.clone();
        let jwks = StandIn::start(move |_| Reply {
            status: "200 OK",
            content_type: "application/json",
            body: document.lock().unwrap().clone(),
        })
        .await;
        let state = authorizer(
            fixture.store().clone(),
            &format!("{}/jwks.json", jwks.endpoint),
        );
        state.keys.load().await;
        fixture.table.counter.reset();
        Self {
            fixture,
            idp,
            served,
            jwks,
            state,
        }
    }

    /// Publishes the provider's current keys.
    fn publish(&self) {
        *self.served.lock().unwrap() = self.idp.jwks().to_string();
    }

    async fn user(&self) -> User {
        let user = self.fixture.user(&self.fixture.customer).await;
        self.fixture.table.counter.reset();
        user
    }

    /// The claims of `user`'s own token, in session `s-1`.
    fn user_claims(&self, user: &User) -> Value {
        let mut claims = self.idp.claims(&user.id.to_string());
        claims["tenant_id"] = json!(user.tenant_id.to_string());
        claims["principal_type"] = json!("user");
        claims["scope"] = json!("users:read users:write");
        claims["sid"] = json!("s-1");
        claims
    }

    fn client_claims(&self) -> Value {
        let mut claims = self.idp.claims("partner-backend");
        claims["tenant_id"] = json!(self.fixture.partner.tenant().to_string());
        claims["principal_type"] = json!("client");
        claims["scope"] = json!("users:read");
        claims
    }

    /// The decision on a request bearing `token`, and the DynamoDB requests it made.
    async fn decide(&self, token: &str) -> (Decision, usize) {
        self.fixture.table.counter.reset();
        let decision =
            authorize::handle(&self.state, &request(Some(&format!("Bearer {token}")))).await;
        (decision, self.fixture.table.counter.get())
    }

    async fn denied(&self, token: &str) -> Reason {
        match self.decide(token).await.0 {
            Decision::Deny(reason) => reason,
            allowed => panic!("expected a deny, got {allowed:?}"),
        }
    }
}

fn authorizer(store: Store, jwks_url: &str) -> State {
    shared::caller::install_jwt_provider();
    let https = Https::new(&TrustRoots::AmazonTrustServices).unwrap();
    State {
        store,
        keys: KeySet::new(jwks_url.to_owned(), https),
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
    }
}

/// An HTTP API's REQUEST authorizer event (payload 2.0), as API Gateway sends it.
fn request(authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    serde_json::from_value(testkit::idp::authorizer_event(authorization))
        .expect("an authorizer event")
}

fn allowed(decision: Decision) -> serde_json::Map<String, Value> {
    match decision {
        Decision::Allow(_, context) => context,
        denied => panic!("expected an allow, got {denied:?}"),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_valid_user_token_is_allowed_after_one_read_and_hands_on_its_claims() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    for alg in [Alg::Rs256, Alg::Es256] {
        let claims = scene.user_claims(&user);
        let (decision, requests) = scene.decide(&scene.idp.token(alg, &claims)).await;
        assert_eq!(requests, 1, "{alg:?}: one GetItem");
        assert_eq!(decision.reason(), Reason::User);
        let context = allowed(decision);
        for name in ["sub", "tenant_id", "scope", "principal_type", "iat", "sid"] {
            assert_eq!(context.get(name), claims.get(name), "{alg:?}: {name}");
        }
        // The context is what the functions read a caller from.
        let handed_on = context.into_iter().collect();
        let caller = shared::Caller::from_claims(&handed_on).unwrap();
        assert!(caller.is_user(user.id));
        // As API Gateway gets it.
        let response = serde_json::to_value(
            scene
                .decide(&scene.idp.token(alg, &claims))
                .await
                .0
                .response(),
        )
        .unwrap();
        assert_eq!(response["isAuthorized"], json!(true));
        assert_eq!(response["context"]["principal_type"], json!("user"));
    }
}

#[tokio::test]
async fn a_client_is_allowed_without_a_read() {
    let scene = Scene::new().await;
    let (decision, requests) = scene
        .decide(&scene.idp.token(Alg::Es256, &scene.client_claims()))
        .await;
    assert_eq!(requests, 0);
    assert_eq!(allowed(decision)["sub"], json!("partner-backend"));
    // An access token without `aud`, for the audience as its `client_id` (Amazon Cognito's).
    let mut claims = scene.client_claims();
    claims.as_object_mut().unwrap().remove("aud");
    claims["client_id"] = json!(AUDIENCE);
    assert_eq!(
        scene
            .decide(&scene.idp.token(Alg::Rs256, &claims))
            .await
            .0
            .reason(),
        Reason::Client
    );
}

#[tokio::test]
async fn times_issuer_and_audience_are_checked_with_a_minute_of_leeway() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    let token = |edit: &dyn Fn(&mut Value)| {
        let mut claims = scene.user_claims(&user);
        edit(&mut claims);
        scene.idp.token(Alg::Rs256, &claims)
    };
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit, Option<Reason>); 8] = [
        (
            "expired 2 minutes ago",
            &|c| c["exp"] = json!(now() - 120),
            Some(Reason::Claims),
        ),
        ("expired 30 s ago", &|c| c["exp"] = json!(now() - 30), None),
        (
            "valid from in 2 minutes",
            &|c| c["nbf"] = json!(now() + 120),
            Some(Reason::Claims),
        ),
        (
            "valid from in 30 s",
            &|c| c["nbf"] = json!(now() + 30),
            None,
        ),
        (
            "no exp",
            &|c| drop(c.as_object_mut().unwrap().remove("exp")),
            Some(Reason::Claims),
        ),
        (
            "another issuer",
            &|c| c["iss"] = json!("https://evil.example.com"),
            Some(Reason::Claims),
        ),
        (
            "another audience",
            &|c| c["aud"] = json!("another-app"),
            Some(Reason::Claims),
        ),
        (
            "no audience",
            &|c| drop(c.as_object_mut().unwrap().remove("aud")),
            Some(Reason::Claims),
        ),
    ];
    for (case, edit, expected) in cases {
        let (decision, _) = scene.decide(&token(edit)).await;
        match expected {
            Some(reason) => assert_eq!(decision, Decision::Deny(reason), "{case}"),
            None => assert_eq!(decision.reason(), Reason::User, "{case}"),
        }
    }
}

#[tokio::test]
async fn forged_tokens_are_refused_before_any_read() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    let claims = scene.user_claims(&user);
    let good = scene.idp.token(Alg::Rs256, &claims);
    // Another provider's key, under this provider's kid: signed over that very header.
    let mut other = Idp::new(ISSUER, AUDIENCE);
    other.rotate();
    let stolen_kid = other.token_with_kid(Alg::Rs256, scene.idp.kid(Alg::Rs256), &claims);
    // The signature of one token on another's claims.
    let (_, good_signature) = good.rsplit_once('.').unwrap();
    let mut richer = claims.clone();
    richer["scope"] = json!("users:write");
    let richer_token = scene.idp.token(Alg::Rs256, &richer);
    let (richer_head, _) = richer_token.rsplit_once('.').unwrap();
    let spliced = format!("{richer_head}.{good_signature}");
    let cases = [
        // `none` is no algorithm of jsonwebtoken's: the header does not even parse.
        ("alg none", scene.idp.unsigned(&claims), Reason::Malformed),
        (
            "HS256 over the public key",
            scene.idp.hs256_with_public_key(&claims),
            Reason::Algorithm,
        ),
        ("another key under this kid", stolen_kid, Reason::Signature),
        (
            "a signature moved to other claims",
            spliced,
            Reason::Signature,
        ),
        ("not a JWT", "not.a-jwt".to_owned(), Reason::Malformed),
    ];
    for (case, token, reason) in cases {
        let (decision, requests) = scene.decide(&token).await;
        assert_eq!(decision, Decision::Deny(reason), "{case}");
        assert_eq!(requests, 0, "{case}: no read");
    }
    // An ES256 header over the RSA key's kid: the key says which algorithm it is for.
    let es_claims = scene.idp.token(Alg::Es256, &claims);
    let (_, es_rest) = es_claims.split_once('.').unwrap();
    let header =
        serde_json::to_vec(&json!({"alg": "ES256", "kid": scene.idp.kid(Alg::Rs256)})).unwrap();
    let confused = format!(
        "{}.{es_rest}",
        <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(&header)
    );
    assert_eq!(scene.denied(&confused).await, Reason::Algorithm);
    // A header extension this verifier does not know (RFC 7515 §4.1.11).
    let (_, rest) = good.split_once('.').unwrap();
    let critical = serde_json::to_vec(
        &json!({"alg": "RS256", "kid": scene.idp.kid(Alg::Rs256), "crit": ["exp-by-moon"]}),
    )
    .unwrap();
    let critical = format!(
        "{}.{rest}",
        <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(&critical)
    );
    assert_eq!(scene.denied(&critical).await, Reason::Malformed);
    // No or another scheme.
    for header in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer "),
        Some(good.as_str()),
    ] {
        let decision = authorize::handle(&scene.state, &request(header)).await;
        assert_eq!(decision, Decision::Deny(Reason::NoToken), "{header:?}");
    }
    assert_eq!(scene.decide(&good).await.0.reason(), Reason::User);
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_once_then_is_denied() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    assert_eq!(scene.jwks.calls(), 1, "loaded once at start");
    let mut stranger = Idp::new(ISSUER, AUDIENCE);
    stranger.rotate();
    let unknown = stranger.token(Alg::Rs256, &scene.user_claims(&user));
    assert_eq!(scene.denied(&unknown).await, Reason::UnknownKey);
    assert_eq!(scene.jwks.calls(), 2, "one fetch for the unknown kid");
    for _ in 0..5 {
        assert_eq!(scene.denied(&unknown).await, Reason::UnknownKey);
    }
    assert_eq!(scene.jwks.calls(), 2, "no more within the minute");
}

#[tokio::test]
async fn rotated_keys_are_fetched_at_their_first_token() {
    let mut scene = Scene::new().await;
    let user = scene.user().await;
    let claims = scene.user_claims(&user);
    let old = scene.idp.token(Alg::Es256, &claims);
    assert_eq!(scene.decide(&old).await.0.reason(), Reason::User);
    scene.idp.rotate();
    scene.publish();
    let new = scene.idp.token(Alg::Es256, &claims);
    assert_eq!(scene.decide(&new).await.0.reason(), Reason::User);
    assert_eq!(scene.jwks.calls(), 2);
    // The old key is no longer published, and no longer trusted.
    assert_eq!(scene.denied(&old).await, Reason::UnknownKey);
}

#[tokio::test]
async fn a_key_set_without_a_usable_key_leaves_the_old_one_in_place() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    let token = scene.idp.token(Alg::Rs256, &scene.user_claims(&user));
    // The provider publishes only a symmetric key (or keys of other algorithms).
    *scene.served.lock().unwrap() =
        json!({"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}).to_string();
    let mut stranger = Idp::new(ISSUER, AUDIENCE);
    stranger.rotate();
    let unknown = stranger.token(Alg::Rs256, &scene.user_claims(&user));
    assert_eq!(scene.denied(&unknown).await, Reason::UnknownKey);
    assert_eq!(scene.jwks.calls(), 2, "fetched for the unknown kid");
    // The keys held before still answer.
    assert_eq!(scene.decide(&token).await.0.reason(), Reason::User);
}

#[tokio::test]
async fn disabled_revoked_and_unknown_users_are_denied_and_the_own_session_passes() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    let token = scene.idp.token(Alg::Rs256, &scene.user_claims(&user));
    let later = format_timestamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(5));

    // Credentials changed after the token was issued: revoked.
    scene
        .fixture
        .set_text(user.id, "credentials_changed_at", &later)
        .await;
    assert_eq!(scene.denied(&token).await, Reason::Revoked);
    // Unless the token's session made the user's own change.
    scene
        .fixture
        .set_text(user.id, "own_change_session", "s-1")
        .await;
    assert_eq!(scene.decide(&token).await.0.reason(), Reason::User);
    // An administrative reset after the token ends that session too.
    scene
        .fixture
        .set_text(user.id, "admin_revoked_at", &later)
        .await;
    assert_eq!(scene.denied(&token).await, Reason::Revoked);

    // A disabled account, with a token issued after the disable.
    let other = scene.user().await;
    scene.fixture.set_enabled_directly(other.id, false).await;
    let mut claims = scene.user_claims(&other);
    claims["iat"] = json!(now());
    let (decision, requests) = scene.decide(&scene.idp.token(Alg::Es256, &claims)).await;
    assert_eq!((decision, requests), (Decision::Deny(Reason::Disabled), 1));

    // A user the table does not have.
    let mut claims = scene.user_claims(&user);
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        scene.denied(&scene.idp.token(Alg::Rs256, &claims)).await,
        Reason::UnknownUser
    );
    // A user's token without `iat`, or with claims no function would accept.
    for claim in ["iat", "tenant_id", "principal_type"] {
        let mut claims = scene.user_claims(&user);
        claims.as_object_mut().unwrap().remove(claim);
        let reason = scene.denied(&scene.idp.token(Alg::Rs256, &claims)).await;
        assert_eq!(reason, Reason::Malformed, "{claim}");
    }
}

#[tokio::test]
async fn it_fails_closed_when_the_keys_or_the_table_cannot_be_read() {
    let scene = Scene::new().await;
    let user = scene.user().await;
    let token = scene.idp.token(Alg::Rs256, &scene.user_claims(&user));

    // A JWKS that answers 503, from the first fetch on.
    let down = StandIn::start(|_| Reply {
        status: "503 Service Unavailable",
        content_type: "text/plain",
        body: "down".into(),
    })
    .await;
    let no_keys = authorizer(
        scene.fixture.store().clone(),
        &format!("{}/jwks", down.endpoint),
    );
    no_keys.keys.load().await;
    let decision = authorize::handle(&no_keys, &request(Some(&format!("Bearer {token}")))).await;
    assert_eq!(decision, Decision::Deny(Reason::KeysUnavailable));
    assert_eq!(down.calls(), 1, "no second attempt within 5 s");
    // Nothing listens here.
    let closed = authorizer(scene.fixture.store().clone(), "http://127.0.0.1:9/jwks");
    let decision = authorize::handle(&closed, &request(Some(&format!("Bearer {token}")))).await;
    assert_eq!(decision, Decision::Deny(Reason::KeysUnavailable));

    // DynamoDB answering 500 to every request.
    let dynamodb = StandIn::start(|_| Reply {
        status: "500 Internal Server Error",
        content_type: "application/x-amz-json-1.0",
        body:
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"down"}"#
                .into(),
    })
    .await;
    let counter = testkit::RequestCounter::default();
    let store = Store::new(testkit::local_client(&dynamodb.endpoint, &counter), "users");
    let no_table = State {
        store,
        ..authorizer(scene.fixture.store().clone(), &scene.state_jwks_url())
    };
    no_table.keys.load().await;
    let decision = authorize::handle(&no_table, &request(Some(&format!("Bearer {token}")))).await;
    assert_eq!(decision, Decision::Deny(Reason::StoreUnavailable));
    assert!(dynamodb.calls() >= 1);
    // A client needs no table.
    let client = scene.idp.token(Alg::Es256, &scene.client_claims());
    let decision = authorize::handle(&no_table, &request(Some(&format!("Bearer {client}")))).await;
    assert_eq!(decision.reason(), Reason::Client);
}

impl Scene {
    fn state_jwks_url(&self) -> String {
        format!("{}/jwks.json", self.jwks.endpoint)
    }
}

#[tokio::test]
async fn the_sam_local_event_file_is_a_request_it_reads() {
    let scene = Scene::new().await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/events/authorizer/request.v2.json"
    );
    let event: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Its token is signed by no provider: its key is nobody's.
    let decision = authorize::handle(&scene.state, &event).await;
    assert_eq!(decision, Decision::Deny(Reason::UnknownKey));
    let response = serde_json::to_value(decision.response()).unwrap();
    assert_eq!(response["isAuthorized"], json!(false));
}
