//! Turns the built-in rule and component files (`rules/`) into JSON, which
//! promready parses at start-up several times faster than the YAML, and
//! lists them: `$OUT_DIR/builtin/<dir>.rs` is the slice of every `*.yaml` of
//! the directory, sorted by file name, that `include!` brings into the crate.
//! Adding a rule is adding its file. The conversion is promready's own, so
//! the JSON reads exactly as the YAML.

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

#[allow(dead_code, unreachable_pub)]
#[path = "src/parse"]
mod parse {
    pub(crate) mod yaml;
}
#[allow(dead_code, unreachable_pub)]
#[path = "src/budget.rs"]
mod budget;
#[allow(dead_code, unreachable_pub, unused_imports, unused_macros)]
#[path = "src/data.rs"]
mod data;
#[allow(dead_code, unreachable_pub)]
#[path = "src/escape.rs"]
mod escape;

/// The built-in data directories and the name of each one's list.
const DIRS: &[(&str, &str)] = &[("rules", "rules"), ("rules/components", "components")];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=src/parse/yaml.rs");
    println!("cargo::rerun-if-changed=src/data.rs");
    println!("cargo::rerun-if-changed=src/budget.rs");
    println!("cargo::rerun-if-changed=src/escape.rs");
    let out = std::env::var("OUT_DIR")?;
    let root = std::env::var("CARGO_MANIFEST_DIR")?;
    fs::create_dir_all(Path::new(&out).join("builtin"))?;
    for &(dir, list) in DIRS {
        println!("cargo::rerun-if-changed={dir}");
        fs::create_dir_all(Path::new(&out).join(dir))?;
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|x| x != "yaml") || !path.is_file() {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str());
            names.push(stem.ok_or("file name is not UTF-8")?.to_owned());
        }
        names.sort();
        // `(path from the crate root, YAML, JSON)`: a `data::Builtin`.
        let mut rs = String::from("&[\n");
        for name in &names {
            let rel = format!("{dir}/{name}.yaml");
            let text = fs::read_to_string(&rel)?;
            let json = data::yaml_to_json(&text).map_err(|e| format!("{rel}: {}", e.message))?;
            let json_path = Path::new(&out).join(dir).join(format!("{name}.json"));
            fs::write(&json_path, json.to_string())?;
            let yaml_path = Path::new(&root).join(&rel);
            writeln!(
                rs,
                "    ({rel:?}, include_str!({:?}), include_str!({:?})),",
                yaml_path.display().to_string(),
                json_path.display().to_string(),
            )?;
        }
        rs.push_str("]\n");
        fs::write(
            Path::new(&out).join("builtin").join(format!("{list}.rs")),
            rs,
        )?;
    }
    Ok(())
}
