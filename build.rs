//! Turns the built-in rule and component files (`rules/`) into JSON, which
//! promready parses at start-up several times faster than the YAML. The
//! conversion is promready's own, so the JSON reads exactly as the YAML.

use std::error::Error;
use std::fs;
use std::path::Path;

#[allow(dead_code, unreachable_pub)]
#[path = "src/parse"]
mod parse {
    pub(crate) mod yaml;
}
#[allow(dead_code, unreachable_pub, unused_imports, unused_macros)]
#[path = "src/data.rs"]
mod data;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=src/parse/yaml.rs");
    println!("cargo::rerun-if-changed=src/data.rs");
    let out = std::env::var("OUT_DIR")?;
    for dir in ["rules", "rules/components"] {
        println!("cargo::rerun-if-changed={dir}");
        fs::create_dir_all(Path::new(&out).join(dir))?;
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = fs::read_to_string(&path)?;
            let json = data::yaml_to_json(&text)
                .map_err(|e| format!("{}: {}", path.display(), e.message))?;
            let name = Path::new(dir).join(path.file_stem().ok_or("no file name")?);
            fs::write(
                Path::new(&out).join(name).with_extension("json"),
                json.to_string(),
            )?;
        }
    }
    Ok(())
}
