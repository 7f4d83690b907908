//! The git destination over smart HTTP with basic authentication (`git http-backend` behind
//! a small server of the test's own): the secret's credentials are sent, a remote that
//! refuses them fails the hand-off with a clear error instead of hanging.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use vending_domain::TenantId;
use vending_domain::config::GitDestinationConfig;
use vending_domain::ports::{ManifestBundle, ManifestDestination, ManifestFile, Publication};
use vending_gitops::{GitCredentials, GitRepository};

struct Server {
    child: Child,
    url: String,
    _root: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Server {
    let root = tempfile::tempdir().expect("temp dir");
    let status = Command::new("git")
        .args(["init", "--bare", "--quiet", "tenants.git"])
        .current_dir(root.path())
        .status()
        .expect("git runs");
    assert!(status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http_backend.py");
    let mut child = Command::new("python3")
        .args([
            script,
            &root.path().display().to_string(),
            "tenant-vending",
            "s3cret",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server prints its port");
    Server {
        child,
        url: format!("http://127.0.0.1:{}/tenants.git", line.trim()),
        _root: root,
    }
}

fn writer(
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

fn bundle() -> ManifestBundle {
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

fn password(p: &str) -> Option<GitCredentials> {
    GitCredentials::from_secret(&format!(
        r#"{{"username": "tenant-vending", "password": "{p}"}}"#
    ))
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_credentials_are_sent_and_a_refusal_is_an_error() {
    let server = serve();
    let (good, _c1) = writer(&server, password("s3cret"));
    let landed = good
        .publish(&bundle())
        .await
        .expect("pushed with the credentials");
    assert!(matches!(landed, Publication::Written { .. }), "{landed:?}");
    let again = good.publish(&bundle()).await.expect("re-run");
    assert!(matches!(again, Publication::Unchanged { .. }), "{again:?}");

    // Wrong or missing credentials: a clear error that retrying cannot fix (not Unavailable,
    // which the workflow would retry).
    let (wrong, _c2) = writer(&server, password("guess"));
    let err = wrong.publish(&bundle()).await.expect_err("refused");
    assert_eq!(err.error_type(), "Internal", "{err}");
    assert!(err.to_string().contains("refused the credentials"), "{err}");

    let (none, _c3) = writer(&server, None);
    let err = none.publish(&bundle()).await.expect_err("refused");
    assert_eq!(err.error_type(), "Internal", "{err}");
    assert!(err.to_string().contains("does not provide"), "{err}");
}
