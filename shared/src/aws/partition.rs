//! AWS's partition table, cut to the partition of the function's own region.
//!
//! Every AWS SDK crate parses its own copy of the partition table (a JSON document that
//! names every region, and eight regular expressions) when its first client is built: about
//! 0.6 M instructions per crate, a third of a function's initialisation
//! (docs/performance.md, "The SDK's partition table"). The SDK reads the table instead from
//! the file that `SMITHY_CLIENT_SDK_CUSTOM_PARTITION` names, a setting meant for regions not
//! yet in it. While an [`OwnPartition`] lives, that file holds the one partition of
//! `AWS_REGION`, with the same outputs as the SDK's, so that every client resolves the
//! endpoint it would have resolved (tests/partition.rs compares them, service by service,
//! for a region of every partition).

use std::io::Write;
use std::path::PathBuf;

use crate::config::AwsRegion;

/// The SDK's variable naming a custom partition table.
pub const CUSTOM_PARTITION: &str = "SMITHY_CLIENT_SDK_CUSTOM_PARTITION";

/// One partition of the SDK's table: its outputs, and its regions' shape
/// (`^(prefix)\-\w+\-\d+$`, the prefixes as in `regionRegex`).
struct Partition {
    id: &'static str,
    dns_suffix: &'static str,
    dual_stack_dns_suffix: &'static str,
    implicit_global_region: &'static str,
    prefixes: &'static [&'static str],
    region_regex: &'static str,
}

/// The SDK's partitions (aws-sdk-dynamodb 1.136, the same in every SDK crate it links), all
/// supporting FIPS and dual stack. The regions each lists by name all match its expression,
/// but for pseudo-regions such as `aws-global`, which are left to the SDK's own table.
const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        implicit_global_region: "us-east-1",
        prefixes: &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
        region_regex: r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$",
    },
    Partition {
        id: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        implicit_global_region: "cn-northwest-1",
        prefixes: &["cn"],
        region_regex: r"^cn\-\w+\-\d+$",
    },
    Partition {
        id: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        implicit_global_region: "eusc-de-east-1",
        prefixes: &["eusc-de"],
        region_regex: r"^eusc\-(de)\-\w+\-\d+$",
    },
    Partition {
        id: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        implicit_global_region: "us-iso-east-1",
        prefixes: &["us-iso"],
        region_regex: r"^us\-iso\-\w+\-\d+$",
    },
    Partition {
        id: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        implicit_global_region: "us-isob-east-1",
        prefixes: &["us-isob"],
        region_regex: r"^us\-isob\-\w+\-\d+$",
    },
    Partition {
        id: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        implicit_global_region: "eu-isoe-west-1",
        prefixes: &["eu-isoe"],
        region_regex: r"^eu\-isoe\-\w+\-\d+$",
    },
    Partition {
        id: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        implicit_global_region: "us-isof-south-1",
        prefixes: &["us-isof"],
        region_regex: r"^us\-isof\-\w+\-\d+$",
    },
    Partition {
        id: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        implicit_global_region: "us-gov-west-1",
        prefixes: &["us-gov"],
        region_regex: r"^us\-gov\-\w+\-\d+$",
    },
];

impl Partition {
    /// Whether `region` matches [`Self::region_regex`]: a prefix, then `-word-digits`.
    fn contains(&self, region: &str) -> bool {
        let word =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        self.prefixes.iter().any(|prefix| {
            region
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|rest| rest.split_once('-'))
                .is_some_and(|(name, number)| word(name) && digits(number))
        })
    }
}

/// The partition table holding only `region`'s partition, as the SDK reads it; `None` for
/// a region of no partition's shape (the SDK's own table then decides).
pub fn document(region: &str) -> Option<String> {
    let partition = PARTITIONS.iter().find(|p| p.contains(region))?;
    let document = serde_json::json!({
        "partitions": [{
            "id": partition.id,
            "outputs": {
                "dnsSuffix": partition.dns_suffix,
                "dualStackDnsSuffix": partition.dual_stack_dns_suffix,
                "implicitGlobalRegion": partition.implicit_global_region,
                "name": partition.id,
                "supportsDualStack": true,
                "supportsFIPS": true,
            },
            "regionRegex": partition.region_regex,
            "regions": {},
        }],
        "version": "1.1",
    });
    Some(document.to_string())
}

/// While it lives, the SDK clients built read [`document`]'s table; dropped, the variable
/// and the file are gone, and a client built later parses the SDK's own table again.
#[must_use = "the table is in place only while the guard lives"]
pub struct OwnPartition(Option<PathBuf>);

impl OwnPartition {
    /// Writes `region`'s table to a file of this process in the temporary directory and
    /// points [`CUSTOM_PARTITION`] at it. Nothing changes where the variable is already set
    /// (an operator's table), where the region has no known partition, or where the file
    /// cannot be written whole (logged at DEBUG): the SDK's table is then parsed as before.
    ///
    /// # Safety
    ///
    /// It sets, and the guard's drop removes, a variable of the process's environment: no
    /// other thread may exist between this call and the guard's drop (the functions call it
    /// at the start of their cold start, on the current-thread runtime, before anything
    /// runs on Tokio's blocking pool).
    pub unsafe fn install(region: &AwsRegion) -> Self {
        if std::env::var_os(CUSTOM_PARTITION).is_some() {
            return Self(None);
        }
        let Some(document) = document(region.as_str()) else {
            return Self(None);
        };
        let path = std::env::temp_dir().join(format!("aws-partition-{}.json", std::process::id()));
        // A new file only, never one that someone else placed there; a partial file would
        // make the SDK panic, so it is used only if written whole.
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(document.as_bytes()));
        match written {
            Ok(()) => {
                // SAFETY: the caller guarantees that no other thread exists.
                unsafe { std::env::set_var(CUSTOM_PARTITION, &path) };
                Self(Some(path))
            }
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "the SDK's partition table is used");
                let _ = std::fs::remove_file(&path);
                Self(None)
            }
        }
    }
}

impl Drop for OwnPartition {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            // SAFETY: as for `install`, whose caller keeps other threads away until now.
            unsafe { std::env::remove_var(CUSTOM_PARTITION) };
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_find_their_partition() {
        let id = |region: &str| PARTITIONS.iter().find(|p| p.contains(region)).map(|p| p.id);
        for (region, partition) in [
            ("us-east-1", Some("aws")),
            ("ap-southeast-7", Some("aws")),
            ("mx-central-1", Some("aws")),
            ("cn-northwest-1", Some("aws-cn")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("eu-isoe-west-1", Some("aws-iso-e")),
            ("us-isof-south-1", Some("aws-iso-f")),
            ("eusc-de-east-1", Some("aws-eusc")),
            ("aws-global", None),
            ("us-east", None),
            ("us-east-1a", None),
            ("xx-east-1", None),
            ("local", None),
        ] {
            assert_eq!(id(region), partition, "{region}");
        }
        // Exactly one partition for each region of a partition's shape.
        for region in [
            "us-gov-east-1",
            "eu-west-3",
            "eu-isoe-west-1",
            "us-isof-east-1",
        ] {
            assert_eq!(PARTITIONS.iter().filter(|p| p.contains(region)).count(), 1);
        }
    }

    #[test]
    fn the_document_is_the_sdk_format_with_one_partition() {
        let table: serde_json::Value =
            serde_json::from_str(&document("eu-central-2").unwrap()).unwrap();
        assert_eq!(table["version"], "1.1");
        let partitions = table["partitions"].as_array().unwrap();
        assert_eq!(partitions.len(), 1);
        assert_eq!(partitions[0]["id"], "aws");
        assert_eq!(partitions[0]["outputs"]["dnsSuffix"], "amazonaws.com");
        assert_eq!(
            partitions[0]["regionRegex"],
            r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"
        );
        assert_eq!(document("aws-global"), None);
    }
}
