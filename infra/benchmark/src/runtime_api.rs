//! A minimal Lambda Runtime API: the part a function's runtime client uses. The function asks
//! for work (`GET /2018-06-01/runtime/invocation/next`), gets an event, and posts its response
//! or error. `replay-events` and `bench` run built binaries under it, and it notes when each
//! poll and each answer arrived, which is what the benchmark times.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http1::read_request;

/// What a function posted back for one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(String),
    Error(String),
}

/// One served invocation: the answer and when it arrived.
pub struct Answer {
    pub outcome: Outcome,
    pub at: Instant,
}

impl Answer {
    /// The `statusCode` of an API Gateway proxy response.
    pub fn status(&self) -> Result<u16, String> {
        match &self.outcome {
            Outcome::Response(body) => serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|response| response["statusCode"].as_u64())
                .and_then(|status| u16::try_from(status).ok())
                .ok_or_else(|| format!("no statusCode in {body}")),
            Outcome::Error(error) => Err(format!("invocation error {error}")),
        }
    }

    /// The whole answer, as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        match &self.outcome {
            Outcome::Response(body) => {
                serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))
            }
            Outcome::Error(error) => Err(format!("invocation error {error}")),
        }
    }

    /// The decoded JSON body of an API Gateway proxy response, if it has one.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        let Outcome::Response(body) = &self.outcome else {
            return None;
        };
        let response: serde_json::Value = serde_json::from_str(body).ok()?;
        serde_json::from_str(response["body"].as_str()?).ok()
    }
}

/// A Runtime API on a free loopback port, for one function process at a time.
pub struct RuntimeApi {
    address: SocketAddr,
    polls: Receiver<Instant>,
    events: Sender<String>,
    answers: Receiver<Answer>,
    stopped: Arc<AtomicBool>,
}

struct Shared {
    polls: Sender<Instant>,
    events: Mutex<Receiver<String>>,
    answers: Sender<Answer>,
}

impl RuntimeApi {
    pub fn start() -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (poll_sender, polls) = mpsc::channel();
        let (events, event_receiver) = mpsc::channel();
        let (answer_sender, answers) = mpsc::channel();
        let shared = Arc::new(Shared {
            polls: poll_sender,
            events: Mutex::new(event_receiver),
            answers: answer_sender,
        });
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = stopped.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                std::thread::spawn(move || serve_connection(stream, &shared));
            }
        });
        Ok(Self {
            address,
            polls,
            events,
            answers,
            stopped,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Waits until the function asks for its next invocation; returns when it asked.
    pub fn next_poll(&self, timeout: Duration) -> Result<Instant, String> {
        self.polls
            .recv_timeout(timeout)
            .map_err(|_| format!("the function did not ask for work within {timeout:?}"))
    }

    /// Hands `event` to the function (which must be polling) and waits for its answer.
    pub fn invoke(&self, event: String, timeout: Duration) -> Result<Answer, String> {
        self.events
            .send(event)
            .map_err(|_| "the Runtime API has stopped".to_owned())?;
        self.answers
            .recv_timeout(timeout)
            .map_err(|_| format!("no answer within {timeout:?}"))
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Wake the accept loop so that it sees the flag and ends.
        self.stopped.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.address);
    }
}

/// Serves the requests of one keep-alive connection.
fn serve_connection(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let at = Instant::now();
        let path = request.path;
        let body = String::from_utf8_lossy(&request.body).into_owned();
        if path.ends_with("/runtime/invocation/next") {
            let _ = shared.polls.send(at);
            // Blocks until the driver hands over an event, or ends with the API.
            let event = match shared.events.lock() {
                Ok(events) => match events.recv() {
                    Ok(event) => event,
                    Err(_) => return,
                },
                Err(_) => return,
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: {}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:local\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\r\n",
                event.len(),
                uuid::Uuid::new_v4(),
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(event.as_bytes());
        } else {
            let outcome = if path.ends_with("/response") {
                Outcome::Response(body)
            } else {
                Outcome::Error(format!("{path}: {body}"))
            };
            let _ = shared.answers.send(Answer { outcome, at });
            let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}");
        }
    }
}

/// A function binary running under a [`RuntimeApi`]; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    /// Just before the exec.
    pub started: Instant,
}

impl FunctionProcess {
    /// Starts `program` (through `runner`, such as `qemu-aarch64`, when not empty) with `env`
    /// and the variables the Lambda service sets.
    pub fn spawn(
        program: &Path,
        runner: &[String],
        env: &[(String, String)],
        function_name: &str,
        memory_mb: u32,
        api: &RuntimeApi,
    ) -> Result<Self, String> {
        let command = Self::command(
            program,
            runner,
            env,
            function_name,
            memory_mb,
            &api.address(),
        );
        Self::run(command, program)
    }

    /// Starts `command`, made by [`command`](Self::command) (and perhaps changed), which runs
    /// `program`.
    pub fn run(mut command: Command, program: &Path) -> Result<Self, String> {
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        Ok(Self { child, started })
    }

    /// The command that [`spawn`](Self::spawn) runs, with the Runtime API at `api_address`
    /// (stdin and stdout closed).
    pub fn command(
        program: &Path,
        runner: &[String],
        env: &[(String, String)],
        function_name: &str,
        memory_mb: u32,
        api_address: &str,
    ) -> Command {
        let mut command = match runner.split_first() {
            Some((runner, args)) => {
                let mut command = Command::new(runner);
                command.args(args).arg(program);
                command
            }
            None => Command::new(program),
        };
        command
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api_address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    /// Kills the process and returns the CPU time (user + system) it used in all, as the
    /// kernel reports it for a reaped child: to the microsecond, where /proc counts 10 ms
    /// ticks. The caller reaps no other child meanwhile.
    pub fn stop(self) -> Result<Duration, String> {
        Ok(self.stop_counted()?.cpu)
    }

    /// As [`Self::stop`], with the page faults the kernel counted for the process too.
    pub fn stop_counted(mut self) -> Result<ReapedUsage, String> {
        let before = ReapedUsage::now()?;
        let _ = self.child.kill();
        self.child.wait().map_err(|e| format!("wait: {e}"))?;
        let after = ReapedUsage::now()?;
        Ok(ReapedUsage {
            cpu: after.cpu.saturating_sub(before.cpu),
            minor_faults: after.minor_faults.saturating_sub(before.minor_faults),
        })
    }

    /// Peak resident set size (`VmHWM`) in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("/proc status: {e}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc status".to_owned())
    }

    /// CPU time (user + system, all threads) used so far, in clock ticks.
    pub fn cpu_ticks(&self) -> Result<u64, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map_err(|e| format!("/proc stat: {e}"))?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // utime and stime are fields 14 and 15 of proc(5); `fields[0]` is field 3.
        let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        match (tick(11), tick(12)) {
            (Some(user), Some(system)) => Ok(user + system),
            _ => Err("malformed /proc stat".to_owned()),
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the kernel has counted for every child this process has reaped
/// (getrusage(RUSAGE_CHILDREN)): a child's own figures are the difference across its reaping,
/// when no other child is reaped meanwhile.
pub struct ReapedUsage {
    /// User + system time.
    pub cpu: Duration,
    /// Page faults served without I/O: pages mapped, copied or zeroed for the process.
    pub minor_faults: u64,
}

impl ReapedUsage {
    /// The totals so far.
    pub fn now() -> Result<Self, String> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes one `rusage` to the pointer, which points to one.
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } != 0 {
            return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: initialised by the successful call above (and zeroed before it).
        let usage = unsafe { usage.assume_init() };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Ok(Self {
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            minor_faults: u64::try_from(usage.ru_minflt)
                .map_err(|_| format!("getrusage: ru_minflt {}", usage.ru_minflt))?,
        })
    }
}
