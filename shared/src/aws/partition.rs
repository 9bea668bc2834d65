//! AWS's partition table, cut to the partition of the function's own region.
//!
//! Every AWS SDK crate parses its own copy of the partition table (a JSON document that
//! names every region, and eight regular expressions) when its first client is built: about
//! 0.6 M instructions per crate, a third of a function's initialisation
//! (docs/performance.md, "The SDK's partition table, one partition"). The SDK reads the
//! table instead from the file that `SMITHY_CLIENT_SDK_CUSTOM_PARTITION` names, a setting
//! meant for regions not yet in it. While an [`OwnPartition`] lives, that file holds the one
//! partition of `AWS_REGION`, with the same outputs as the SDK's, so that every client
//! resolves the endpoint it would have resolved (tests/partition.rs compares them, service
//! by service, for every region the SDK names).

use std::io::Write;

use crate::config::AwsRegion;

/// The SDK's variable naming a custom partition table.
pub const CUSTOM_PARTITION: &str = "SMITHY_CLIENT_SDK_CUSTOM_PARTITION";

/// One partition of the SDK's table: its outputs, and its regions' shape: one of `prefixes`,
/// then `-word-digits` (the SDK's `regionRegex`, which [`Partition::region_regex`] writes).
struct Partition {
    id: &'static str,
    dns_suffix: &'static str,
    dual_stack_dns_suffix: &'static str,
    implicit_global_region: &'static str,
    prefixes: &'static [&'static str],
}

/// The SDK's partitions (aws-sdk-dynamodb 1.136, the same in every SDK crate it links), all
/// supporting FIPS and dual stack. The regions each lists by name all match its expression,
/// except pseudo-regions such as `aws-global`, which are left to the SDK's own table.
const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        implicit_global_region: "us-east-1",
        prefixes: &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
    },
    Partition {
        id: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        implicit_global_region: "cn-northwest-1",
        prefixes: &["cn"],
    },
    Partition {
        id: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        implicit_global_region: "eusc-de-east-1",
        prefixes: &["eusc-de"],
    },
    Partition {
        id: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        implicit_global_region: "us-iso-east-1",
        prefixes: &["us-iso"],
    },
    Partition {
        id: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        implicit_global_region: "us-isob-east-1",
        prefixes: &["us-isob"],
    },
    Partition {
        id: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        implicit_global_region: "eu-isoe-west-1",
        prefixes: &["eu-isoe"],
    },
    Partition {
        id: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        implicit_global_region: "us-isof-south-1",
        prefixes: &["us-isof"],
    },
    Partition {
        id: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        implicit_global_region: "us-gov-west-1",
        prefixes: &["us-gov"],
    },
];

impl Partition {
    /// The regions' shape as the SDK's table writes it: `^(us|eu|…)\-\w+\-\d+$`.
    fn region_regex(&self) -> String {
        let prefixes: Vec<String> = self
            .prefixes
            .iter()
            .map(|p| p.replace('-', r"\-"))
            .collect();
        format!(r"^({})\-\w+\-\d+$", prefixes.join("|"))
    }

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
            "regionRegex": partition.region_regex(),
            "regions": {},
        }],
        "version": "1.1",
    });
    Some(document.to_string())
}

/// While it lives, the first client of each SDK crate reads [`document`]'s table, which
/// that crate then keeps for the process's life; dropped, the variable is gone (unless a
/// thread has started), and a crate's first client built later parses the SDK's own table.
#[must_use = "the table is in place only while the guard lives"]
pub struct OwnPartition(Option<std::fs::File>);

impl OwnPartition {
    /// Points [`CUSTOM_PARTITION`] at `region`'s table, written to an anonymous file in
    /// memory (`memfd_create`, read back through `/proc/self/fd`): no name in a shared
    /// directory that another process could replace or remove. Nothing changes where the
    /// variable is already set (an operator's table), where the region has no known
    /// partition, where the process has a second thread (setting a variable while another
    /// thread may read the environment is undefined behaviour) or on other systems than
    /// Linux: the SDK's own table is then parsed, as before.
    pub fn install(region: &AwsRegion) -> Self {
        if std::env::var_os(CUSTOM_PARTITION).is_some() || !only_thread() {
            return Self(None);
        }
        let Some(document) = document(region.as_str()) else {
            return Self(None);
        };
        match anonymous_file(document.as_bytes()) {
            Ok(file) => {
                use std::os::fd::AsRawFd;
                let path = format!("/proc/self/fd/{}", file.as_raw_fd());
                // SAFETY: this is the process's only thread (checked above), so nothing
                // reads the environment meanwhile.
                unsafe { std::env::set_var(CUSTOM_PARTITION, path) };
                Self(Some(file))
            }
            Err(error) => {
                tracing::debug!(%error, "the SDK's own partition table is used");
                Self(None)
            }
        }
    }
}

impl Drop for OwnPartition {
    fn drop(&mut self) {
        let Some(file) = self.0.take() else { return };
        if only_thread() {
            // SAFETY: the process's only thread, as in `install`.
            unsafe { std::env::remove_var(CUSTOM_PARTITION) };
        } else {
            // A thread started since: the variable stays, and the file it names stays open
            // for the process's life, so that a client built later still reads a table.
            std::mem::forget(file);
        }
    }
}

/// Whether the process runs one thread (`/proc/self/stat`'s `num_threads`, read into a
/// buffer on the stack); `false` when that cannot be told.
#[cfg(target_os = "linux")]
fn only_thread() -> bool {
    use std::io::Read;
    let mut stat = [0u8; 1024];
    let Ok(read) = std::fs::File::open("/proc/self/stat").and_then(|mut f| f.read(&mut stat))
    else {
        return false;
    };
    // Fields after the command's closing parenthesis: state is the 3rd, num_threads the 20th.
    let stat = &stat[..read];
    stat.iter()
        .rposition(|&b| b == b')')
        .and_then(|end| stat.get(end + 1..))
        .and_then(|rest| rest.split(|b| *b == b' ').filter(|f| !f.is_empty()).nth(17))
        .is_some_and(|threads| threads == b"1")
}

#[cfg(not(target_os = "linux"))]
fn only_thread() -> bool {
    false
}

/// A file in memory holding `bytes`, closed on exec.
#[cfg(target_os = "linux")]
fn anonymous_file(bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // The system call rather than glibc's wrapper, which older glibc versions (those that
    // cargo-lambda may link against) lack.
    // SAFETY: a NUL-terminated name and valid flags; the result is checked below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_memfd_create,
            c"aws-partition".as_ptr(),
            libc::MFD_CLOEXEC,
        )
    };
    let fd = i32::try_from(fd).map_err(|_| std::io::Error::other("descriptor out of range"))?;
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened here and is owned by nothing else.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    Ok(file)
}

#[cfg(not(target_os = "linux"))]
fn anonymous_file(_bytes: &[u8]) -> std::io::Result<std::fs::File> {
    Err(std::io::Error::other("Linux only"))
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
    fn a_second_thread_is_seen() {
        // The test harness runs each test on a thread of its own, beside the main thread.
        assert!(!only_thread());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        assert!(!only_thread());
        drop(tx);
        let _ = other.join();
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
