//! `shared::aws::partition` changes no endpoint: for a region of every partition, every SDK
//! client the functions build (DynamoDB, SES, EventBridge, Cognito) resolves the same
//! endpoint, with and without FIPS and dual stack, from the one-partition table as from the
//! SDK's own. The SDK reads its table once per process, so each side is a child process of
//! this binary (`--probe REGION sdk|own`); the `own` child installs the table as the
//! functions do, and checks that the guard leaves neither variable nor file behind.

use std::collections::BTreeMap;
use std::process::Command;

use aws_smithy_types::Document;
use shared::aws::partition::{CUSTOM_PARTITION, OwnPartition, document};
use shared::config::{AwsRegion, Env};

const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-central-2",
    "ap-southeast-7",
    "mx-central-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
    "eusc-de-east-1",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--probe") {
        Some(at) => probe(&args[at + 1], &args[at + 2]),
        None => compare(),
    }
}

fn compare() {
    let run = |region: &str, table: &str| {
        let output = Command::new(std::env::current_exe().expect("own path"))
            .args(["--probe", region, table])
            .env_remove(CUSTOM_PARTITION)
            .output()
            .expect("child runs");
        assert!(
            output.status.success(),
            "{region} {table}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    for region in REGIONS {
        let (sdk, own) = (run(region, "sdk"), run(region, "own"));
        assert_eq!(sdk.lines().count(), 16, "{sdk}");
        assert_eq!(own, sdk, "{region}");
        println!("{region}: 16 endpoints alike");
    }
    // Pseudo-regions are left to the SDK's own table.
    assert_eq!(document("aws-global"), None);
    println!("partition: ok");
}

/// Prints every endpoint that the four clients resolve for `region`, after installing the
/// one-partition table when `table` is `own`.
fn probe(region: &str, table: &str) {
    let guard = (table == "own").then(|| {
        let vars: &[(&str, &str)] = &[("AWS_REGION", region)];
        let region = AwsRegion::load(&Env::new(&vars)).expect("a region");
        // SAFETY: this child process has one thread (the runtime below is not built yet).
        let guard = unsafe { OwnPartition::install(&region) };
        let path = std::env::var_os(CUSTOM_PARTITION).expect("the table installed");
        (guard, path)
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let lines = runtime.block_on(endpoints(region));
    if let Some((guard, path)) = guard {
        drop(guard);
        assert!(std::env::var_os(CUSTOM_PARTITION).is_none());
        assert!(!std::path::Path::new(&path).exists());
    }
    for line in lines {
        println!("{line}");
    }
}

async fn endpoints(region: &str) -> Vec<String> {
    let mut lines = Vec::new();
    macro_rules! resolve {
        ($sdk:ident) => {{
            use $sdk::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            let resolver = DefaultResolver::new();
            for (fips, dual_stack) in [(false, false), (true, false), (false, true), (true, true)] {
                let params = Params::builder()
                    .region(region)
                    .use_fips(fips)
                    .use_dual_stack(dual_stack)
                    .build()
                    .expect("parameters");
                let resolved = match resolver.resolve_endpoint(&params).await {
                    Ok(endpoint) => {
                        let properties: BTreeMap<_, _> = endpoint
                            .properties()
                            .iter()
                            .map(|(k, v)| (k.to_string(), sorted(v)))
                            .collect();
                        format!("{} {properties:?}", endpoint.url())
                    }
                    Err(error) => format!("error: {error}"),
                };
                lines.push(format!(
                    "{} fips={fips} dual_stack={dual_stack}: {resolved}",
                    stringify!($sdk)
                ));
            }
        }};
    }
    resolve!(aws_sdk_dynamodb);
    resolve!(aws_sdk_sesv2);
    resolve!(aws_sdk_eventbridge);
    resolve!(aws_sdk_cognitoidentityprovider);
    lines
}

/// A document with its objects' keys in order, as text (a `HashMap`'s order is per process).
fn sorted(value: &Document) -> String {
    match value {
        Document::Object(map) => {
            let map: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
            format!("{map:?}")
        }
        Document::Array(items) => format!("{:?}", items.iter().map(sorted).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}
