//! The README's rule table is generated from the rule files; this test
//! fails when it drifts (`UPDATE_README=1 cargo test --test readme` rewrites it).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::format_push_string)]

mod common;

const START: &str = "<!-- rules:start";
const END: &str = "<!-- rules:end -->";

fn table() -> String {
    let rules: serde_json::Value =
        serde_json::from_str(&common::run(&["rules", "--format", "json"]).stdout).unwrap();
    let mut out = String::from(
        "| Code | Name | Severity | Summary | Fix safety |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rules.as_array().unwrap() {
        let fix = r["fix"]["safety"].as_str().unwrap_or("none");
        out.push_str(&format!(
            "| {} | [`{}`](rules/{}.yaml) | {} | {} | {} |\n",
            r["code"].as_str().unwrap(),
            r["name"].as_str().unwrap(),
            r["name"].as_str().unwrap(),
            r["severity"].as_str().unwrap(),
            r["summary"].as_str().unwrap(),
            fix
        ));
    }
    out
}

#[test]
fn readme_rule_table_matches_the_rules() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find(START)
        .expect("README has the rules:start marker");
    let body = start + readme[start..].find('\n').unwrap() + 1;
    let end = readme.find(END).expect("README has the rules:end marker");
    let want = table();
    if readme[body..end] != want {
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write(
                "README.md",
                format!("{}{}{}", &readme[..body], want, &readme[end..]),
            )
            .unwrap();
        } else {
            panic!(
                "the README rule table is out of date; run `UPDATE_README=1 cargo test --test readme`:\n{want}"
            );
        }
    }
}

#[test]
fn readme_commands_are_the_real_ones() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(readme.contains("cargo run --release -- scan testdata/demo"));
    assert!(readme.contains("cargo test --locked"));
    assert!(std::path::Path::new("testdata/demo/etc").is_dir());
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert!(
        ci.contains("cargo test --locked"),
        ".ci/run runs the README's test command"
    );
}
