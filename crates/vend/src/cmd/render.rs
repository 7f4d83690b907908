//! `vend render`: a tenant record's manifests, exactly as HandOff would commit them.

use anyhow::{Context as _, Result};
use std::io::Write as _;
use std::process::ExitCode;

/// Prints the manifests HandOff would write for a record, one YAML document per file.
pub fn render(record: &std::path::Path, root: &str) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(record).with_context(|| format!("reading {}", record.display()))?;
    let record = vending_domain::TenantRecord::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", record.display()))?;
    let bundle = tenant_manifests::bundle(&record, root)?;
    let mut out = std::io::stdout().lock();
    for file in &bundle.manifests {
        writeln!(out, "---\n# {}", file.path)?;
        out.write_all(&file.bytes)?;
    }
    Ok(ExitCode::SUCCESS)
}
