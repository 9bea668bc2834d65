//! `shared::aws::partition` changes no endpoint: for every region the SDK's table names,
//! every SDK client the functions build (DynamoDB, SES, EventBridge, Cognito) resolves the
//! same endpoint, with and without FIPS and dual stack, from the one-partition table as from
//! the SDK's own. The SDK reads its table once per process, so each side is a child process
//! of this binary (`--probe sdk|own|canary REGION…`): `sdk` with the SDK's table, `own` after
//! installing the table of its first region as the functions do (and checking that the guard
//! leaves no variable behind), and `canary` with a table whose DNS suffix is changed, which
//! shows that the SDK does read the table the variable names.

use std::collections::BTreeMap;
use std::process::Command;

use aws_smithy_types::Document;
use shared::aws::partition::{CUSTOM_PARTITION, OwnPartition, document};
use shared::config::{AwsRegion, Env};

/// The regions of the SDK's table (aws-sdk-dynamodb 1.136), by partition; its pseudo-regions
/// (`aws-global`, …) are left to the SDK's own table.
const PARTITIONS: &[&[&str]] = &[
    &[
        "us-east-1",
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ],
    &["cn-north-1", "cn-northwest-1"],
    &["eusc-de-east-1"],
    &["us-iso-east-1", "us-iso-west-1"],
    &["us-isob-east-1", "us-isob-west-1"],
    &["eu-isoe-west-1"],
    &["us-isof-east-1", "us-isof-south-1"],
    &["us-gov-east-1", "us-gov-west-1"],
];

/// Endpoints per region: 4 clients × 4 (FIPS, dual stack).
const PER_REGION: usize = 16;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("partition: test");
        return;
    }
    match args.iter().position(|a| a == "--probe") {
        Some(at) => {
            let table = args.get(at + 1).expect("--probe sdk|own|canary REGION…");
            probe(table, &args[at + 2..]);
        }
        None => compare(),
    }
}

fn compare() {
    let run = |table: &str, regions: &[&str], env: Option<&std::path::Path>| {
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command
            .args(["--probe", table])
            .args(regions)
            .env_remove(CUSTOM_PARTITION);
        if let Some(path) = env {
            command.env(CUSTOM_PARTITION, path);
        }
        let output = command.output().expect("child runs");
        assert!(
            output.status.success(),
            "{table} {regions:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let all: Vec<&str> = PARTITIONS.iter().flat_map(|p| p.iter().copied()).collect();
    let sdk = run("sdk", &all, None);
    assert_eq!(sdk.lines().count(), all.len() * PER_REGION);
    // The SDK's answers are endpoints, not errors alike on both sides.
    for (region, url) in [
        ("us-east-1", "https://dynamodb.us-east-1.amazonaws.com"),
        ("cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn"),
        (
            "us-gov-west-1",
            "https://dynamodb.us-gov-west-1.amazonaws.com",
        ),
    ] {
        let line = format!("{region} aws_sdk_dynamodb fips=false dual_stack=false: {url} ");
        assert!(sdk.contains(&line), "{line}");
    }
    for regions in PARTITIONS {
        let own = run("own", regions, None);
        let expected: String = sdk
            .lines()
            .filter(|line| regions.iter().any(|r| line.starts_with(&format!("{r} "))))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(own, expected, "{regions:?}");
        println!("{}: {} endpoints alike", regions[0], own.lines().count());
    }
    // The variable is read: a table with another suffix gives other endpoints.
    let canary = document("us-east-1").expect("a table").replace(
        "\"dnsSuffix\":\"amazonaws.com\"",
        "\"dnsSuffix\":\"canary.invalid\"",
    );
    let path = std::env::temp_dir().join(format!("partition-canary-{}.json", std::process::id()));
    std::fs::write(&path, canary).expect("canary table");
    let changed = run("canary", &["us-east-1"], Some(&path));
    let _ = std::fs::remove_file(&path);
    assert!(
        changed.contains("https://dynamodb.us-east-1.canary.invalid "),
        "{changed}"
    );
    // Pseudo-regions are left to the SDK's own table.
    assert_eq!(document("aws-global"), None);
    println!("partition: ok");
}

/// Prints every endpoint that the four clients resolve for each of `regions`, after
/// installing the first region's table when `table` is `own`.
fn probe(table: &str, regions: &[String]) {
    let guard = (table == "own").then(|| {
        let vars: &[(&str, &str)] = &[("AWS_REGION", &regions[0])];
        let region = AwsRegion::load(&Env::new(&vars)).expect("a region");
        let guard = OwnPartition::install(&region);
        let path = std::env::var(CUSTOM_PARTITION).expect("the table installed");
        assert!(path.starts_with("/proc/self/fd/"), "{path}");
        guard
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut lines = Vec::new();
    for region in regions {
        lines.extend(runtime.block_on(endpoints(region)));
    }
    if let Some(guard) = guard {
        drop(guard);
        assert!(std::env::var_os(CUSTOM_PARTITION).is_none());
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
                    "{region} {} fips={fips} dual_stack={dual_stack}: {resolved}",
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
