//! Helpers for the hostile-input, crash and property tests: running the
//! binary under a watchdog, reading its JSON report, and snapshotting trees.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_promready");

/// How long one run of the binary may take before it counts as a hang. Every
/// input in these tests is scanned in well under a second; the margin is for
/// loaded CI machines.
pub const HANG: Duration = Duration::from_secs(20);

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Ran {
    /// Exit status; `None` when a signal ended it (or the watchdog did).
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl Ran {
    /// Asserts the run was not a crash: it finished in time, exited with one
    /// of `allowed`, and did not panic.
    #[track_caller]
    pub fn sane(&self, what: &str, allowed: &[i32]) {
        assert!(!self.timed_out, "{what}: still running after {HANG:?}");
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "{what}: panicked:\n{}",
            tail(&self.stderr)
        );
        let status = self.status.unwrap_or(-1);
        assert!(
            allowed.contains(&status),
            "{what}: exit status {:?}, want one of {allowed:?}\nstderr: {}",
            self.status,
            tail(&self.stderr)
        );
    }

    /// The JSON report on standard output.
    #[track_caller]
    pub fn json(&self) -> Report {
        Report(
            serde_json::from_str(&self.stdout)
                .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", tail(&self.stdout))),
        )
    }
}

/// The last 2,000 characters of `s`, for failure messages.
pub fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(2000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// `promready ARG…`: runs the binary (arguments: anything that is
/// `AsRef<OsStr>`) under the watchdog, with no extra environment.
#[macro_export]
macro_rules! pr {
    ($($arg:expr),* $(,)?) => {
        $crate::support::run_bin(&[$(::std::ffi::OsStr::new(&$arg)),*], &[])
    };
}

/// Runs the binary with `args` and `env`, killing it after [`HANG`].
pub fn run_bin<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &str)]) -> Ran {
    run_program(BIN, args, env)
}

/// Runs `program` with `args` and `env`, killing it after [`HANG`].
/// Output goes to files, so a chatty run cannot block on a full pipe.
pub fn run_program<S: AsRef<OsStr>>(program: &str, args: &[S], env: &[(&str, &str)]) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let (o, e) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("PROMREADY_TEST_WRITE_DELAY_MS")
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(File::create(&o).unwrap())
        .stderr(File::create(&e).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > HANG {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Ran {
        status: status.code(),
        stdout: read(&o),
        stderr: read(&e),
        elapsed,
        timed_out,
    }
}

/// A JSON report (`scan --format json`).
#[derive(Debug)]
pub struct Report(pub serde_json::Value);

impl Report {
    /// `CODE path` for every warning and error, sorted. Notes (PR021 on
    /// nearly every kubelet: what a scraper must be set up for) are left
    /// out: these tests are about reading hostile input, and the fixtures
    /// pin which notes fire.
    pub fn findings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.0["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "note")
            .map(|f| {
                format!(
                    "{} {}",
                    f["code"].as_str().unwrap_or_default(),
                    f["location"]["path"].as_str().unwrap_or_default()
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The codes of all findings, sorted and deduplicated.
    pub fn codes(&self) -> Vec<String> {
        let mut out: Vec<String> = self.0["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every `path: message` notice of every target.
    pub fn notices(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.0["targets"].as_array().unwrap() {
            for n in t["notices"].as_array().unwrap() {
                out.push(format!(
                    "{}: {}",
                    n["path"].as_str().unwrap_or_default(),
                    n["message"].as_str().unwrap_or_default()
                ));
            }
        }
        out
    }

    /// Whether some finding of `code` is on `path` and its message contains `text`.
    pub fn has_finding(&self, code: &str, path: &str, text: &str) -> bool {
        self.0["findings"].as_array().unwrap().iter().any(|f| {
            f["code"] == code
                && f["location"]["path"] == path
                && f["message"].as_str().unwrap_or_default().contains(text)
        })
    }

    /// Whether some notice is about `path` and contains `text`.
    pub fn has_notice(&self, path: &str, text: &str) -> bool {
        self.notices()
            .iter()
            .any(|n| n.starts_with(&format!("{path}: ")) && n.contains(text))
    }

    /// Every file any component was read from, and every finding's path and
    /// `via` link.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.0["targets"].as_array().unwrap() {
            for c in t["components"].as_array().unwrap() {
                for f in c["files"].as_array().unwrap() {
                    out.push(f.as_str().unwrap_or_default().to_owned());
                }
            }
        }
        for f in self.0["findings"].as_array().unwrap() {
            for key in ["path", "via"] {
                if let Some(p) = f["location"][key].as_str() {
                    out.push(p.to_owned());
                }
            }
        }
        out
    }
}

/// Every file below `dir` (symlinks as `-> target`), with its bytes (files
/// over 64 MiB by size and modification time).
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
        if e.path_is_symlink() {
            let target = std::fs::read_link(e.path()).unwrap();
            out.insert(rel, format!("-> {}", target.display()).into_bytes());
        } else if e.file_type().is_file() {
            let meta = e.metadata().unwrap();
            // Sparse giants stand for themselves by size and mtime.
            let bytes = if meta.len() > 64 << 20 {
                format!("{} bytes, mtime {:?}", meta.len(), meta.modified().unwrap()).into_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            out.insert(rel, bytes);
        }
    }
    out
}

/// Temp files of `fix` (`.NAME.promready-PID`) anywhere below `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            n.starts_with('.') && n.contains(".promready-")
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// Makes a FIFO at `path`; returns the path.
pub fn fifo(path: &Path) -> PathBuf {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
    path.to_path_buf()
}

/// Writes `bytes` to `root/rel`, creating parent directories.
pub fn put(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Makes `root/rel` a symlink to `target` (replacing whatever was there).
pub fn link(root: &Path, rel: &str, target: impl AsRef<Path>) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    remove(&p);
    std::os::unix::fs::symlink(target, &p).unwrap();
    p
}

/// Removes a file, link or directory tree if present.
pub fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
        Ok(_) => std::fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

/// A run of the binary with its peak memory.
#[derive(Debug)]
pub struct Measured {
    /// Exit status; `None` when a signal ended it.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The child's peak resident set size in bytes, as the kernel counted
    /// it (`getrusage(RUSAGE_CHILDREN)` of a wrapper that ran only it).
    pub peak_rss: u64,
}

impl Measured {
    /// Standard output and standard error, for failure messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// How long a measured run may take: these build up memory on purpose (a
/// million archive paths), so more than [`HANG`].
pub const MEASURED_HANG: Duration = Duration::from_secs(90);

/// Runs the binary with `args` in `cwd` with `env`, killing it after
/// [`MEASURED_HANG`], and measures its peak memory. Rust's standard library has no
/// safe way to ask the kernel, and the tests forbid unsafe code, so a
/// `python3` wrapper runs the binary and reports `ru_maxrss`.
pub fn measure<S: AsRef<OsStr>>(args: &[S], cwd: &Path, env: &[(&str, &str)]) -> Measured {
    const WRAPPER: &str = r"
import resource, subprocess, sys
out, err, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(out, 'wb') as o, open(err, 'wb') as e:
    try:
        p = subprocess.run(sys.argv[4:], stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=limit)
        code = p.returncode
    except subprocess.TimeoutExpired:
        code = 'timeout'
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
";
    let dir = tempfile::tempdir().unwrap();
    let (o, e) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(WRAPPER)
        .arg(&o)
        .arg(&e)
        .arg(MEASURED_HANG.as_secs().to_string())
        .arg(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("PROMREADY_TEST_WRITE_DELAY_MS")
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("python3 (to measure peak memory): {e}"));
    let elapsed = start.elapsed();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = report.split_whitespace();
    let code = words.next().unwrap_or_default();
    assert!(
        code != "timeout",
        "{args:?}: still running after {MEASURED_HANG:?}",
        args = cmd.get_args()
    );
    let peak_kib: u64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no peak from the wrapper: {report}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    // Some bytes of output are not text (a test looks for them).
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Measured {
        // A negative code is the signal that ended it.
        status: code.parse::<i32>().ok().filter(|c| *c >= 0),
        stdout: read(&o),
        stderr: read(&e),
        elapsed,
        peak_rss: peak_kib * 1024,
    }
}
