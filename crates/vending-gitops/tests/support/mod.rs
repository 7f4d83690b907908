//! The smart-HTTP git server of the HTTP tests (`git http-backend` behind `http_backend.py`)
//! and what they publish to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use vending_domain::TenantId;
use vending_domain::config::GitDestinationConfig;
use vending_domain::ports::{ManifestBundle, ManifestFile};
use vending_gitops::{GitCredentials, GitRepository};

pub struct Server {
    child: Child,
    pub url: String,
    _root: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves a fresh bare `tenants.git` over HTTP, or HTTPS with `tls` (PEM certificate and key
/// files), accepting only `tenant-vending:s3cret`.
pub fn serve(tls: Option<(&Path, &Path)>) -> Server {
    let root = tempfile::tempdir().expect("temp dir");
    let status = Command::new("git")
        .args(["init", "--bare", "--quiet", "tenants.git"])
        .current_dir(root.path())
        .status()
        .expect("git runs");
    assert!(status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http_backend.py");
    let mut args = vec![
        script.to_owned(),
        root.path().display().to_string(),
        "tenant-vending".to_owned(),
        "s3cret".to_owned(),
    ];
    if let Some((cert, key)) = tls {
        args.extend([cert.display().to_string(), key.display().to_string()]);
    }
    let mut child = Command::new("python3")
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server prints its port");
    Server {
        child,
        url: format!(
            "{}://127.0.0.1:{}/tenants.git",
            if tls.is_some() { "https" } else { "http" },
            line.trim()
        ),
        _root: root,
    }
}

pub fn writer(
    server: &Server,
    credentials: Option<GitCredentials>,
) -> (GitRepository, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("cache");
    let config = GitDestinationConfig {
        url: server.url.clone(),
        branch: "main".into(),
        directory: String::new(),
        credentials_secret_arn: None,
        author_name: "tenant-vending".into(),
        author_email: "tenant-vending@noreply.invalid".into(),
    };
    (
        GitRepository::new(config, credentials, cache.path().join("c.git")),
        cache,
    )
}

pub fn bundle() -> ManifestBundle {
    ManifestBundle {
        tenant_id: TenantId::parse("payments").expect("id"),
        generation: 1,
        request_id: "req-1".into(),
        tenant_dir: "tenants/payments".into(),
        manifests: vec![ManifestFile {
            path: "tenants/payments/tenant.yaml".into(),
            bytes: b"kind: Tenant\n".to_vec(),
        }],
        record: ManifestFile {
            path: "records/payments.json".into(),
            bytes: b"{\"generation\": 1}\n".to_vec(),
        },
    }
}

pub fn password(p: &str) -> Option<GitCredentials> {
    GitCredentials::from_secret(&format!(
        r#"{{"username": "tenant-vending", "password": "{p}"}}"#
    ))
    .ok()
}
