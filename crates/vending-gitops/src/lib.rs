//! The git destination of tenant manifests: each hand-off becomes one commit on the
//! configured branch of a remote repository (`https://`, `http://`, `git://` or `file://`).
//!
//! The writer keeps a bare clone as a cache, fetches the branch, builds the new tree from the
//! branch's tree (the tenant's folder replaced, its record written), and:
//! - commits nothing when the tree is unchanged (the same bytes are already there);
//! - refuses a bundle whose generation is lower than the record already on the branch;
//! - pushes without force; a writer that loses a race (the branch moved: non-fast-forward)
//!   fetches the new head and rebuilds its commit on it, a bounded number of times.
//!
//! libgit2 (`git2`) does the git work in-process: the Lambda runtime has no git executable.
//! Its `git://` and `file://` transports are its own; `http://` and `https://` go through
//! [`http`], on the SDK's rustls client, with the configured credentials. There is no SSH:
//! libssh2 needs OpenSSL, which the hand-off bootstrap does without.

mod destination;
mod http;

use git2::build::TreeUpdateBuilder;
use git2::{
    ErrorClass, ErrorCode, FileMode, Oid, PushOptions, RemoteCallbacks, Repository, Signature, Tree,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::runtime::Handle;
use vending_domain::StepError;
use vending_domain::config::GitDestinationConfig;
use vending_domain::ports::{
    ManifestBundle, ManifestDestination, Publication, stale, stored_generation,
};

pub use destination::Destination;

/// How many times a writer rebuilds its commit after losing a push race before it gives up
/// with `ConcurrentModification` (the workflow's Retry then tries again later).
pub const MAX_ATTEMPTS: u32 = 8;

/// The local ref a commit is pushed from (libgit2 pushes references, not bare ids).
const PUSH_REF: &str = "refs/vending/outgoing";

/// Credentials for an HTTPS remote, as kept in Secrets Manager: a user and a password or
/// token (for tokens the user is often `x-access-token` or `git`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitCredentials {
    /// The user.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl GitCredentials {
    /// Reads credentials from a secret's JSON text.
    pub fn from_secret(text: &str) -> Result<GitCredentials, String> {
        serde_json::from_str(text).map_err(|_| {
            "the git credentials secret must be {\"username\", \"password\"} (SSH keys are not supported: use an HTTPS token)".to_owned()
        })
    }
}

/// A git repository that receives tenant manifests.
#[derive(Debug, Clone)]
pub struct GitRepository {
    inner: Arc<Inner>,
}

struct Inner {
    config: GitDestinationConfig,
    credentials: Option<GitCredentials>,
    /// The HTTP side of `http(s)://` remotes, made at the first publish.
    http: OnceLock<Arc<http::Client>>,
    cache: PathBuf,
    /// One publish at a time per cache: they share its refs.
    lock: Mutex<()>,
    /// Runs after every fetch (tests lose a race on purpose with it).
    after_fetch: Option<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepository")
            .field("url", &self.config.url)
            .field("branch", &self.config.branch)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// What one push attempt came to.
enum Pushed {
    Landed,
    LostRace(String),
}

fn git_error(what: &str, e: &git2::Error) -> StepError {
    let text = format!("git {what}: {}", e.message());
    if e.code() == ErrorCode::Auth {
        // Retrying cannot help: the credentials (or the secret) must be fixed.
        return StepError::Internal(format!(
            "{text} (the remote refused the credentials of gitops.git.credentialsSecretArn)"
        ));
    }
    match e.class() {
        ErrorClass::Net | ErrorClass::Ssh | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Os => {
            StepError::Unavailable(text)
        }
        _ => StepError::Internal(text),
    }
}

/// [`git_error`] for a call that reached the remote: the HTTP transport's own failure, when it
/// had one, says more than what libgit2 passes on.
fn transport_error(what: &str, e: git2::Error) -> StepError {
    git_error(what, &http::take_failure().unwrap_or(e))
}

impl GitRepository {
    /// A writer to the repository of `config`, keeping its bare clone in `cache` (created
    /// when missing; in Lambda, under `/tmp`).
    pub fn new(
        config: GitDestinationConfig,
        credentials: Option<GitCredentials>,
        cache: impl Into<PathBuf>,
    ) -> GitRepository {
        GitRepository::build(config, credentials, cache.into(), None)
    }

    /// Runs `hook` after every fetch, before the commit is built: what tests use to move the
    /// branch under a writer and watch it rebuild its commit.
    pub fn after_fetch(
        config: GitDestinationConfig,
        credentials: Option<GitCredentials>,
        cache: impl Into<PathBuf>,
        hook: impl Fn() + Send + Sync + 'static,
    ) -> GitRepository {
        GitRepository::build(config, credentials, cache.into(), Some(Box::new(hook)))
    }

    fn build(
        config: GitDestinationConfig,
        credentials: Option<GitCredentials>,
        cache: PathBuf,
        after_fetch: Option<Box<dyn Fn() + Send + Sync>>,
    ) -> GitRepository {
        GitRepository {
            inner: Arc::new(Inner {
                config,
                credentials,
                http: OnceLock::new(),
                cache,
                lock: Mutex::new(()),
                after_fetch,
            }),
        }
    }
}

impl ManifestDestination for GitRepository {
    async fn publish(&self, bundle: &ManifestBundle) -> Result<Publication, StepError> {
        let inner = self.inner.clone();
        let bundle = bundle.clone();
        let runtime = Handle::current();
        tokio::task::spawn_blocking(move || {
            inner.with_remote(&runtime, |inner| inner.publish_here(&bundle))
        })
        .await
        .map_err(|e| StepError::Internal(format!("the git writer stopped: {e}")))?
    }

    async fn read(
        &self,
        tenant_dir: &str,
        record_path: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StepError> {
        let inner = self.inner.clone();
        let (dir, record) = (tenant_dir.to_owned(), record_path.to_owned());
        let runtime = Handle::current();
        tokio::task::spawn_blocking(move || {
            inner.with_remote(&runtime, |inner| inner.read_here(&dir, &record))
        })
        .await
        .map_err(|e| StepError::Internal(format!("the git reader stopped: {e}")))?
    }
}

impl Inner {
    /// Runs `f` on a blocking thread of `runtime`, which carries the HTTP requests, holding
    /// the cache's lock.
    fn with_remote<T>(
        &self,
        runtime: &Handle,
        f: impl FnOnce(&Inner) -> Result<T, StepError>,
    ) -> Result<T, StepError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StepError::Internal("the git cache lock is poisoned".into()))?;
        http::register().map_err(StepError::Internal)?;
        let client = self.http.get_or_init(|| {
            let basic = self
                .credentials
                .as_ref()
                .map(|c| (c.username.as_str(), c.password.as_str()));
            Arc::new(http::Client::new(basic))
        });
        http::with_client(client, runtime, || f(self))
    }

    /// The files under `dir` and at `record` in the branch's head, fetched now.
    fn read_here(&self, dir: &str, record: &str) -> Result<BTreeMap<String, Vec<u8>>, StepError> {
        let repo = self.open_cache()?;
        let Some(head) = self.fetch(&repo)? else {
            return Ok(BTreeMap::new());
        };
        let tree = repo
            .find_commit(head)
            .and_then(|c| c.tree())
            .map_err(|e| git_error("reading the branch head", &e))?;
        let mut files = BTreeMap::new();
        for path in files_under(&repo, &tree, dir)
            .into_iter()
            .chain([record.to_owned()])
        {
            if let Ok(entry) = tree.get_path(Path::new(&path))
                && let Ok(blob) = repo.find_blob(entry.id())
            {
                files.insert(path, blob.content().to_vec());
            }
        }
        Ok(files)
    }

    fn publish_here(&self, bundle: &ManifestBundle) -> Result<Publication, StepError> {
        let repo = self.open_cache()?;
        let branch = &self.config.branch;
        for attempt in 1..=MAX_ATTEMPTS {
            let head = self.fetch(&repo)?;
            if let Some(hook) = &self.after_fetch {
                hook();
            }
            let base = match head {
                Some(id) => Some(
                    repo.find_commit(id)
                        .and_then(|c| c.tree())
                        .map_err(|e| git_error("reading the branch head", &e))?,
                ),
                None => None,
            };
            if let Some(tree) = &base
                && let Some(held) = held_generation(&repo, tree, &bundle.record.path)
                && held > bundle.generation
            {
                return Err(stale(bundle, held));
            }
            let tree_id = build_tree(&repo, base.as_ref(), bundle)?;
            if base.as_ref().map(Tree::id) == Some(tree_id) {
                let revision = head.map(|h| h.to_string()).unwrap_or_default();
                tracing::info!(tenant = %bundle.tenant_id, commit = %revision, "manifests unchanged: nothing committed");
                return Ok(Publication::Unchanged { revision });
            }
            let commit = self.commit(&repo, head, tree_id, bundle)?;
            match self.push(&repo, commit)? {
                Pushed::Landed => {
                    tracing::info!(tenant = %bundle.tenant_id, generation = bundle.generation, commit = %commit, branch = %branch, attempt, "manifests committed");
                    return Ok(Publication::Written {
                        revision: commit.to_string(),
                    });
                }
                Pushed::LostRace(reason) => {
                    tracing::warn!(tenant = %bundle.tenant_id, attempt, reason = %reason, "the branch moved: rebuilding the commit on the new head");
                }
            }
        }
        Err(StepError::ConcurrentModification(format!(
            "branch {branch} of {} moved under {MAX_ATTEMPTS} push attempts in a row",
            self.config.url
        )))
    }

    fn open_cache(&self) -> Result<Repository, StepError> {
        open_or_init_bare(&self.cache).map_err(StepError::Internal)
    }

    /// Fetches the branch; its head, or None when the remote has no such branch yet.
    fn fetch(&self, repo: &Repository) -> Result<Option<Oid>, StepError> {
        let mut remote = repo
            .remote_anonymous(&self.config.url)
            .map_err(|e| git_error("opening the remote", &e))?;
        let tracking = format!("refs/remotes/origin/{}", self.config.branch);
        // An empty remote has no branch to fetch yet: list first.
        remote
            .connect_auth(git2::Direction::Fetch, None, None)
            .map_err(|e| transport_error("connecting", e))?;
        let wanted = format!("refs/heads/{}", self.config.branch);
        let exists = remote
            .list()
            .map_err(|e| transport_error("listing the remote", e))?
            .iter()
            .any(|h| h.name() == wanted);
        remote
            .disconnect()
            .map_err(|e| git_error("disconnecting", &e))?;
        if !exists {
            return Ok(None);
        }
        remote
            .fetch(&[format!("+{wanted}:{tracking}")], None, None)
            .map_err(|e| transport_error("fetching", e))?;
        let id = repo
            .refname_to_id(&tracking)
            .map_err(|e| git_error("reading the fetched branch", &e))?;
        Ok(Some(id))
    }

    fn commit(
        &self,
        repo: &Repository,
        parent: Option<Oid>,
        tree: Oid,
        bundle: &ManifestBundle,
    ) -> Result<Oid, StepError> {
        let who = Signature::now(&self.config.author_name, &self.config.author_email)
            .map_err(|e| git_error("signing", &e))?;
        let tree = repo
            .find_tree(tree)
            .map_err(|e| git_error("reading the new tree", &e))?;
        let parents = match parent {
            Some(id) => vec![
                repo.find_commit(id)
                    .map_err(|e| git_error("reading the parent", &e))?,
            ],
            None => Vec::new(),
        };
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(None, &who, &who, &commit_message(bundle), &tree, &parents)
            .map_err(|e| git_error("committing", &e))
    }

    fn push(&self, repo: &Repository, commit: Oid) -> Result<Pushed, StepError> {
        repo.reference(PUSH_REF, commit, true, "tenant hand-off")
            .map_err(|e| git_error("preparing the push", &e))?;
        let mut remote = repo
            .remote_anonymous(&self.config.url)
            .map_err(|e| git_error("opening the remote", &e))?;
        let rejected: Arc<Mutex<Option<String>>> = Arc::default();
        let mut callbacks = RemoteCallbacks::new();
        let seen = rejected.clone();
        callbacks.push_update_reference(move |_refname, status| {
            if let (Some(reason), Ok(mut slot)) = (status, seen.lock()) {
                *slot = Some(reason.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("{PUSH_REF}:refs/heads/{}", self.config.branch);
        match remote.push(&[refspec], Some(&mut options)) {
            Ok(()) => {}
            // libgit2 refuses locally when the remote head is not an ancestor of our commit,
            // or when it holds commits we never fetched: both mean the branch moved.
            Err(e)
                if e.code() == ErrorCode::NotFastForward || e.class() == ErrorClass::Reference =>
            {
                return Ok(Pushed::LostRace(e.message().to_owned()));
            }
            Err(e) => return Err(transport_error("pushing", e)),
        }
        let reason = rejected.lock().ok().and_then(|mut r| r.take());
        Ok(match reason {
            Some(reason) => Pushed::LostRace(reason),
            None => Pushed::Landed,
        })
    }
}

/// Creates a bare repository at `path` unless one is there (local mode's destination).
pub fn ensure_bare_repository(path: &Path) -> Result<(), String> {
    open_or_init_bare(path).map(drop)
}

/// Opens the bare repository at `path`, creating it when missing with HEAD on `main` (the
/// branch hand-offs commit to by default, so clones check it out).
fn open_or_init_bare(path: &Path) -> Result<Repository, String> {
    if let Ok(repo) = Repository::open_bare(path) {
        return Ok(repo);
    }
    std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let repo = Repository::init_bare(path).map_err(|e| {
        format!(
            "creating a git repository at {}: {}",
            path.display(),
            e.message()
        )
    })?;
    repo.set_head("refs/heads/main")
        .map_err(|e| format!("setting HEAD of {}: {}", path.display(), e.message()))?;
    Ok(repo)
}

/// The head commit of a branch: what a person checks after a hand-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The commit id.
    pub commit: String,
    /// The first line of its message.
    pub summary: String,
    /// Every file of its tree.
    pub files: Vec<String>,
}

/// The head of `branch` in the repository at `path`, or None when the branch has no commit.
pub fn head(path: &Path, branch: &str) -> Result<Option<Head>, String> {
    let repo = Repository::open(path).map_err(|e| e.message().to_owned())?;
    let commit = match repo
        .find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_commit())
    {
        Ok(c) => c,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.message().to_owned()),
    };
    let tree = commit.tree().map_err(|e| e.message().to_owned())?;
    let files = blob_paths(&tree, "").map_err(|e| e.message().to_owned())?;
    Ok(Some(Head {
        commit: commit.id().to_string(),
        summary: commit
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
        files,
    }))
}

/// `tenant <id>: generation <n>`, then trailers a person or a script can grep.
pub fn commit_message(bundle: &ManifestBundle) -> String {
    format!(
        "tenant {id}: generation {gen}\n\nTenant-Id: {id}\nGeneration: {gen}\nRequest-Id: {req}\n",
        id = bundle.tenant_id,
        gen = bundle.generation,
        req = bundle.request_id
    )
}

/// The generation of the record at `path` in `tree`, if there is one.
fn held_generation(repo: &Repository, tree: &Tree<'_>, path: &str) -> Option<u64> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    stored_generation(blob.content())
}

/// Every file path in `tree`, each after `prefix`.
fn blob_paths(tree: &Tree<'_>, prefix: &str) -> Result<Vec<String>, git2::Error> {
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
        if e.kind() == Some(git2::ObjectType::Blob)
            && let Ok(name) = e.name()
        {
            out.push(format!("{prefix}{parent}{name}"));
        }
        git2::TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// Every file path under `dir` in `tree` (none when there is no such folder).
fn files_under(repo: &Repository, tree: &Tree<'_>, dir: &str) -> BTreeSet<String> {
    tree.get_path(Path::new(dir))
        .and_then(|entry| repo.find_tree(entry.id()))
        .and_then(|sub| blob_paths(&sub, &format!("{dir}/")))
        .map(BTreeSet::from_iter)
        .unwrap_or_default()
}

/// The branch's tree with the tenant's folder replaced by the bundle and its record written.
fn build_tree(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    bundle: &ManifestBundle,
) -> Result<Oid, StepError> {
    let mut update = TreeUpdateBuilder::new();
    let keep: BTreeSet<&str> = bundle.manifests.iter().map(|f| f.path.as_str()).collect();
    if let Some(tree) = base {
        for old in files_under(repo, tree, &bundle.tenant_dir) {
            if !keep.contains(old.as_str()) {
                update.remove(&old);
            }
        }
    }
    for file in bundle.manifests.iter().chain([&bundle.record]) {
        let blob = repo
            .blob(&file.bytes)
            .map_err(|e| git_error("writing a blob", &e))?;
        update.upsert(&file.path, blob, FileMode::Blob);
    }
    let empty;
    let base = match base {
        Some(tree) => tree,
        None => {
            let id = repo
                .treebuilder(None)
                .and_then(|b| b.write())
                .map_err(|e| git_error("writing the empty tree", &e))?;
            empty = repo
                .find_tree(id)
                .map_err(|e| git_error("reading the empty tree", &e))?;
            &empty
        }
    };
    update
        .create_updated(repo, base)
        .map_err(|e| git_error("building the tree", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_a_username_and_password_and_nothing_else() {
        let https = GitCredentials::from_secret(r#"{"username": "bot", "password": "t0ken"}"#);
        assert_eq!(
            https,
            Ok(GitCredentials {
                username: "bot".into(),
                password: "t0ken".into()
            })
        );
        for bad in [
            r#"{"token": "x"}"#,
            r#"{"username": "bot"}"#,
            r#"{"sshPrivateKey": "-----BEGIN KEY-----"}"#,
            "not json",
        ] {
            assert!(GitCredentials::from_secret(bad).is_err(), "{bad}");
        }
        let ssh = GitCredentials::from_secret(r#"{"sshPrivateKey": "k"}"#).expect_err("ssh");
        assert!(ssh.contains("SSH keys are not supported"), "{ssh}");
        let shown = format!("{:?}", https.expect("parsed"));
        assert!(
            !shown.contains("t0ken"),
            "Debug must not print the secret: {shown}"
        );
    }
}
