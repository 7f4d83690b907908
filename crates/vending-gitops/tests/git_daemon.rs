//! The git destination against a real repository served on loopback by `git daemon` (from
//! the system's git, which `make setup` installs): first hand-off, re-run, update, a lost
//! race, many writers at once, a stale generation.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vending_domain::StepError;
use vending_domain::TenantId;
use vending_domain::config::GitDestinationConfig;
use vending_domain::ports::{ManifestBundle, ManifestDestination, ManifestFile, Publication};
use vending_gitops::GitRepository;

/// A bare repository served by `git daemon` with pushes enabled; stopped on drop.
struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn git(args: &[&str], dir: &Path) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs (make setup installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        git(&["init", "--bare", "--quiet", "tenants.git"], dir.path());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", dir.path().display()),
                &dir.path().display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "git daemon did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            child,
            url: format!("git://127.0.0.1:{port}/tenants.git"),
            dir,
        }
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("tenants.git")
    }

    fn config(&self) -> GitDestinationConfig {
        GitDestinationConfig {
            url: self.url.clone(),
            branch: "main".into(),
            directory: String::new(),
            credentials_secret_arn: None,
            author_name: "tenant-vending".into(),
            author_email: "tenant-vending@noreply.invalid".into(),
        }
    }

    /// A writer with a cache of its own, as each Lambda instance has.
    fn writer(&self) -> (GitRepository, tempfile::TempDir) {
        let cache = tempfile::tempdir().expect("cache dir");
        (
            GitRepository::new(self.config(), None, cache.path().join("cache.git")),
            cache,
        )
    }

    fn commits(&self) -> usize {
        let bare = self.bare();
        let out = Command::new("git")
            .args(["rev-list", "--count", "main"])
            .current_dir(&bare)
            .output()
            .expect("git runs");
        if !out.status.success() {
            return 0;
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a count")
    }

    fn show(&self, rev_path: &str) -> String {
        git(&["show", rev_path], &self.bare())
    }

    fn files(&self) -> Vec<String> {
        git(&["ls-tree", "-r", "--name-only", "main"], &self.bare())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn bundle(tenant: &str, generation: u64, quota: u32, with_policies: bool) -> ManifestBundle {
    let dir = format!("tenants/{tenant}");
    let mut manifests = vec![ManifestFile {
        path: format!("{dir}/tenant.yaml"),
        bytes: format!("name: {tenant}\nquota: {quota}\n").into_bytes(),
    }];
    if with_policies {
        manifests.push(ManifestFile {
            path: format!("{dir}/network-policies.yaml"),
            bytes: b"kind: GlobalTenantResource\n".to_vec(),
        });
    }
    ManifestBundle {
        tenant_id: TenantId::parse(tenant).expect("tenant id"),
        generation,
        request_id: format!("req-{tenant}-{generation}"),
        tenant_dir: dir,
        manifests,
        record: ManifestFile {
            path: format!("records/{tenant}.json"),
            bytes: format!("{{\"generation\": {generation}, \"quota\": {quota}}}\n").into_bytes(),
        },
    }
}

fn written(p: &Publication) -> bool {
    matches!(p, Publication::Written { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_commits_once_and_a_rerun_commits_nothing() {
    let daemon = Daemon::start();
    let (writer, _cache) = daemon.writer();
    let first = writer
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect("published");
    assert!(written(&first), "{first:?}");
    assert_eq!(daemon.commits(), 1);
    let message = git(&["log", "-1", "--format=%B", "main"], &daemon.bare());
    assert!(
        message.starts_with("tenant payments: generation 1"),
        "{message}"
    );
    assert!(message.contains("Request-Id: req-payments-1"), "{message}");
    assert!(message.contains("Tenant-Id: payments"), "{message}");
    assert_eq!(
        daemon.show("main:tenants/payments/tenant.yaml"),
        "name: payments\nquota: 5\n"
    );
    assert_eq!(
        daemon.files(),
        [
            "records/payments.json",
            "tenants/payments/network-policies.yaml",
            "tenants/payments/tenant.yaml"
        ]
    );

    // The same bundle again, from the same writer and from a fresh one: nothing to commit.
    let again = writer
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect("re-run");
    assert!(!written(&again), "{again:?}");
    let (fresh, _fresh_cache) = daemon.writer();
    let again = fresh
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect("re-run");
    assert!(!written(&again), "{again:?}");
    assert_eq!(daemon.commits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_commits_once_and_a_stale_generation_is_refused() {
    let daemon = Daemon::start();
    let (writer, _cache) = daemon.writer();
    writer
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect("first");
    let update = writer
        .publish(&bundle("payments", 2, 9, false))
        .await
        .expect("update");
    assert!(written(&update), "{update:?}");
    let again = writer
        .publish(&bundle("payments", 2, 9, false))
        .await
        .expect("update again");
    assert!(!written(&again), "{again:?}");
    assert_eq!(daemon.commits(), 2);
    assert_eq!(
        daemon.show("main:tenants/payments/tenant.yaml"),
        "name: payments\nquota: 9\n"
    );
    // The profile without policies removed the tenant's policy file.
    assert_eq!(
        daemon.files(),
        ["records/payments.json", "tenants/payments/tenant.yaml"]
    );
    let head = git(&["rev-parse", "main"], &daemon.bare());

    let err = writer
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect_err("a lower generation is refused");
    assert!(matches!(err, StepError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("generation 2"), "{err}");
    assert_eq!(
        git(&["rev-parse", "main"], &daemon.bare()),
        head,
        "nothing was pushed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_loses_the_race_rebuilds_on_the_new_head() {
    let daemon = Daemon::start();
    let (other, _other_cache) = daemon.writer();
    other
        .publish(&bundle("analytics", 1, 3, true))
        .await
        .expect("seed the branch");
    // After its first fetch, the writer sees another hand-off land before it pushes.
    let cache = tempfile::tempdir().expect("cache dir");
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (racer, once) = (other.clone(), fired.clone());
    let handle = tokio::runtime::Handle::current();
    let writer = GitRepository::after_fetch(
        daemon.config(),
        None,
        cache.path().join("cache.git"),
        move || {
            if !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let landed = handle
                    .block_on(racer.publish(&bundle("billing", 1, 4, true)))
                    .expect("the other hand-off lands");
                assert!(written(&landed));
            }
        },
    );
    let result = writer
        .publish(&bundle("payments", 1, 5, true))
        .await
        .expect("lands after a retry");
    assert!(written(&result), "{result:?}");
    assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(daemon.commits(), 3, "seed, billing, payments");
    let files = daemon.files();
    for tenant in ["analytics", "billing", "payments"] {
        assert!(
            files.contains(&format!("records/{tenant}.json")),
            "{files:?}"
        );
        assert!(
            files.contains(&format!("tenants/{tenant}/tenant.yaml")),
            "{files:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_offs_for_different_tenants_at_once_all_land() {
    let daemon = Daemon::start();
    let tenants = ["t-one", "t-two", "t-three", "t-four", "t-five", "t-six"];
    let writers: Vec<_> = tenants.iter().map(|_| daemon.writer()).collect();
    let results = futures::future::join_all(
        writers
            .iter()
            .zip(tenants)
            .map(|((w, _), t)| async move { w.publish(&bundle(t, 1, 2, false)).await }),
    )
    .await;
    for r in &results {
        assert!(written(r.as_ref().expect("every hand-off lands")), "{r:?}");
    }
    assert_eq!(daemon.commits(), tenants.len());
    let files = daemon.files();
    for t in tenants {
        assert!(
            files.contains(&format!("tenants/{t}/tenant.yaml")),
            "{files:?}"
        );
    }
}
