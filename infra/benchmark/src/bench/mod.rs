//! `benchmark run`: cold start, warm latency, DynamoDB requests per operation, Argon2 against
//! the C implementations, size, memory and cost (issue #7). Every figure is measured in this
//! run, beside its baseline, and the report says which targets are met.
//!
//! The functions run as built (release binaries) under the Runtime API of
//! [`crate::runtime_api`], with DynamoDB Local behind a [`proxy::CountingProxy`].

mod argon2;
mod proxy;
mod report;
mod tls;
mod workload;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::config::var;
use testkit::local_endpoint;

use crate::runtime_api::{FunctionProcess, ReapedUsage, RuntimeApi};
use proxy::CountingProxy;
use tls::TlsTerminator;
use workload::{Op, Workload};

/// Runs `task` on a thread and a current-thread runtime of its own, until the benchmark
/// ends: the benchmark blocks its own thread while it waits on a function, and what a
/// function talks to (the TLS terminator, the stand-ins of its other services) must answer
/// meanwhile, during init too.
fn on_its_own_runtime(task: impl Future<Output = ()> + Send + 'static) {
    std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            // The stand-ins wait out their latency.
            .enable_time()
            .build()
        {
            runtime.block_on(task);
        }
    });
}

/// The baseline binary: a minimal `lambda_http` hello world (infra/baseline), started as
/// the functions start (current-thread runtime, same profile and build script).
pub const BASELINE: &str = "baseline";
/// The same hello world on Tokio's default runtime: an informative row, never a reference.
pub const BASELINE_DEFAULT: &str = "baseline-default";
const FUNCTIONS: [&str; 9] = [
    "get-user",
    "set-account-status",
    "change-email",
    "confirm-email",
    "change-password",
    "account-events",
    "send-notices",
    "authorize",
    "revoke-sessions",
];
const TIMEOUT: Duration = Duration::from_secs(30);
/// A pause before each cold start, for what ran before it to finish.
const SETTLE: Duration = Duration::from_millis(50);
/// Starts per binary whose page faults are counted (they vary by a few between starts; odd,
/// so that the median is one of them).
const FAULT_STARTS: usize = 5;

/// How much to measure.
pub struct Options {
    /// Release binaries of the functions and of the baseline (`target/release`).
    pub bin_dir: PathBuf,
    /// `cargo lambda build --arm64` output (`target/lambda/<bin>/bootstrap`); `None` when
    /// the run was told not to build it (then sizes are not judged). A build that failed
    /// still names the directory, so its missing bootstraps are missed targets.
    pub arm64_dir: Option<PathBuf>,
    /// Where the Markdown report goes.
    pub out: PathBuf,
    pub cold_rounds: usize,
    pub warm_rounds: usize,
    pub warm_invocations: usize,
    pub password_invocations: usize,
    pub argon2_rounds: usize,
    pub argon2_per_round: usize,
    /// A smoke run: few rounds, and no verdict on timings.
    pub quick: bool,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Self, String> {
        let mut options = Self {
            bin_dir: PathBuf::new(),
            arm64_dir: None,
            out: PathBuf::new(),
            cold_rounds: 31,
            warm_rounds: 3,
            warm_invocations: 300,
            password_invocations: 100,
            argon2_rounds: 5,
            argon2_per_round: 10,
            quick: false,
        };
        let mut positional = Vec::new();
        for arg in args {
            if *arg == "--quick" {
                // A smoke run of the whole benchmark; its figures are not worth reporting.
                options.cold_rounds = 3;
                options.warm_rounds = 1;
                options.warm_invocations = 20;
                options.password_invocations = 5;
                options.argon2_rounds = 1;
                options.argon2_per_round = 3;
                options.quick = true;
            } else {
                positional.push(*arg);
            }
        }
        match positional.as_slice() {
            [bin, out, rest @ ..] if rest.len() <= 1 => {
                options.bin_dir = PathBuf::from(bin);
                options.out = PathBuf::from(out);
                options.arm64_dir = rest.first().map(PathBuf::from);
                Ok(options)
            }
            _ => Err("usage: benchmark run [--quick] <bin-dir> <report.md> [arm64-dir]".into()),
        }
    }
}

/// Per cold start: exec → first poll, and exec → first response.
pub struct ColdStart {
    pub to_poll: Duration,
    pub to_response: Duration,
    /// The process's CPU time until its first response.
    pub cpu: Duration,
    /// Over TLS: the CPU time of its initialisation, from a second start of the same kind
    /// stopped at its first poll.
    pub init_cpu: Option<Duration>,
    /// Over plain HTTP, for a function: the baseline's time to first poll in a start made
    /// right beside this one, which the cold-start target compares with.
    pub baseline_to_poll: Option<Duration>,
}

/// How a function reaches DynamoDB in a cold start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Plain HTTP to the counting proxy, as everywhere else in the benchmark, the connection
    /// opened by the first request: the cold starts then compare the binaries' own
    /// initialisation with the baseline's, which opens no connection.
    Plain,
    /// Through the TLS terminator, the connection opened during init (the default).
    Tls,
    /// Through the TLS terminator, the connection opened by the first request
    /// (`DYNAMODB_PRECONNECT=false`).
    TlsAtFirstRequest,
}

impl Reach {
    const ALL: [Self; 3] = [Self::Plain, Self::Tls, Self::TlsAtFirstRequest];
}

/// The cold starts of each binary.
pub type ColdStarts = Vec<(String, Vec<ColdStart>)>;

/// One warm run of one operation in a fresh process.
pub struct WarmRun {
    pub latencies: Vec<Duration>,
    /// The DynamoDB operations of each measured invocation.
    pub requests: Vec<Vec<String>>,
    pub cpu_per_invocation: Duration,
    pub peak_rss_kib: u64,
}

/// The stream at scale: one batch of [`BATCH_RECORDS`] records over as many users, through
/// a warm account-events whose every `PutEvents` call takes [`BATCH_LATENCY`].
pub struct StreamBatch {
    pub records: usize,
    pub latency: Duration,
    /// Each round's time from the invocation to the answer.
    pub durations: Vec<Duration>,
}

/// A bulk change (an administrator disabling many users at once), as Lambda batches it: the
/// template's `BatchSize` for account-events.
const BATCH_RECORDS: usize = 100;
/// What a `PutEvents` call takes in AWS, about: the stand-in answers each after this.
const BATCH_LATENCY: Duration = Duration::from_millis(10);

struct Bench<'a> {
    options: &'a Options,
    workload: Workload,
    proxy: CountingProxy,
    /// TLS in front of `proxy`, for the cold starts over TLS.
    tls: TlsTerminator,
    /// The run's files (the terminator's certificate authority).
    work_dir: PathBuf,
    clock_ticks_per_second: u64,
    /// account-events' `EVENTBRIDGE_ENDPOINT`: a stand-in of EventBridge (as deployed, the
    /// function publishes with its EventBridge client).
    events_endpoint: String,
}

pub async fn run(options: &Options) -> Result<(), String> {
    let template = crate::template::functions(&crate::template::repository_template()?)?;
    let workload = Workload::new().await?;
    let proxy = CountingProxy::start(&local_endpoint())?;
    let work_dir = std::env::temp_dir().join(format!("bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;
    let tls = TlsTerminator::start(proxy.address(), &work_dir)?;
    let mut bench = Bench {
        options,
        workload,
        proxy,
        tls,
        work_dir,
        clock_ticks_per_second: clock_ticks_per_second(),
        events_endpoint: workload::event_bridge(Duration::ZERO)?,
    };
    for name in FUNCTIONS.iter().chain([&BASELINE, &BASELINE_DEFAULT]) {
        let path = bench.binary(name);
        if !path.is_file() {
            return Err(format!("{} is not built", path.display()));
        }
    }

    eprintln!("cold starts: {} rounds", options.cold_rounds);
    let (cold, cold_tls, cold_tls_late) = bench.cold_starts().await?;
    // Each start of the default-runtime hello world beside a start of the baseline.
    let mut cold_default = Vec::new();
    for _ in 0..options.cold_rounds {
        let beside = bench.baseline_to_poll().await?;
        let mut start = bench
            .cold_start(BASELINE_DEFAULT, Op::Get, Reach::Plain)
            .await?;
        start.baseline_to_poll = Some(beside);
        cold_default.push(start);
    }
    eprintln!("instructions (callgrind) and page faults to first poll");
    let mut init_work = Vec::new();
    for name in [BASELINE, BASELINE_DEFAULT].iter().chain(FUNCTIONS.iter()) {
        init_work.push(report::InitWork {
            name: (*name).to_owned(),
            instructions: bench.init_instructions(name)?,
            page_faults: bench.init_page_faults(name)?,
        });
    }
    eprintln!(
        "warm invocations: {} rounds per operation",
        options.warm_rounds
    );
    let mut warm = Vec::new();
    for op in Op::ALL {
        let runs = bench.warm(op.function(), op).await?;
        warm.push((op, runs));
    }
    let baseline_warm = bench.warm(BASELINE, Op::Get).await?;
    eprintln!("the stream at scale: {BATCH_RECORDS} records over as many users");
    let stream_batch = bench.stream_batch().await?;
    eprintln!("argon2: {} rounds", options.argon2_rounds);
    let argon2 =
        argon2::compare(&mut bench, options.argon2_rounds, options.argon2_per_round).await?;
    let _ = std::fs::remove_dir_all(&bench.work_dir);

    let figures = report::Figures {
        cold,
        cold_default,
        cold_tls,
        cold_tls_late,
        init_work,
        warm,
        baseline_warm,
        stream_batch,
        argon2,
        sizes: report::sizes(options, &FUNCTIONS),
        memory: template
            .iter()
            .map(|f| (f.binary.clone(), f.memory_mb))
            .collect(),
    };
    let report = report::render(options, &figures);
    print!("{}", report.text);
    std::fs::write(&options.out, &report.text)
        .map_err(|e| format!("{}: {e}", options.out.display()))?;
    eprintln!("wrote {}", options.out.display());
    // A missed target fails the run (and infra/bench.sh), whatever else went well.
    outcome(&report.missed)
}

fn outcome(missed: &[String]) -> Result<(), String> {
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} target(s) missed: {}",
            missed.len(),
            missed.join("; ")
        ))
    }
}

impl Bench<'_> {
    fn binary(&self, name: &str) -> PathBuf {
        self.options.bin_dir.join(name)
    }

    /// The environment each function gets in the template (apigateway auth, JSON logs), with
    /// DynamoDB behind the counting proxy (over TLS, with or without opening the connection
    /// during init, as `reach` says), and the other services' clients built as deployed,
    /// each talking to a stand-in: SES (mail), EventBridge, Cognito, and for `authorize` the
    /// workload's identity provider.
    fn env(&self, function: &str, reach: Reach) -> Vec<(String, String)> {
        let endpoint = match reach {
            Reach::Plain => self.proxy.endpoint(),
            Reach::Tls | Reach::TlsAtFirstRequest => self.tls.endpoint(),
        };
        let mut env: Vec<(String, String)> = [
            ("TABLE_NAME", self.workload.table()),
            ("DYNAMODB_ENDPOINT", &endpoint),
            ("AUTH_MODE", "apigateway"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        // As deployed (the SES client built at cold start), SES a stand-in.
        let mail = [
            (var::MAIL_TRANSPORT, "ses"),
            (var::MAIL_SENDER, "no-reply@accounts.example.com"),
            (var::SES_ENDPOINT, self.workload.ses_url()),
        ];
        let extra: Vec<(&str, &str)> = match function {
            "change-email" => [("CONFIRMATION_URL_BASE", "http://127.0.0.1:9000")]
                .into_iter()
                .chain(mail)
                .collect(),
            // As deployed (the EventBridge client built at cold start), EventBridge a stand-in.
            "account-events" => vec![
                (var::EVENTS_TRANSPORT, "eventbridge"),
                (var::EVENT_SOURCE, "platform.accounts"),
                (var::EVENT_BUS_NAME, "accounts-bench"),
                (var::EVENTBRIDGE_ENDPOINT, self.events_endpoint.as_str()),
            ],
            "send-notices" => [
                // Every notice of the run is mailed: the path measured is the send, not the
                // drop over a day's budget.
                ("NOTICE_DAILY_LIMIT", "1000"),
            ]
            .into_iter()
            .chain(mail)
            .collect(),
            // The workload's identity provider, its keys served by a stand-in on loopback
            // (http:// is allowed there), fetched during init.
            "authorize" => vec![
                (var::JWT_ISSUER, self.workload.issuer()),
                (var::JWT_AUDIENCE, self.workload.audience()),
                (var::JWKS_URL, self.workload.jwks_url()),
            ],
            // As deployed (the Cognito client built at cold start), Cognito a stand-in.
            "revoke-sessions" => vec![
                (var::SIGN_OUT_TRANSPORT, "cognito"),
                (var::COGNITO_USER_POOL_ID, "us-east-1_bench"),
                (var::COGNITO_ENDPOINT, self.workload.cognito_url()),
            ],
            _ => Vec::new(),
        };
        env.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        if reach != Reach::Tls {
            env.push(("DYNAMODB_PRECONNECT".to_owned(), "false".to_owned()));
        }
        if reach != Reach::Plain {
            let ca_file = self.tls.ca_file().display().to_string();
            env.push((var::TRUSTED_CA_FILE.to_owned(), ca_file));
        }
        env
    }

    fn spawn(&self, name: &str, api: &RuntimeApi, reach: Reach) -> Result<FunctionProcess, String> {
        FunctionProcess::spawn(
            &self.binary(name),
            &[],
            &self.env(name, reach),
            name,
            128,
            api,
        )
    }

    /// As [`Self::spawn`], plain, with the function's output (its logs and EMF documents)
    /// written to `log`.
    fn spawn_logging(
        &self,
        name: &str,
        api: &RuntimeApi,
        log: std::fs::File,
    ) -> Result<FunctionProcess, String> {
        let program = self.binary(name);
        let mut command = FunctionProcess::command(
            &program,
            &[],
            &self.env(name, Reach::Plain),
            name,
            128,
            &api.address(),
        );
        command.stdout(log);
        // The function's defaults, as every other row of the Argon2 table hashes with.
        for name in [
            var::ARGON2_MEMORY_KIB,
            var::ARGON2_ITERATIONS,
            var::ARGON2_PARALLELISM,
        ] {
            command.env_remove(name);
        }
        FunctionProcess::run(command, &program)
    }

    /// Instructions from exec until `name` gives up its first poll, counted by callgrind:
    /// its initialisation's work, the same whatever else the machine is doing. The Runtime
    /// API's address refuses connections, so the process ends at that poll.
    fn init_instructions(&self, name: &str) -> Result<u64, String> {
        let refused = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("a free port: {e}"))?;
        let out =
            std::env::temp_dir().join(format!("bench-callgrind-{}-{name}.out", std::process::id()));
        let valgrind = [
            "valgrind".to_owned(),
            "--tool=callgrind".to_owned(),
            format!("--callgrind-out-file={}", out.display()),
        ];
        let ran = FunctionProcess::command(
            &self.binary(name),
            &valgrind,
            &self.env(name, Reach::Plain),
            name,
            128,
            &refused.to_string(),
        )
        .stderr(std::process::Stdio::null())
        .status();
        // The process fails its poll, so its exit status says nothing; its counts do.
        ran.map_err(|e| format!("valgrind (is it installed?): {e}"))?;
        let counts = std::fs::read_to_string(&out);
        let _ = std::fs::remove_file(&out);
        let counts = counts.map_err(|e| format!("callgrind of {name}: {e}"))?;
        counts
            .lines()
            .find_map(|line| line.strip_prefix("summary: "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("callgrind of {name}: no instruction count"))
    }

    /// Minor page faults of `name` from its start until its first poll, where it is stopped,
    /// the median of [`FAULT_STARTS`] starts: the kernel's work for a start that callgrind
    /// does not see, besides exec and system calls (pages of code and data mapped, those the
    /// loader relocates copied, the heap's and the stack's zeroed).
    fn init_page_faults(&self, name: &str) -> Result<u64, String> {
        let mut counts = Vec::with_capacity(FAULT_STARTS);
        for _ in 0..FAULT_STARTS {
            counts.push(self.start_to_poll(name, Reach::Plain)?.minor_faults);
        }
        counts.sort_unstable();
        Ok(counts[FAULT_STARTS / 2])
    }

    /// One start of `name`, stopped at its first poll: what the kernel counted for it.
    fn start_to_poll(&self, name: &str, reach: Reach) -> Result<ReapedUsage, String> {
        let api = RuntimeApi::start()?;
        let process = self.spawn(name, &api, reach)?;
        api.next_poll(TIMEOUT)?;
        process.stop_counted()
    }

    /// Rounds of one cold start of each binary, the baseline first, interleaved so that
    /// the machine's moods fall on all of them alike; each function is started twice more
    /// per round with DynamoDB behind the TLS terminator. By [`Reach`], then by binary.
    async fn cold_starts(&mut self) -> Result<(ColdStarts, ColdStarts, ColdStarts), String> {
        let subjects: Vec<(&str, Op)> = [(BASELINE, Op::Get)]
            .into_iter()
            .chain([
                ("get-user", Op::Get),
                ("set-account-status", Op::Status),
                ("change-email", Op::EmailNow),
                ("confirm-email", Op::Confirm),
                ("change-password", Op::PasswordAdmin),
                ("account-events", Op::Events),
                ("send-notices", Op::Notice),
                ("authorize", Op::AuthorizeUser),
                ("revoke-sessions", Op::SignOut),
            ])
            .collect();
        let empty = || -> ColdStarts {
            subjects
                .iter()
                .map(|(name, _)| ((*name).to_owned(), Vec::new()))
                .collect()
        };
        let mut by_reach = [empty(), empty(), empty()];
        for starts in &mut by_reach[1..] {
            starts.remove(0); // the baseline does not reach DynamoDB
        }
        for round in 0..self.options.cold_rounds {
            for (i, (name, op)) in subjects.iter().enumerate() {
                // Which variant goes first turns each round: a binary's first start in a
                // round may find fewer of its pages in memory.
                for k in 0..Reach::ALL.len() {
                    let k = (k + round) % Reach::ALL.len();
                    if i == 0 && k > 0 {
                        continue;
                    }
                    // A function's plain start is paired with a baseline start beside it, so
                    // that what the machine is doing meanwhile slows both; which goes first
                    // turns each round.
                    let paired = i > 0 && k == 0;
                    let before = if paired && round % 2 == 0 {
                        Some(self.baseline_to_poll().await?)
                    } else {
                        None
                    };
                    let mut start = self.cold_start(name, *op, Reach::ALL[k]).await?;
                    if paired {
                        start.baseline_to_poll = Some(match before {
                            Some(before) => before,
                            None => self.baseline_to_poll().await?,
                        });
                    }
                    by_reach[k][if k == 0 { i } else { i - 1 }].1.push(start);
                }
            }
        }
        let [plain, tls, tls_late] = by_reach;
        Ok((plain, tls, tls_late))
    }

    /// The baseline's time to first poll in one start of its own.
    async fn baseline_to_poll(&mut self) -> Result<Duration, String> {
        Ok(self
            .cold_start(BASELINE, Op::Get, Reach::Plain)
            .await?
            .to_poll)
    }

    async fn cold_start(&mut self, name: &str, op: Op, reach: Reach) -> Result<ColdStart, String> {
        let event = self.workload.event(op).await?;
        // Some events are written to DynamoDB Local first (a pending change, a stream
        // record); the JVM goes on working after it answers, on one of this machine's two
        // cores, and would slow the start that follows. It has settled after this.
        tokio::time::sleep(SETTLE).await;
        let api = RuntimeApi::start()?;
        let process = self.spawn(name, &api, reach)?;
        let polled = api.next_poll(TIMEOUT)?;
        let answer = api.invoke(event, TIMEOUT)?;
        self.workload.observe(op, &answer)?;
        let (to_poll, to_response) = (polled - process.started, answer.at - process.started);
        // The process has posted its answer and waits for the next event.
        let cpu = process.stop()?;
        let init_cpu = if reach == Reach::Plain {
            None
        } else {
            Some(self.start_to_poll(name, reach)?.cpu)
        };
        Ok(ColdStart {
            to_poll,
            to_response,
            cpu,
            init_cpu,
            baseline_to_poll: None,
        })
    }

    /// `warm_rounds` fresh processes of `name`, each warmed up, then invoked sequentially.
    async fn warm(&mut self, name: &str, op: Op) -> Result<Vec<WarmRun>, String> {
        let invocations = match op {
            Op::PasswordAdmin | Op::PasswordSelf => self.options.password_invocations,
            _ => self.options.warm_invocations,
        };
        eprintln!("  {name}: {} × {invocations}", op.label());
        let mut runs = Vec::new();
        for _ in 0..self.options.warm_rounds {
            runs.push(self.warm_run(name, op, invocations).await?);
        }
        Ok(runs)
    }

    /// Each round, a warm account-events (its connection to the stand-in opened by a
    /// one-record batch) is handed a batch of [`BATCH_RECORDS`] records, one per user, with
    /// EventBridge answering each call after [`BATCH_LATENCY`].
    async fn stream_batch(&mut self) -> Result<StreamBatch, String> {
        let kept = std::mem::replace(
            &mut self.events_endpoint,
            workload::event_bridge(BATCH_LATENCY)?,
        );
        let mut durations = Vec::new();
        for _ in 0..self.options.warm_rounds {
            let api = RuntimeApi::start()?;
            let _process = self.spawn("account-events", &api, Reach::Plain)?;
            api.next_poll(TIMEOUT)?;
            let warm_up = self.workload.event(Op::Events).await?;
            let answer = api.invoke(warm_up, TIMEOUT)?;
            self.workload.observe(Op::Events, &answer)?;
            api.next_poll(TIMEOUT)?;
            let batch = self.workload.stream_batch(BATCH_RECORDS).await?;
            let sent = Instant::now();
            let answer = api.invoke(batch, TIMEOUT)?;
            durations.push(answer.at - sent);
            self.workload.observe(Op::Events, &answer)?;
        }
        self.events_endpoint = kept;
        Ok(StreamBatch {
            records: BATCH_RECORDS,
            latency: BATCH_LATENCY,
            durations,
        })
    }

    async fn warm_run(
        &mut self,
        name: &str,
        op: Op,
        invocations: usize,
    ) -> Result<WarmRun, String> {
        const WARM_UP: usize = 5;
        let api = RuntimeApi::start()?;
        let process = self.spawn(name, &api, Reach::Plain)?;
        api.next_poll(TIMEOUT)?;
        let mut run = WarmRun {
            latencies: Vec::with_capacity(invocations),
            requests: Vec::with_capacity(invocations),
            cpu_per_invocation: Duration::ZERO,
            peak_rss_kib: 0,
        };
        let mut cpu_start = 0;
        for i in 0..WARM_UP + invocations {
            if i == WARM_UP {
                cpu_start = process.cpu_ticks()?;
            }
            // Preparing the event (a confirmation writes its pending change) is not timed.
            let event = self.workload.event(op).await?;
            self.proxy.take();
            let sent = Instant::now();
            let answer = api.invoke(event, TIMEOUT)?;
            let latency = answer.at - sent;
            let requests = self.proxy.take();
            if name != BASELINE {
                self.workload.observe(op, &answer)?;
            } else if answer.status()? != 200 {
                return Err(format!("the baseline answered {}", answer.status()?));
            }
            api.next_poll(TIMEOUT)?;
            if i >= WARM_UP {
                run.latencies.push(latency);
                run.requests.push(requests);
            }
        }
        let ticks = process.cpu_ticks()? - cpu_start;
        run.cpu_per_invocation = Duration::from_secs_f64(
            ticks as f64 / self.clock_ticks_per_second as f64 / invocations as f64,
        );
        run.peak_rss_kib = process.peak_rss_kib()?;
        Ok(run)
    }
}

/// `getconf CLK_TCK`: the unit of the CPU times in /proc (100 on Linux almost everywhere).
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// Median of `values` (not empty), sorting them.
pub fn median(values: &mut [f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile of `values` (not empty), sorting them.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_target_fails_the_run() {
        assert_eq!(outcome(&[]), Ok(()));
        let failed = outcome(&["change-email arm64 bootstrap ≤ 6 MB (not built)".to_owned()]);
        assert!(failed.unwrap_err().contains("1 target(s) missed"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut values, 50.0), 50.0);
        assert_eq!(percentile(&mut values, 99.0), 99.0);
        assert_eq!(percentile(&mut values, 100.0), 100.0);
        assert_eq!(percentile(&mut values, 0.0), 1.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert!(median(&mut []).is_nan());
    }
}
