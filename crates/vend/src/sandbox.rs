//! The local AWS sandbox process: `crates/sandbox/front.py` (moto behind our front) from the
//! project's virtualenv, on a loopback port the server picks itself and prints, stopped when
//! dropped. The control calls reach the front's `/_sandbox/` paths.

use serde_json::{Value, json};
use std::io::BufRead as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the sandbox could not start, or a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The virtualenv is missing: `make setup` creates it.
    #[error("no sandbox virtualenv at {0}: run `make setup` (it installs moto into .venv)")]
    NoVirtualenv(PathBuf),
    /// The process could not be started or did not answer.
    #[error("the sandbox did not start: {0}")]
    Start(String),
    /// A control call failed.
    #[error("sandbox control call failed: {0}")]
    Control(String),
}

/// How the sandbox behaves: how long AWS's asynchronous work takes there.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Status polls a new account's creation stays `IN_PROGRESS` for.
    pub account_polls: u32,
    /// Reads a new transit gateway attachment stays `pending` for.
    pub attachment_reads: u32,
    /// EC2 calls a newly created account answers `OptInRequired` to.
    pub ec2_optin_calls: u32,
    /// Where Organizations' CloudTrail events reach EventBridge (the stack's region when the
    /// forwarder of `infra/event-forwarder.yaml` carries them there from us-east-1).
    pub events_region: String,
}

impl Default for SandboxOptions {
    fn default() -> SandboxOptions {
        SandboxOptions {
            account_polls: 2,
            attachment_reads: 1,
            ec2_optin_calls: 1,
            events_region: "eu-west-1".into(),
        }
    }
}

/// A running sandbox; its control calls are those of its `SandboxControl`.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    control: SandboxControl,
}

/// The control calls of a running sandbox, as a handle to share with background tasks.
#[derive(Debug, Clone)]
pub struct SandboxControl {
    port: u16,
}

impl std::ops::Deref for Sandbox {
    type Target = SandboxControl;
    fn deref(&self) -> &SandboxControl {
        &self.control
    }
}

/// The repository root: where `.venv` and `crates/` are.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// A minimal HTTP/1.1 exchange with the front's control paths (loopback only, small bodies).
/// Written by hand so that `vend` needs no HTTP client crate for a handful of control calls.
fn http(port: u16, method: &str, path: &str, body: &str) -> Result<String, SandboxError> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| SandboxError::Control(e.to_string()))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| SandboxError::Control(e.to_string()))?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| SandboxError::Control(e.to_string()))?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .map_err(|e| SandboxError::Control(e.to_string()))?;
    let (head, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(SandboxError::Control(format!(
            "{method} {path}: {} {rest}",
            head.lines().next().unwrap_or_default()
        )));
    }
    Ok(rest.to_owned())
}

impl Sandbox {
    /// Starts the sandbox with these options.
    pub fn start(options: &SandboxOptions) -> Result<Sandbox, SandboxError> {
        let root = repo_root();
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            return Err(SandboxError::NoVirtualenv(root.join(".venv")));
        }
        let mut child = Command::new(python)
            .arg(root.join("crates/sandbox/front.py"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--account-polls", &options.account_polls.to_string()])
            .args(["--attachment-reads", &options.attachment_reads.to_string()])
            .args(["--ec2-optin-calls", &options.ec2_optin_calls.to_string()])
            .args(["--events-region", &options.events_region])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        // The server prints its URL once it listens: no port is chosen here and handed over.
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| SandboxError::Start("no standard output".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                return Err(SandboxError::Start(
                    "it printed no address within 60 s".into(),
                ));
            }
        };
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| {
                let status = child.try_wait().ok().flatten();
                SandboxError::Start(format!(
                    "it printed {line:?} instead of its address (exit status {status:?})"
                ))
            })?;
        let sandbox = Sandbox {
            child,
            control: SandboxControl { port },
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(port, "GET", "/_sandbox/health", "").is_ok() {
                return Ok(sandbox);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(SandboxError::Start(
            "no answer on the health path within 30 s".into(),
        ))
    }

    /// The CPU time the sandbox process has used (all its threads).
    pub fn cpu_time(&self) -> Duration {
        cpu_time_of(&self.child.id().to_string())
    }

    /// A handle on the control calls, for background tasks.
    pub fn control(&self) -> SandboxControl {
        self.control.clone()
    }
}

impl SandboxControl {
    /// The endpoint to give the SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Result<Value, SandboxError> {
        let text = http(self.port, method, path, &body.to_string())?;
        serde_json::from_str(&text).map_err(|e| SandboxError::Control(format!("{path}: {e}")))
    }

    /// Changes settings of the front (`enforceIam`, `accountPolls`, `baselinePolicies`, ...).
    pub fn configure(&self, settings: &Value) -> Result<(), SandboxError> {
        self.call("POST", "/_sandbox/config", settings).map(|_| ())
    }

    /// Makes the next `count` calls of `operation` fail with the AWS error `code`, in the
    /// caller's protocol, before the call takes effect.
    pub fn inject_fault(
        &self,
        operation: &str,
        code: &str,
        status: u16,
        count: u32,
    ) -> Result<(), SandboxError> {
        self.inject(
            &json!({"operation": operation, "code": code, "status": status, "count": count}),
        )
    }

    /// Adds a fault as the front takes it: `{"operation", "service", "code", "status",
    /// "count", "message", "after", "reasons"}` (`after`: the call takes effect and its answer
    /// is lost; `reasons`: a transaction's cancellation reasons).
    pub fn inject(&self, fault: &Value) -> Result<(), SandboxError> {
        self.call("POST", "/_sandbox/faults", fault).map(|_| ())
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) -> Result<(), SandboxError> {
        self.call("DELETE", "/_sandbox/faults", &Value::Null)
            .map(|_| ())
    }

    /// Makes the next `count` account creations end FAILED with `reason`
    /// (`CONCURRENT_ACCOUNT_MODIFICATION`, `ACCOUNT_LIMIT_EXCEEDED`).
    pub fn fail_account_creations(&self, reason: &str, count: u32) -> Result<(), SandboxError> {
        self.call(
            "POST",
            "/_sandbox/account-failures",
            &json!({"reason": reason, "count": count}),
        )
        .map(|_| ())
    }

    /// Puts an event as an AWS service does (customers may not use `aws.` sources).
    pub fn put_service_event(
        &self,
        account: &str,
        region: &str,
        event: &Value,
    ) -> Result<(), SandboxError> {
        self.call(
            "POST",
            "/_sandbox/events",
            &json!({
                "account": account,
                "region": region,
                "source": event["source"],
                "detailType": event["detail-type"],
                "detail": event["detail"],
            }),
        )
        .map(|_| ())
    }

    /// Every AWS call answered so far: `{service, operation, status, mutating, root, stream,
    /// seconds}` (`root`: made with the root credentials, not an IAM principal's; `stream`:
    /// `<role>|<service>`, whose calls come in the same order in every run; `seconds`: time
    /// served).
    pub fn calls(&self) -> Result<Vec<Value>, SandboxError> {
        let calls = self.call("GET", "/_sandbox/calls", &Value::Null)?;
        Ok(calls.as_array().cloned().unwrap_or_default())
    }

    /// Makes the caller of the `after`-th call (counting IAM principals' calls from now, or
    /// only those of `stream`: `<role>|<service>`, as the call log names them) die right after
    /// that call takes effect: it gets `SandboxCrash` instead of the answer.
    pub fn arm_crash(&self, after: u64, stream: Option<&str>) -> Result<(), SandboxError> {
        self.call(
            "POST",
            "/_sandbox/crash",
            &json!({"after": after, "stream": stream}),
        )
        .map(|_| ())
    }

    /// The crash's state: `{after, seen, struck}` (`seen`: IAM principals' calls since armed).
    pub fn crash(&self) -> Result<Value, SandboxError> {
        self.call("GET", "/_sandbox/crash", &Value::Null)
    }

    /// The faults injected at random so far, by service and code.
    pub fn chaos_injected(&self) -> Result<Value, SandboxError> {
        self.call("GET", "/_sandbox/chaos", &Value::Null)
            .map(|v| v["injected"].clone())
    }

    /// The account creations in progress and the most there were at once since the start:
    /// `{"inProgress", "mostAtOnce"}`.
    pub fn creations(&self) -> Result<Value, SandboxError> {
        self.call("GET", "/_sandbox/creations", &Value::Null)
    }

    /// Records an execution's history events from index `from` on, for GetExecutionHistory.
    pub fn record_history(
        &self,
        arn: &str,
        from: usize,
        events: &[Value],
    ) -> Result<(), SandboxError> {
        self.call(
            "POST",
            "/_sandbox/executions/history",
            &json!({"executionArn": arn, "from": from, "events": events}),
        )
        .map(|_| ())
    }

    /// Records the end of an execution in the sandbox's Step Functions.
    pub fn close_execution(&self, report: &Value) -> Result<(), SandboxError> {
        self.call("POST", "/_sandbox/executions", report)
            .map(|_| ())
    }
}

/// The CPU time (user and system) of process `pid` (`self` for this one), from
/// `/proc/<pid>/stat`, in the kernel's clock ticks (`getconf CLK_TCK`, 100 on Linux).
pub fn cpu_time_of(pid: &str) -> Duration {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The fields after the command name (which may hold spaces, inside parentheses).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_secs_f64((field(11) + field(12)) / ticks)
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
