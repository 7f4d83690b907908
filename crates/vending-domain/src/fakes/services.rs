//! Fakes of the event bus, the workflow service and the GitOps destination.

use super::lock;
use crate::error::StepError;
use crate::ports::{
    EventBus, ExecutionProgress, ManifestBundle, ManifestDestination, Publication, Workflow, stale,
    stored_generation,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A fake Step Functions: executions by name; starting a name again starts nothing (as the
/// adapter reports `ExecutionAlreadyExists`).
#[derive(Debug, Default)]
pub struct FakeWorkflow {
    started: Mutex<BTreeMap<String, serde_json::Value>>,
    states: Mutex<BTreeMap<String, String>>,
    batches: Mutex<BTreeMap<String, serde_json::Value>>,
    offboardings: Mutex<BTreeMap<String, serde_json::Value>>,
}

fn fake_arn(name: &str) -> String {
    format!("arn:aws:states:eu-west-1:000000000000:execution:tenant-vending:{name}")
}

impl FakeWorkflow {
    /// Says that execution `name` is in `state` (a started execution without one is RUNNING
    /// in no state yet).
    pub fn enter(&self, name: &str, state: &str) {
        lock(&self.states).insert(name.to_owned(), state.to_owned());
    }

    /// The executions started, by name, with their input.
    pub fn started(&self) -> BTreeMap<String, serde_json::Value> {
        lock(&self.started).clone()
    }

    /// The batch re-runs started, by name, with their input.
    pub fn batches(&self) -> BTreeMap<String, serde_json::Value> {
        lock(&self.batches).clone()
    }

    /// The offboardings started, by name, with their input.
    pub fn offboardings(&self) -> BTreeMap<String, serde_json::Value> {
        lock(&self.offboardings).clone()
    }
}

impl Workflow for FakeWorkflow {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<String, StepError> {
        lock(&self.started)
            .entry(name.to_owned())
            .or_insert_with(|| input.clone());
        Ok(fake_arn(name))
    }

    async fn start_batch(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, StepError> {
        lock(&self.batches)
            .entry(name.to_owned())
            .or_insert_with(|| input.clone());
        Ok(format!(
            "arn:aws:states:eu-west-1:000000000000:execution:tenant-rerun:{name}"
        ))
    }

    async fn start_offboarding(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, StepError> {
        lock(&self.offboardings)
            .entry(name.to_owned())
            .or_insert_with(|| input.clone());
        Ok(format!(
            "arn:aws:states:eu-west-1:000000000000:execution:tenant-offboarding:{name}"
        ))
    }

    async fn progress(&self, name: &str) -> Result<Option<ExecutionProgress>, StepError> {
        if !lock(&self.started).contains_key(name) {
            return Ok(None);
        }
        Ok(Some(ExecutionProgress {
            execution_arn: fake_arn(name),
            status: "RUNNING".into(),
            state: lock(&self.states).get(name).cloned(),
        }))
    }
}

/// A fake event bus: keeps every event.
#[derive(Debug, Default)]
pub struct FakeBus {
    events: Mutex<Vec<(String, serde_json::Value)>>,
}

impl FakeBus {
    /// Every event put so far, in order.
    pub fn events(&self) -> Vec<(String, serde_json::Value)> {
        lock(&self.events).clone()
    }
}

impl EventBus for FakeBus {
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), StepError> {
        lock(&self.events).push((detail_type.to_owned(), detail.clone()));
        Ok(())
    }
}

/// A fake GitOps destination with the real ones' rules: unchanged bytes are not written, a
/// lower generation is refused. It keeps the files by path and counts writes ("commits").
#[derive(Debug, Default)]
pub struct FakeDestination {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    writes: Mutex<usize>,
    fail_next: Mutex<Option<StepError>>,
}

impl FakeDestination {
    /// The files held.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.files).clone()
    }

    /// How many publications changed something.
    pub fn writes(&self) -> usize {
        *lock(&self.writes)
    }

    /// Makes the next publication fail with `err` (an unreachable remote, say).
    pub fn fail_next(&self, err: StepError) {
        *lock(&self.fail_next) = Some(err);
    }
}

impl ManifestDestination for FakeDestination {
    async fn publish(&self, bundle: &ManifestBundle) -> Result<Publication, StepError> {
        if let Some(err) = lock(&self.fail_next).take() {
            return Err(err);
        }
        let mut files = lock(&self.files);
        if let Some(held) = files
            .get(&bundle.record.path)
            .and_then(|b| stored_generation(b))
            && held > bundle.generation
        {
            return Err(stale(bundle, held));
        }
        let mut next = files.clone();
        next.retain(|path, _| !path.starts_with(&format!("{}/", bundle.tenant_dir)));
        for f in bundle.manifests.iter().chain([&bundle.record]) {
            next.insert(f.path.clone(), f.bytes.clone());
        }
        if next == *files {
            return Ok(Publication::Unchanged {
                revision: "fake".into(),
            });
        }
        *files = next;
        *lock(&self.writes) += 1;
        Ok(Publication::Written {
            revision: format!("fake-{}", lock(&self.writes)),
        })
    }

    async fn read(
        &self,
        tenant_dir: &str,
        record_path: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StepError> {
        Ok(lock(&self.files)
            .iter()
            .filter(|(path, _)| path.starts_with(&format!("{tenant_dir}/")) || *path == record_path)
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect())
    }
}

impl FakeDestination {
    /// Writes a file behind the service's back (someone edited the repository by hand).
    pub fn edit(&self, path: &str, bytes: Vec<u8>) {
        lock(&self.files).insert(path.to_owned(), bytes);
    }
}
