//! The authorisation matrix: who may do what to whom, on every authenticated route. Each
//! row is a kind of caller relative to a target user in the customer tenant, each column a
//! route, each cell the status the caller gets, on a fresh user; every 404 is exactly the
//! answer for a user that does not exist. This is the API's access policy in one table.

mod support;

use serde_json::json;
use shared::caller::Scopes;
use shared::{AuthMode, Authenticator, Core, UserId};
use support::{Functions, Route};
use testkit::{Claims, Event, Fixture, Payload};

/// The status each caller gets on each route.
const MATRIX: &str = "
    caller                  GET  status  password  email
    SelfNoScope             200  403     204       200
    SelfWithWrite           200  403     204       200
    ColleagueNoScope        403  403     403       403
    PartnerUserWithWrite    200  200     403       200
    ClientAbove             200  200     204       200
    ClientIn                200  200     403       200
    ClientBeside            404  404     404       404
    ClientBelow             404  404     404       404
    ClientAboveReadOnly     200  403     403       403
    ClientAboveNoScope      403  403     403       403
    NoClaims                401  401     401       401
    ExpiredDevToken         401  401     401       401
";

/// The rows of [`MATRIX`]: who calls, relative to a target user in the customer tenant, and
/// the status it gets on each route, in column order.
fn matrix() -> Vec<(&'static str, [u16; 4])> {
    let rows = MATRIX.lines().map(str::split_whitespace).skip(2);
    rows.map(|mut cells| {
        let caller = cells.next().expect("a caller");
        let statuses: Vec<u16> = cells.map(|c| c.parse().expect("a status")).collect();
        (caller, statuses.try_into().expect("one status per route"))
    })
    .collect()
}

#[tokio::test]
async fn the_authorisation_matrix() {
    const ROUTES: [Route; 4] = [Route::Get, Route::Status, Route::Password, Route::Email];
    let matrix = matrix();
    assert_eq!(matrix.len(), 12, "one row per caller");
    const PASSWORD: &str = "an old and trusted passphrase";
    let mut targets = Vec::new();
    let fixture = Fixture::new().await;
    let functions = Functions::new(fixture.store());
    let dev_functions = {
        let mut dev = Functions::new(fixture.store());
        let mode = AuthMode::Development {
            secret: shared::config::DevSecret::new(testkit::TEST_DEV_SECRET.into())
                .expect("secret"),
        };
        dev.get = get_user::State(Core::new(
            fixture.store().clone(),
            Authenticator::new(&mode),
        ));
        dev.status = set_account_status::State(Core::new(
            fixture.store().clone(),
            Authenticator::new(&mode),
        ));
        dev.password.core = Core::new(fixture.store().clone(), Authenticator::new(&mode));
        dev.email.core = Core::new(fixture.store().clone(), Authenticator::new(&mode));
        dev
    };
    let colleague = fixture.user(&fixture.customer).await;
    let partner_user = fixture.user(&fixture.partner).await;
    let (partner, customer) = (fixture.partner.tenant(), fixture.customer.tenant());
    let (other_partner, sub_customer) = (
        fixture.other_partner.tenant(),
        fixture.sub_customer.tenant(),
    );
    const READ: &str = Scopes::READ;
    const WRITE: &str = Scopes::WRITE;
    let mut failures = Vec::new();
    let mut cells = 0;
    for (caller, statuses) in matrix {
        for (route, expected) in ROUTES.into_iter().zip(statuses) {
            // A fresh target per cell, so that no cell sees another's writes.
            let target = fixture
                .user_with_password(&fixture.customer, PASSWORD)
                .await;
            targets.push(target.id);
            let before = fixture.stored(target.id).await.expect("the target");
            let claims = match caller {
                "SelfNoScope" => Some(Claims::user(target.id, target.tenant_id, "")),
                "SelfWithWrite" => Some(Claims::user(target.id, target.tenant_id, WRITE)),
                "ColleagueNoScope" => Some(Claims::user(colleague.id, colleague.tenant_id, "")),
                "PartnerUserWithWrite" => Some(Claims::user(partner_user.id, partner, WRITE)),
                "ClientAbove" => Some(Claims::client("above", partner, WRITE)),
                "ClientIn" => Some(Claims::client("in", customer, WRITE)),
                "ClientBeside" => Some(Claims::client("beside", other_partner, WRITE)),
                "ClientBelow" => Some(Claims::client("below", sub_customer, WRITE)),
                "ClientAboveReadOnly" => Some(Claims::client("reader", partner, READ)),
                "ClientAboveNoScope" => Some(Claims::client("scopeless", partner, "")),
                "NoClaims" | "ExpiredDevToken" => None,
                other => panic!("no caller {other}"),
            };
            let id = target.id.to_string();
            let self_service = caller.starts_with("Self");
            let mut event = route.event(Payload::V2, &id);
            event = match route {
                Route::Status => event.json(json!({"enabled": false, "version": 1})),
                Route::Password if self_service => event.json(
                    json!({"password": "a brand new passphrase", "current_password": PASSWORD}),
                ),
                Route::Password => event.json(json!({"password": "a brand new passphrase"})),
                Route::Email => {
                    event.json(json!({"contact": {"email": "moved@new.example"}, "version": 1}))
                }
                _ => event,
            };
            if let Some(claims) = &claims {
                event = event.claims(claims);
            }
            let response = if caller == "ExpiredDevToken" {
                let claims = Claims::user(target.id, target.tenant_id, "users:write");
                let token =
                    testkit::mint_dev_token(testkit::TEST_DEV_SECRET.as_bytes(), &claims, -60);
                dev_functions
                    .call(
                        route,
                        &event.header("authorization", &format!("Bearer {token}")),
                    )
                    .await
            } else {
                functions.call(route, &event).await
            };
            cells += 1;
            // A refused request changed nothing: the whole item, hash, attempt log, pending
            // change and credentials_changed_at included.
            if !response.status().is_success()
                && fixture.stored(target.id).await.expect("the target") != before
            {
                failures.push(format!(
                    "{caller} × {route:?}: refused, but the item changed"
                ));
            }
            if response.status().as_u16() != expected {
                failures.push(format!(
                    "{caller} × {route:?}: expected {expected}, got {} {}",
                    response.status(),
                    String::from_utf8_lossy(response.body().as_ref())
                ));
            }
            if expected == 404 {
                // Indistinguishable from a user that does not exist.
                let missing = UserId::new_random().to_string();
                let twin = Event::new(
                    Payload::V2,
                    route.method_and_path().0,
                    route.method_and_path().1,
                )
                .user_id(&missing);
                let twin = match route {
                    Route::Status => twin.json(json!({"enabled": false, "version": 1})),
                    Route::Password => twin.json(json!({"password": "a brand new passphrase"})),
                    Route::Email => {
                        twin.json(json!({"contact": {"email": "moved@new.example"}, "version": 1}))
                    }
                    _ => twin,
                };
                let twin = functions
                    .call(route, &twin.claims(claims.as_ref().expect("claims")))
                    .await;
                testkit::assert_looks_missing(&response, &twin);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, 48);
    // Every secret the cells produced (passwords, hashes, tokens) was registered where it
    // was made; the fixture checks the logs for them when dropped.
}
