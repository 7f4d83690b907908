//! The local AWS sandbox process: moto behind our front (`sandbox/front.py`), run from the
//! project's virtualenv on a free loopback port, stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the sandbox could not start.
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

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    port: u16,
}

/// The repository root: where `.venv` and `crates/` are.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

fn free_port() -> Result<u16, SandboxError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| SandboxError::Start(format!("no free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| SandboxError::Start(e.to_string()))
}

/// A minimal HTTP/1.1 exchange with the front's control paths (loopback only, tiny bodies).
/// Written by hand so that `vend` needs no HTTP client crate for three control calls.
fn http(port: u16, method: &str, path: &str, body: &str) -> Result<String, SandboxError> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| SandboxError::Control(e.to_string()))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
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
        return Err(SandboxError::Control(
            head.lines().next().unwrap_or_default().to_owned(),
        ));
    }
    Ok(rest.to_owned())
}

impl Sandbox {
    /// Starts the sandbox; `account_polls` is how many status polls a new account stays
    /// IN_PROGRESS for.
    pub fn start(account_polls: u32) -> Result<Sandbox, SandboxError> {
        let root = repo_root();
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            return Err(SandboxError::NoVirtualenv(root.join(".venv")));
        }
        let port = free_port()?;
        let child = Command::new(python)
            .arg(root.join("crates/vend/sandbox/front.py"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--account-polls",
                &account_polls.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        let mut sandbox = Sandbox { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(port, "GET", "/_sandbox/health", "").is_ok() {
                return Ok(sandbox);
            }
            if let Ok(Some(status)) = sandbox.child.try_wait() {
                return Err(SandboxError::Start(format!(
                    "the sandbox process exited with {status}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(SandboxError::Start(
            "no answer on the health path within 30 s".into(),
        ))
    }

    /// The endpoint to give the SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Makes the next `count` calls of `operation` fail with the AWS error `code`.
    pub fn inject_fault(
        &self,
        operation: &str,
        code: &str,
        status: u16,
        count: u32,
    ) -> Result<(), SandboxError> {
        let body = serde_json::json!({"operation": operation, "code": code, "status": status, "count": count}).to_string();
        http(self.port, "POST", "/_sandbox/faults", &body).map(|_| ())
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) -> Result<(), SandboxError> {
        http(self.port, "DELETE", "/_sandbox/faults", "").map(|_| ())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
