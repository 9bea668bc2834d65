//! The benchmark's report: Markdown tables, each figure beside its baseline and target.

use std::fmt::Write as _;
use std::time::Duration;

use shared::password::Argon2Config;

use super::argon2::{Argon2Figures, BUILT_HERE, REFERENCES, SHIPPED};
use super::workload::Op;
use super::{
    BASELINE, ColdStart, ColdStarts, FAULT_STARTS, Options, StreamBatch, WarmRun, file_size,
    median, ms, percentile,
};

pub struct Figures {
    /// By binary, the baseline first.
    pub cold: ColdStarts,
    /// The default-runtime hello world, each start beside one of the baseline.
    pub cold_default: Vec<ColdStart>,
    /// By function, with DynamoDB behind the TLS terminator: the connection opened during
    /// init, then by the first request.
    pub cold_tls: ColdStarts,
    pub cold_tls_late: ColdStarts,
    /// By binary, the baseline first: the work from exec to the first poll.
    pub init_work: Vec<InitWork>,
    pub warm: Vec<(Op, Vec<WarmRun>)>,
    pub baseline_warm: Vec<WarmRun>,
    pub stream_batch: StreamBatch,
    pub argon2: Argon2Figures,
    pub sizes: Vec<Size>,
    /// `MemorySize` of each function in template.yaml.
    pub memory: Vec<(String, u32)>,
}

/// One binary's initialisation, from its start until its first poll.
pub struct InitWork {
    pub name: String,
    /// Instructions (callgrind).
    pub instructions: u64,
    /// Minor page faults until the first poll, where the process is stopped (getrusage of
    /// the reaped process), the median of [`FAULT_STARTS`] starts.
    pub page_faults: u64,
}

pub struct Size {
    pub name: String,
    pub host: Option<u64>,
    pub arm64: Option<u64>,
}

/// Targets of issue #7, sizes and cold starts as issue #15 raised them.
const COLD_START_RATIO: f64 = 1.25;
/// Argon2 as shipped against the fastest C built on this machine (issue #29).
const ARGON2_RATIO: f64 = 1.0;
const SIZE_BYTES: u64 = 4_000_000;
/// The stream batch's records per second must be at least this many times
/// [`SERIAL_RECORDS_PER_SECOND`].
const STREAM_RATIO: f64 = 10.0;
/// The stream batch's records per second when account-events made one `PutEvents` call per
/// record, in series: measured by this benchmark on that code ([`SERIAL_MEASURED`]).
const SERIAL_RECORDS_PER_SECOND: f64 = 84.0;
const SERIAL_MEASURED: &str = "a quick run of this benchmark on 2026-12-04, on this section's \
     code with account-events publishing record by record as it did until then: 1,189 ms for \
     the 100 records";
const RSS_KIB: u64 = 32 * 1024;

/// Lambda prices, us-east-1, arm64, first tier (aws.amazon.com/lambda/pricing, 2026-11).
const PRICE_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// At this memory size a function gets one full vCPU; below it a share in proportion.
const FULL_VCPU_MB: f64 = 1769.0;
const MEMORY_SIZES: [u32; 8] = [128, 256, 512, 768, 1024, 1536, 1769, 2048];

pub fn sizes(options: &Options, functions: &[&str]) -> Vec<Size> {
    functions
        .iter()
        .chain([&BASELINE])
        .map(|name| Size {
            name: (*name).to_owned(),
            host: file_size(&options.bin_dir.join(name)),
            arm64: options
                .arm64_dir
                .as_ref()
                .and_then(|dir| file_size(&dir.join(name).join("bootstrap"))),
        })
        .collect()
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// Median of each run's `stat`, then the median over runs.
fn over_runs(runs: &[WarmRun], stat: impl Fn(&WarmRun) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(stat).collect();
    median(&mut values)
}

fn latency_percentile(run: &WarmRun, p: f64) -> f64 {
    let mut values: Vec<f64> = run.latencies.iter().map(|d| ms(*d)).collect();
    percentile(&mut values, p)
}

fn mean_ms(run: &WarmRun) -> f64 {
    run.latencies.iter().map(|d| ms(*d)).sum::<f64>() / run.latencies.len().max(1) as f64
}

/// The request counts of an operation over every invocation: (fewest, most, a sample).
fn request_counts(runs: &[WarmRun]) -> (usize, usize, String) {
    let all = runs.iter().flat_map(|run| run.requests.iter());
    let fewest = all.clone().map(Vec::len).min().unwrap_or(0);
    let most = all.clone().map(Vec::len).max().unwrap_or(0);
    let sample = all
        .clone()
        .max_by_key(|ops| ops.len())
        .map(|ops| ops.join(" + "))
        .unwrap_or_default();
    (fewest, most, sample)
}

/// Lambda's duration at `memory_mb` for an invocation that took `latency_ms` here, of which
/// `cpu_ms` on the CPU: the CPU part stretches by the vCPU share, the waiting does not.
fn modeled_duration_ms(latency_ms: f64, cpu_ms: f64, memory_mb: u32) -> f64 {
    let share = (f64::from(memory_mb) / FULL_VCPU_MB).min(1.0);
    cpu_ms / share + (latency_ms - cpu_ms).max(0.0)
}

/// Dollars per million invocations of `duration_ms` at `memory_mb` (billed per 1 ms).
fn cost_per_million(duration_ms: f64, memory_mb: u32) -> f64 {
    let gb_seconds = f64::from(memory_mb) / 1024.0 * duration_ms.ceil() / 1000.0;
    PRICE_PER_MILLION_REQUESTS + 1e6 * gb_seconds * PRICE_GB_SECOND
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::ARCH)
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The report, and the targets it missed (a missing figure is a missed target).
pub struct Report {
    pub text: String,
    pub missed: Vec<String>,
}

/// The fastest of the C implementations' medians; `None` when there is no usable figure
/// (none measured, or not a positive number), which no comparison may treat as fast.
fn fastest(references: &[f64]) -> Option<f64> {
    references
        .iter()
        .copied()
        .filter(|m| m.is_finite() && *m > 0.0)
        .min_by(f64::total_cmp)
}

/// The fastest C of the Argon2 table, by the implementations' medians; `None` unless a
/// reference built here has a figure: the wheels alone are not the reference.
fn fastest_reference(medians: &[(&str, f64)]) -> Option<f64> {
    let built_here = medians
        .iter()
        .filter(|(name, _)| BUILT_HERE.contains(name))
        .map(|(_, m)| *m)
        .collect::<Vec<_>>();
    fastest(&built_here)?;
    let references = medians
        .iter()
        .filter(|(name, _)| REFERENCES.contains(name))
        .map(|(_, m)| *m)
        .collect::<Vec<_>>();
    fastest(&references)
}

fn argon2_met(ours: f64, fastest_reference: Option<f64>) -> bool {
    fastest_reference.is_some_and(|fastest| ours.is_finite() && ours / fastest <= ARGON2_RATIO)
}

/// What a run says of one target. A quick run does not judge timings (its few rounds are
/// too noisy to mean anything), and a run told not to build the arm64 bootstraps
/// (`BENCH_ARM64=0`) does not judge their sizes; everything else is judged, and a missing
/// figure is missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Met,
    Missed,
    NotJudged(&'static str),
}

impl Verdict {
    fn of(met: bool) -> Self {
        if met { Self::Met } else { Self::Missed }
    }

    /// A timing target's verdict in this run.
    fn timing(options: &Options, met: bool) -> Self {
        if options.quick {
            Self::NotJudged("a quick run does not judge timings")
        } else {
            Self::of(met)
        }
    }

    fn cell(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Missed => "**missed**",
            Self::NotJudged(_) => "not judged",
        }
    }
}

/// A bootstrap that was not built cannot meet its size target.
fn size_met(arm64_bytes: Option<u64>) -> bool {
    arm64_bytes.is_some_and(|bytes| bytes <= SIZE_BYTES)
}

pub fn render(options: &Options, figures: &Figures) -> Report {
    let mut out = String::new();
    let mut summary: Vec<(String, Verdict)> = Vec::new();
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Made by `infra/bench.sh` on {} at commit `{commit}`{}, on {}. Release binaries \
         (the workspace's release profile) run under a Lambda Runtime API served by \
         `benchmark run`, with DynamoDB Local behind a proxy that counts requests. Figures are \
         medians over repeated runs; every ratio compares with a baseline measured in the same \
         run. The machine is x86_64 while Lambda runs the arm64 builds: times are for comparison \
         with their baselines, not predictions of Lambda's.\n",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        },
        machine()
    );

    // 1. Cold start.
    let baseline = &figures.cold[0].1;
    let base_response = median(
        &mut baseline
            .iter()
            .map(|c| ms(c.to_response))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "## 1. Cold start\n\n{} rounds; each round starts every binary once, in turn, and \
         each function once more beside a start of the baseline (before it in one round, \
         after it in the next), each after a pause of 50 ms, in which DynamoDB Local finishes \
         writing the event's data, if any. *To first poll*: from exec until the process asks for work \
         (`GET /2018-06-01/runtime/invocation/next`), i.e. its whole initialisation; its \
         *× baseline* is the median, over the rounds, of the function's time divided by the \
         baseline start's beside it, so that a busy moment of the machine slows both sides \
         of a ratio (the medians of the columns, divided, move with whatever else ran). \
         *To first response*: until it posts the answer to its first event (get user; set \
         status; email change of a user not activated; confirmation of a pending change; \
         administrative password set, which hashes once; for account-events a one-record batch of the stream, a password reset, published to a stand-in of EventBridge's endpoint; for send-notices one queued event, a reset whose notice is mailed through a stand-in of SES's endpoint; for authorize a user's RS256 token, its keys fetched during init from a JWKS served on loopback; for revoke-sessions an account.disabled event, signed out at a stand-in of Cognito's endpoint) — the baseline answers without DynamoDB, so only the first column has \
         a target (≤ {COLD_START_RATIO} × baseline). The functions reach DynamoDB over plain \
         HTTP here and do not open their connection during init \
         (`DYNAMODB_PRECONNECT=false`), so that the first column compares their own \
         initialisation with the baseline's; what opening it adds, and saves, follows. The \
         functions run with their metrics on, as deployed: the EMF collector is installed \
         during init, and the first response writes the cold-start document.\n",
        options.cold_rounds
    );
    let _ = writeln!(
        out,
        "| binary | to first poll, ms | × baseline | to first response, ms | × baseline | target |\n|---|---:|---:|---:|---:|---|"
    );
    for (name, starts) in &figures.cold {
        let poll = median(&mut starts.iter().map(|c| ms(c.to_poll)).collect::<Vec<_>>());
        let response = median(&mut starts.iter().map(|c| ms(c.to_response)).collect::<Vec<_>>());
        let ratio = if name == BASELINE {
            1.0
        } else {
            paired_ratio(starts)
        };
        let target = if name == BASELINE {
            "—".to_owned()
        } else {
            let judged = Verdict::timing(options, cold_start_met(ratio));
            summary.push((
                format!("cold start of {name} ≤ {COLD_START_RATIO} × baseline ({ratio:.2} ×)"),
                judged,
            ));
            judged.cell().to_owned()
        };
        let _ = writeln!(
            out,
            "| {name} | {poll:.2} | {ratio:.2} | {response:.2} | {:.2} | {target} |",
            response / base_response
        );
    }

    let default_poll = median(
        &mut figures
            .cold_default
            .iter()
            .map(|c| ms(c.to_poll))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "\nThe baseline starts a current-thread runtime, as the functions do, and is built as \
         they are (profile and build script). The same hello world on Tokio's default \
         (multi-threaded) runtime, informative only: {default_poll:.2} ms to first poll, \
         {:.2} × the baseline.",
        paired_ratio(&figures.cold_default)
    );

    // 1a. The same initialisation in instructions and page faults.
    let _ = writeln!(
        out,
        "\nThe same initialisations counted in instructions (callgrind, one start each, until \
         the process gives up a first poll that is refused): the work of each, whatever else \
         the machine is doing, though not the kernel's part (exec, system calls, page \
         faults); and in page faults (minor faults, getrusage of the process stopped at its \
         first poll, the median of {FAULT_STARTS} starts): pages of code and data mapped, \
         those the loader relocates copied, the heap's and the stack's zeroed, about half of \
         the kernel's time in a start. Not targets; they show what the times above are made \
         of (docs/performance.md, \"The cold start beyond the baseline: where the time \
         goes\").\n\n\
         | binary | instructions to first poll | × baseline | page faults to first poll | \
         × baseline |\n|---|---:|---:|---:|---:|"
    );
    let baseline = figures.init_work.first();
    let times = |count: u64, of: Option<u64>| {
        of.filter(|&b| b > 0).map_or_else(
            || "—".to_owned(),
            |b| format!("{:.2}", count as f64 / b as f64),
        )
    };
    for work in &figures.init_work {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            work.name,
            work.instructions,
            times(work.instructions, baseline.map(|b| b.instructions)),
            work.page_faults,
            times(work.page_faults, baseline.map(|b| b.page_faults)),
        );
    }

    // 1b. The first request over TLS.
    let _ = writeln!(
        out,
        "\n### The first request over TLS\n\nIn AWS the first request of a cold start finds \
         no connection to DynamoDB: it opens one, TLS included. Here each function is also \
         started, in the same rounds, with DynamoDB behind a TLS terminator of the benchmark's \
         own (TLS 1.3, X25519, an ECDSA P-256 certificate of a certificate authority made for \
         the run, which only these processes trust, through `TRUSTED_CA_FILE`), twice: as \
         deployed, opening the connection during init (an unsigned `GET /`), and opening it at \
         the first request (`DYNAMODB_PRECONNECT=false`). No DNS lookup: the endpoint is an IP \
         address. *CPU*: the process's user + system time (getrusage of the reaped process), \
         until the first poll (from a second start stopped there) and in the first \
         invocation (until the first response, less that). *Connecting costs the first request*: \
         the first response over TLS opened by the first request, less the plain HTTP one \
         (table above): the handshake. *At 128 MB*: a function gets {:.1} % of a \
         vCPU once initialised, while init runs at full speed, so CPU time the first \
         invocation no longer spends counts {:.1} × there; the first response is modelled \
         shorter by that, less what init takes longer.\n",
        128.0 / FULL_VCPU_MB * 100.0,
        FULL_VCPU_MB / 128.0
    );
    let _ = writeln!(
        out,
        "| binary | connection opened | to first poll, ms | CPU until then, ms | to first response, ms | CPU of the first invocation, ms |\n|---|---|---:|---:|---:|---:|"
    );
    struct Medians {
        poll: f64,
        response: f64,
        init_cpu: f64,
        first_cpu: f64,
    }
    let medians = |starts: &ColdStarts, name: &str| {
        let starts = starts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, starts)| starts.as_slice());
        let of = |f: &dyn Fn(&ColdStart) -> Option<f64>| {
            let mut values: Vec<f64> = starts.iter().filter_map(f).collect();
            if values.is_empty() {
                f64::NAN
            } else {
                median(&mut values)
            }
        };
        let init_cpu = of(&|c| c.init_cpu.map(ms));
        Medians {
            poll: of(&|c| Some(ms(c.to_poll))),
            response: of(&|c| Some(ms(c.to_response))),
            init_cpu,
            first_cpu: of(&|c| Some(ms(c.cpu))) - init_cpu,
        }
    };
    let mut effects = String::new();
    for (name, _) in &figures.cold_tls {
        let at_init = medians(&figures.cold_tls, name);
        let late = medians(&figures.cold_tls_late, name);
        let plain = medians(&figures.cold, name);
        for (label, m) in [("during init", &at_init), ("by the first request", &late)] {
            let _ = writeln!(
                out,
                "| {name} | {label} | {:.2} | {:.2} | {:.2} | {:.2} |",
                m.poll, m.init_cpu, m.response, m.first_cpu
            );
        }
        let moved_cpu = late.first_cpu - at_init.first_cpu;
        let init_longer = at_init.poll - late.poll;
        let _ = writeln!(
            effects,
            "| {name} | {:.2} | {:.2} | {moved_cpu:.2} | {init_longer:.2} | {:.1} |",
            late.response - plain.response,
            late.response - at_init.response,
            moved_cpu * FULL_VCPU_MB / 128.0 - init_longer
        );
    }
    let _ = writeln!(
        out,
        "\n| binary | connecting costs the first request, ms | first response shorter here, ms | CPU moved to init, ms | init longer, ms | at 128 MB, first response shorter by, ms |\n|---|---:|---:|---:|---:|---:|\n{effects}"
    );

    // 2. Warm invocations.
    let _ = writeln!(
        out,
        "\n## 2. Warm invocations and DynamoDB requests\n\n{} fresh processes per operation, \
         each warmed up with 5 invocations, then {} sequential invocations ({} for the password \
         operations). Latency: from handing the event over until the response is posted. \
         p50 and p99 are medians over the processes. *Per second*: one execution environment's \
         rate, 1 / mean latency (Lambda runs one invocation at a time per environment). \
         *CPU*: the process's user + system time per invocation. *Requests*: counted at the \
         proxy for every measured invocation. The authorize rows are REQUEST authorizer events \
         bearing a fresh RS256 token, of a user (whose item it reads) or of an API client.\n",
        options.warm_rounds, options.warm_invocations, options.password_invocations
    );
    let _ = writeln!(
        out,
        "| operation | function | p50 ms | p99 ms | per second | CPU ms | DynamoDB requests | target | |\n|---|---|---:|---:|---:|---:|---|---:|---|"
    );
    let row = |out: &mut String,
               label: &str,
               function: &str,
               runs: &[WarmRun],
               requests: String,
               target: String,
               met: &str| {
        let _ = writeln!(
            out,
            "| {label} | {function} | {:.2} | {:.2} | {:.0} | {:.2} | {requests} | {target} | {met} |",
            over_runs(runs, |r| latency_percentile(r, 50.0)),
            over_runs(runs, |r| latency_percentile(r, 99.0)),
            1000.0 / over_runs(runs, mean_ms),
            over_runs(runs, |r| ms(r.cpu_per_invocation)),
        );
    };
    row(
        &mut out,
        "hello world (baseline)",
        BASELINE,
        &figures.baseline_warm,
        "0".into(),
        "—".into(),
        "",
    );
    for (op, runs) in &figures.warm {
        let (fewest, most, sample) = request_counts(runs);
        // No sample to show of none (a client's authorization).
        let requests = if most == 0 {
            "0".to_owned()
        } else if fewest == most {
            format!("{most} ({sample})")
        } else {
            format!("{fewest}–{most} ({sample})")
        };
        let (target, met) = match op.request_target() {
            Some(target) => {
                let judged = Verdict::of(most <= target);
                summary.push((
                    format!(
                        "{}: ≤ {target} DynamoDB request(s) (counted {most})",
                        op.label()
                    ),
                    judged,
                ));
                (format!("≤ {target}"), judged.cell())
            }
            None => ("—".to_owned(), ""),
        };
        row(
            &mut out,
            op.label(),
            op.function(),
            runs,
            requests,
            target,
            met,
        );
    }
    let _ = writeln!(
        out,
        "\nNo operation looks a tenant up: each user item carries its tenant's ancestry \
         (`tenant_path`), and the subtree check is part of the write's condition, so there is \
         nothing to cache across invocations."
    );

    // 3. Argon2.
    let medians: Vec<(&str, f64, f64, f64)> = figures
        .argon2
        .rows
        .iter()
        .map(|(name, times)| {
            let mut t = times.clone();
            (
                *name,
                median(&mut t),
                percentile(&mut t, 10.0),
                percentile(&mut t, 90.0),
            )
        })
        .collect();
    let fastest_reference = fastest_reference(
        &medians
            .iter()
            .map(|(name, m, ..)| (*name, *m))
            .collect::<Vec<_>>(),
    );
    // What the functions hash with unless configured otherwise, as the hasher was timed.
    let argon2 = Argon2Config::default();
    let count = figures.argon2.rows.first().map_or(0, |(_, t)| t.len());
    let _ = writeln!(
        out,
        "\n## 3. Argon2id, one hash\n\nThe functions' defaults, m = {} KiB, t = {}, p = {}, \
         32-byte output. {} alternating rounds of {} hashes each ({count} per implementation), \
         after one of each as a warm-up. Each figure is the CPU time of one hash call on its \
         thread (`CLOCK_THREAD_CPUTIME_ID`, to the nanosecond), so that waits for a core do \
         not count. Ours as shipped is the `password_hash_cpu_time` metric that the release \
         `change-password` writes for each administrative reset it answers here; the C \
         reference is phc-winner-argon2 (the source in argon2-cffi-bindings) compiled by \
         infra/bench.sh with its optimised code path, `-O3 -march=native` (AVX-512 where the \
         CPU has it) and again without AVX-512. That reference hashes in memory it keeps and \
         does not wipe (`infra/argon2_native.c`), while ours wipes its kept memory after each \
         hash, so the wiping counts against ours; the wheels allocate and wipe theirs. \
         Target: ours as shipped ≤ {ARGON2_RATIO} × the fastest C implementation (no figure \
         of the C built here: missed).\n",
        argon2.memory_kib,
        argon2.iterations,
        argon2.parallelism,
        options.argon2_rounds,
        options.argon2_per_round
    );
    let _ = writeln!(
        out,
        "| implementation | median ms | p10–p90 ms | × fastest C | target |\n|---|---:|---:|---:|---|"
    );
    for (name, m, p10, p90) in &medians {
        let ratio = fastest_reference.map(|fastest| m / fastest);
        let shown = ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}"));
        let target = if *name == SHIPPED {
            let judged = Verdict::timing(options, argon2_met(*m, fastest_reference));
            summary.push((
                format!("Argon2 hash ≤ {ARGON2_RATIO} × fastest C ({shown} ×)"),
                judged,
            ));
            judged.cell()
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {name} | {m:.2} | {p10:.2}–{p90:.2} | {shown} | {target} |"
        );
    }

    // 4. Size and memory.
    let _ = writeln!(
        out,
        "\n## 4. Size and memory\n\n*arm64*: the stripped `bootstrap` of `cargo lambda build \
         --release --arm64 --bin <function>` from the workspace root, SAM's own command, so \
         with the features unified over the workspace's default members, into a \
         `target/lambda` removed before the build (a failed build leaves no bootstrap to \
         measure); *x86_64*: the release binary that was timed. \
         *Peak RSS*: the largest `VmHWM` of the function's processes after their warm runs. \
         Targets: bootstrap ≤ {} (10^6 bytes); peak RSS ≤ 32 MiB, plus the Argon2 blocks \
         (19 MiB) where the function hashes.\n",
        mb(SIZE_BYTES)
    );
    let _ = writeln!(
        out,
        "| binary | arm64 bootstrap | x86_64 binary | size target | peak RSS | RSS target |\n|---|---:|---:|---|---:|---|"
    );
    for size in &figures.sizes {
        let arm64 = size.arm64.map_or_else(|| "not built".to_owned(), mb);
        let size_target = if size.name == BASELINE {
            ""
        } else {
            let judged = if options.arm64_dir.is_none() {
                Verdict::NotJudged("the arm64 bootstraps were not asked for (BENCH_ARM64=0)")
            } else {
                Verdict::of(size_met(size.arm64))
            };
            summary.push((
                format!(
                    "{} arm64 bootstrap ≤ {} ({})",
                    size.name,
                    mb(SIZE_BYTES),
                    size.arm64.map_or_else(|| "not built".to_owned(), mb)
                ),
                judged,
            ));
            judged.cell()
        };
        let runs: Vec<&WarmRun> = if size.name == BASELINE {
            figures.baseline_warm.iter().collect()
        } else {
            figures
                .warm
                .iter()
                .filter(|(op, _)| op.function() == size.name)
                .flat_map(|(_, runs)| runs.iter())
                .collect()
        };
        // No run measured, or none that read its memory: nothing met.
        let peak = runs
            .iter()
            .map(|r| r.peak_rss_kib)
            .max()
            .filter(|&kib| kib > 0);
        let limit = RSS_KIB
            + if size.name == "change-password" {
                19_456
            } else {
                0
            };
        let rss_target = if size.name == BASELINE {
            String::new()
        } else {
            let judged = Verdict::of(peak.is_some_and(|peak| peak <= limit));
            summary.push((
                format!(
                    "{} peak RSS ≤ {:.0} MiB ({})",
                    size.name,
                    limit as f64 / 1024.0,
                    mib(peak)
                ),
                judged,
            ));
            format!("≤ {:.0} MiB: {}", limit as f64 / 1024.0, judged.cell())
        };
        let _ = writeln!(
            out,
            "| {} | {arm64} | {} | {size_target} | {} | {rss_target} |",
            size.name,
            size.host.map_or_else(|| "not built".to_owned(), mb),
            mib(peak)
        );
    }

    // 5. Cost.
    let _ = writeln!(
        out,
        "\n## 5. Cost\n\nLambda arm64 prices (us-east-1): ${PRICE_GB_SECOND} per GB-second, billed \
         per 1 ms, and ${PRICE_PER_MILLION_REQUESTS:.2} per million requests. A function gets \
         one vCPU at {FULL_VCPU_MB:.0} MB and a proportional share below, so the duration at a \
         memory size is modelled from this run as CPU time ÷ share + the rest of the warm p50 \
         (waiting for DynamoDB, which does not stretch). The API Gateway and DynamoDB charges \
         are not included.\n"
    );
    let _ = writeln!(
        out,
        "| operation | memory (template) | modelled duration ms | $ per million |\n|---|---:|---:|---:|"
    );
    let memory_of = |function: &str| {
        figures
            .memory
            .iter()
            .find(|(name, _)| name == function)
            .map_or(128, |(_, m)| *m)
    };
    for (op, runs) in &figures.warm {
        let memory = memory_of(op.function());
        let p50 = over_runs(runs, |r| latency_percentile(r, 50.0));
        let cpu = over_runs(runs, |r| ms(r.cpu_per_invocation));
        let duration = modeled_duration_ms(p50, cpu, memory);
        let _ = writeln!(
            out,
            "| {} | {memory} MB | {duration:.1} | {:.2} |",
            op.label(),
            cost_per_million(duration, memory)
        );
    }
    let _ = writeln!(
        out,
        "\nThe password function at other memory sizes (cost × latency in $ per million × ms; \
         the smallest is marked):\n"
    );
    let _ = writeln!(
        out,
        "| memory | self-service ms | $ per million | cost × latency | administrative ms | $ per million | cost × latency |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    let password_ops: Vec<(f64, f64)> = [Op::PasswordSelf, Op::PasswordAdmin]
        .iter()
        .filter_map(|op| figures.warm.iter().find(|(o, _)| o == op))
        .map(|(_, runs)| {
            (
                over_runs(runs, |r| latency_percentile(r, 50.0)),
                over_runs(runs, |r| ms(r.cpu_per_invocation)),
            )
        })
        .collect();
    let products = |(p50, cpu): (f64, f64)| -> Vec<(f64, f64, f64)> {
        MEMORY_SIZES
            .iter()
            .map(|m| {
                let d = modeled_duration_ms(p50, cpu, *m);
                let c = cost_per_million(d, *m);
                (d, c, c * d)
            })
            .collect()
    };
    let columns: Vec<Vec<(f64, f64, f64)>> = password_ops.iter().map(|p| products(*p)).collect();
    let best: Vec<usize> = columns
        .iter()
        .map(|col| {
            col.iter()
                .enumerate()
                .min_by(|a, b| a.1.2.total_cmp(&b.1.2))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    for (i, memory) in MEMORY_SIZES.iter().enumerate() {
        let mut line = format!("| {memory} MB |");
        for (c, col) in columns.iter().enumerate() {
            let (d, cost, product) = col[i];
            let mark = if best[c] == i { " **← least**" } else { "" };
            let _ = write!(line, " {d:.1} | {cost:.2} | {product:.0}{mark} |");
        }
        let _ = writeln!(out, "{line}");
    }

    // 6. The stream at scale.
    let batch = &figures.stream_batch;
    let mut seconds: Vec<f64> = batch.durations.iter().map(Duration::as_secs_f64).collect();
    let per_second = batch.records as f64 / median(&mut seconds);
    let ratio = per_second / SERIAL_RECORDS_PER_SECOND;
    let judged = Verdict::timing(options, ratio >= STREAM_RATIO);
    summary.push((
        format!(
            "stream batch ≥ {STREAM_RATIO} × one call per record in series ({per_second:.0} records/s, {ratio:.1} ×)"
        ),
        judged,
    ));
    let _ = writeln!(
        out,
        "\n## 6. The stream at scale\n\nA bulk change: one stream batch of {} records, one per \
         user (each a password reset), through a warm account-events that publishes with its \
         EventBridge client to a stand-in answering every `PutEvents` call after {} ms (about \
         AWS's time); rounds: {}; the time from the invocation to the answer. *Before*: \
         {SERIAL_RECORDS_PER_SECOND} records/s, the same batch when every record was one call, \
         in series ({SERIAL_MEASURED}). Target: ≥ {STREAM_RATIO} × that.\n",
        batch.records,
        batch.latency.as_millis(),
        batch.durations.len(),
    );
    let _ = writeln!(
        out,
        "| records | median ms | records/s | × before | target |\n|---:|---:|---:|---:|---|\n| {} | {:.1} | {per_second:.0} | {ratio:.1} | {} |",
        batch.records,
        1000.0 * batch.records as f64 / per_second,
        judged.cell()
    );

    // Summary first would be nicer to read, but it is only known now.
    let _ = writeln!(out, "\n## Targets\n");
    for (what, judged) in &summary {
        let _ = match judged {
            Verdict::Met => writeln!(out, "- met: {what}"),
            Verdict::Missed => writeln!(out, "- MISSED: {what}"),
            Verdict::NotJudged(why) => writeln!(out, "- not judged ({why}): {what}"),
        };
    }
    let missed = summary
        .into_iter()
        .filter(|(_, judged)| *judged == Verdict::Missed)
        .map(|(what, _)| what)
        .collect();
    Report { text: out, missed }
}

/// NaN (no figure) is a miss.
fn cold_start_met(ratio: f64) -> bool {
    ratio <= COLD_START_RATIO
}

/// The median over `starts` of each one's time to first poll divided by the baseline's
/// beside it; NaN (a missed target) when a start has no baseline beside it.
fn paired_ratio(starts: &[ColdStart]) -> f64 {
    let mut ratios: Vec<f64> = starts
        .iter()
        .map(|c| {
            c.baseline_to_poll
                .map_or(f64::NAN, |b| ms(c.to_poll) / ms(b))
        })
        .collect();
    if ratios.iter().any(|r| !r.is_finite()) {
        return f64::NAN;
    }
    median(&mut ratios)
}

/// A peak RSS in KiB as MiB, or "no runs" when none was measured.
fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "no runs".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn start(to_poll_ms: u64, baseline_ms: Option<u64>) -> ColdStart {
        ColdStart {
            to_poll: Duration::from_millis(to_poll_ms),
            to_response: Duration::from_millis(to_poll_ms),
            cpu: Duration::ZERO,
            init_cpu: None,
            baseline_to_poll: baseline_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn the_cold_start_ratio_pairs_each_start_with_the_baseline_beside_it() {
        // A busy moment doubles both sides of the second pair: the ratio stays 1.2.
        let starts = [
            start(12, Some(10)),
            start(24, Some(20)),
            start(13, Some(10)),
        ];
        assert!((paired_ratio(&starts) - 1.2).abs() < 1e-9);
        // A start without its baseline, or a baseline of zero, leaves no ratio: missed.
        assert!(paired_ratio(&[start(12, Some(10)), start(12, None)]).is_nan());
        assert!(paired_ratio(&[start(12, Some(0))]).is_nan());
        assert!(paired_ratio(&[]).is_nan());
        assert!(!cold_start_met(f64::NAN));
        assert!(cold_start_met(COLD_START_RATIO));
        assert!(!cold_start_met(COLD_START_RATIO + 0.01));
    }

    #[test]
    fn a_missing_or_broken_reference_figure_is_a_missed_argon2_target() {
        assert_eq!(fastest(&[]), None);
        assert_eq!(fastest(&[f64::NAN, f64::INFINITY, 0.0]), None);
        assert_eq!(fastest(&[f64::NAN, 19.8, 14.4]), Some(14.4));
        assert!(
            !argon2_met(14.0, fastest(&[])),
            "no C figure: missed, never 0.00 ×"
        );
        assert!(!argon2_met(14.0, fastest(&[f64::NAN])));
        assert!(!argon2_met(f64::NAN, Some(14.0)));
        assert!(argon2_met(14.0, Some(14.0)));
        assert!(!argon2_met(14.1, Some(14.0)));
        // Without a figure of the C built here, the wheels' figures are no reference.
        use super::super::argon2::{LIBARGON2, LIBSODIUM, NATIVE, NATIVE_AVX2};
        assert_eq!(
            fastest_reference(&[
                (NATIVE, f64::NAN),
                (NATIVE_AVX2, f64::NAN),
                (LIBSODIUM, 12.0)
            ]),
            None
        );
        assert_eq!(
            fastest_reference(&[(NATIVE, 15.0), (NATIVE_AVX2, f64::NAN), (LIBARGON2, 14.0)]),
            Some(14.0)
        );
    }

    #[test]
    fn a_quick_run_judges_no_timing_but_everything_else() {
        let mut options = Options::parse(&["--quick", "bin", "out.md"]).unwrap();
        assert_eq!(
            Verdict::timing(&options, false),
            Verdict::NotJudged("a quick run does not judge timings")
        );
        options.quick = false;
        assert_eq!(Verdict::timing(&options, false), Verdict::Missed);
        assert_eq!(Verdict::timing(&options, true), Verdict::Met);
        assert_eq!(
            Verdict::of(false),
            Verdict::Missed,
            "requests, sizes, memory"
        );
    }

    #[test]
    fn a_bootstrap_that_was_not_built_misses_its_size_target() {
        assert!(!size_met(None));
        assert!(size_met(Some(SIZE_BYTES)));
        assert!(!size_met(Some(SIZE_BYTES + 1)));
    }

    #[test]
    fn the_cost_model_stretches_only_the_cpu_time() {
        // A full vCPU and more: as measured.
        assert_eq!(modeled_duration_ms(30.0, 20.0, 1769), 30.0);
        assert_eq!(modeled_duration_ms(30.0, 20.0, 3008), 30.0);
        // A quarter of a vCPU: the CPU part takes four times as long, the waiting does not.
        let quarter = (1769.0_f64 / 4.0) as u32;
        let stretched = modeled_duration_ms(30.0, 20.0, quarter);
        assert!((stretched - 90.0).abs() < 0.1, "{stretched}");
        // 128 MB for 10 ms (billed per ms): requests plus 1e6 × 0.125 GB × 0.010 s.
        let cost = cost_per_million(9.2, 128);
        assert!((cost - (0.20 + 1e6 * 0.125 * 0.010 * PRICE_GB_SECOND)).abs() < 1e-9);
    }
}
