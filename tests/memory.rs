//! An image held in memory (the tree the fuzz targets scan, through
//! `promready::fuzzing`) gives the findings a directory gives: the same
//! resolution, discovery and rules, whatever the tree.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{all_cases, cases, finding_lines, run};
use promready::fuzzing::Formats;

/// Files (path and bytes) and symlinks (path and target).
type Tree = (Vec<(String, Vec<u8>)>, Vec<(String, String)>);

/// Every file and symlink below `root`, as in-image paths.
fn load(root: &Path) -> Tree {
    let (mut files, mut links) = (Vec::new(), Vec::new());
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                links.push((rel, target.display().to_string()));
            } else if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                files.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    (files, links)
}

#[test]
fn an_image_in_memory_has_the_findings_of_the_directory() {
    let mut images = cases();
    images.push(("demo".to_owned(), "testdata/demo".into()));
    for (name, root) in images {
        let (files, links) = load(&root);
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        let links: Vec<(&str, &str)> = links
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let memory = promready::fuzzing::image(&files, &links, Formats::Json);
        let disk = run(&["scan", "--format", "json", root.to_str().unwrap()]);
        assert_eq!(memory.status, disk.status, "{name}: {}", memory.errors);
        assert_eq!(
            finding_lines(&memory.json),
            finding_lines(&disk.stdout),
            "{name}"
        );
    }
}

/// `CODE line` for every finding: the path of a named file differs.
fn codes_and_lines(json: &str) -> Vec<String> {
    finding_lines(json)
        .into_iter()
        .map(|l| {
            let (code, rest) = l.split_once(' ').unwrap();
            format!("{code} {}", rest.rsplit(':').next().unwrap())
        })
        .collect()
}

#[test]
fn a_directory_and_a_named_file_in_memory_have_the_findings_of_the_disk() {
    for (name, path) in all_cases() {
        // A configuration file beside the fixture would change the scan on
        // disk only.
        let disk = run(&["scan", "--format", "json", path.to_str().unwrap()]);
        if path.is_file() {
            let memory =
                promready::fuzzing::named_file(&std::fs::read(&path).unwrap(), Formats::Json);
            assert_eq!(memory.status, disk.status, "{name}: {}", memory.errors);
            assert_eq!(
                codes_and_lines(&memory.json),
                codes_and_lines(&disk.stdout),
                "{name}"
            );
        } else if !path.join("etc").is_dir() && !path.join(".promready.yaml").exists() {
            let (files, _) = load(&path);
            let files: Vec<(&str, &[u8])> = files
                .iter()
                .filter(|(p, _)| !p.split('/').any(|c| c.starts_with('.')))
                .map(|(p, b)| (p.as_str(), b.as_slice()))
                .collect();
            let memory = promready::fuzzing::directory(&files, Formats::Json);
            assert_eq!(memory.status, disk.status, "{name}: {}", memory.errors);
            assert_eq!(
                finding_lines(&memory.json),
                finding_lines(&disk.stdout),
                "{name}"
            );
        }
    }
}
