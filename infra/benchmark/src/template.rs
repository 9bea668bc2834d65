//! What the tools read from `template.yaml` about the functions.

use serde_norway::Value;

/// A function of the template: the binary it is built from, its resource and its memory.
pub struct TemplateFunction {
    pub binary: String,
    pub resource: String,
    pub memory_mb: u32,
}

/// The functions of `template.yaml`: each resource whose `BuildProperties.Binary` names a
/// binary, with its `MemorySize` or the global one.
pub fn functions(template: &str) -> Result<Vec<TemplateFunction>, String> {
    let doc: Value = serde_norway::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
    let default_memory = doc["Globals"]["Function"]["MemorySize"].as_u64();
    let resources = doc["Resources"]
        .as_mapping()
        .ok_or("template.yaml: no Resources")?;
    resources
        .iter()
        .filter_map(|(name, resource)| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            Some((name.as_str()?, binary, resource))
        })
        .map(|(name, binary, resource)| {
            let memory = resource["Properties"]["MemorySize"]
                .as_u64()
                .or(default_memory)
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| format!("template.yaml: no MemorySize for {name}"))?;
            Ok(TemplateFunction {
                binary: binary.to_owned(),
                resource: name.to_owned(),
                memory_mb: memory,
            })
        })
        .collect()
}

/// The repository's `template.yaml`.
pub fn repository_template() -> Result<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}
