//! The harness shared by the fuzz targets, all in process and in memory
//! ([`promready::fuzzing`]); nothing touches the disk.
//!
//! - `unit`, `dropin`, `envfile`, `kubelet_config`, `static_pod` and
//!   `kubeadm_dir` drive their parser: systemd units (then the words of
//!   every value, as `ExecStart=` and `Environment=` split them, parsed as
//!   flags), environment files, YAML with Kubernetes' rules. Every span
//!   they return must be a range of the text on character boundaries
//!   (reports slice the text with them). Thousands of inputs a second.
//! - `image` and `named_file` drive the whole scan pipeline: an in-memory
//!   image, or a named file in a `memfd` (configuration, or a rootfs
//!   tarball), through discovery, the rules, one report format (chosen by
//!   a hash of the input, so the corpus covers all five), then one round of
//!   the fixes the findings suggest and a scan of the result, reported in
//!   the same format.
//!   Exit status 0 or 1 (the inputs are always there and readable), valid
//!   JSON and SARIF before and after the fixes. A named file may be refused (exit status 2: a
//!   truncated or corrupt archive, a format promready does not read, a
//!   tarball that is no node image); the refusal must then name the file.
//!
//! A panic anywhere is a crash for libFuzzer.

use promready::fuzzing::Formats;

/// Which file the bytes become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `etc/systemd/system/kubelet.service` of an image.
    Unit,
    /// A drop-in of the image's kubelet unit.
    DropIn,
    /// The kubelet's `EnvironmentFile=` (`etc/default/kubelet`).
    EnvFile,
    /// The kubelet's `--config` file.
    KubeletConfig,
    /// A manifest in the kubelet's static pod directory.
    StaticPod,
    /// A file in a configuration directory (a kubeadm config repository).
    KubeadmDir,
    /// A file named on the command line.
    NamedFile,
}

/// The unit used when the bytes are not the unit: it reads every other
/// kind of file.
const UNIT: &str = "[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --pod-manifest-path=/etc/kubernetes/manifests $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n";

const UNIT_PATH: &str = "etc/systemd/system/kubelet.service";
const ENV_PATH: &str = "etc/default/kubelet";
const MANIFEST_PATH: &str = "etc/kubernetes/manifests/kube-scheduler.yaml";
const KUBELET: &str = "usr/bin/kubelet";

/// Fuzzes one kind of file: its parser, or (a named file) the pipeline.
pub fn check(kind: Kind, data: &[u8]) {
    match kind {
        Kind::Unit | Kind::DropIn => promready::fuzzing::unit_parser(data),
        Kind::EnvFile => promready::fuzzing::envfile_parser(data),
        Kind::KubeletConfig | Kind::StaticPod | Kind::KubeadmDir => {
            promready::fuzzing::yaml_parser(data);
        }
        Kind::NamedFile => verify(
            &promready::fuzzing::named_file(data, Formats::one_for(data)),
            Formats::one_for(data),
            true,
        ),
    }
}

/// Fuzzes a whole image: the bytes are split at `\0\0` into the unit, a
/// drop-in, the environment file, the `KubeletConfiguration` (kubeadm's
/// `/var/lib/kubelet/config.yaml`) and a static pod (missing parts are left
/// out), so that the files meet each other.
pub fn check_image(data: &[u8]) {
    let mut parts = split(data, b"\0\0").into_iter();
    let unit = parts.next().unwrap_or(UNIT.as_bytes());
    let mut files: Vec<(&str, &[u8])> = vec![(KUBELET, b""), (UNIT_PATH, unit)];
    // kubeadm's places, which the seed images' units point at; the
    // KubeletConfiguration also where the built-in unit looks.
    files.extend(
        [
            "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
            ENV_PATH,
            "var/lib/kubelet/config.yaml",
            MANIFEST_PATH,
        ]
        .into_iter()
        .zip(parts),
    );
    let formats = Formats::one_for(data);
    verify(
        &promready::fuzzing::image(&files, &[], formats),
        formats,
        false,
    );
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    out.push(rest);
    out
}

/// The checks every run must pass; `refusable` allows a clear refusal of
/// the input (exit status 2).
fn verify(r: &promready::fuzzing::Report, formats: Formats, refusable: bool) {
    let refused =
        r.status == promready::EXIT_ERROR && refusable && r.errors.contains("/proc/self/fd/");
    let shown = [&r.human, &r.concise, &r.github, &r.json, &r.sarif]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("", String::as_str);
    assert!(
        r.status <= promready::EXIT_FINDINGS || refused,
        "exit status {}\nerrors:\n{}\nreport:\n{shown}",
        r.status,
        r.errors
    );
    assert!(
        r.status == promready::EXIT_ERROR || r.errors.is_empty(),
        "input errors with exit status {}:\n{}",
        r.status,
        r.errors
    );
    let json = |what: &str, text: &str| {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            panic!("{what}: invalid JSON ({e}):\n{text}");
        }
    };
    for (format, text) in [(Formats::Json, &r.json), (Formats::Sarif, &r.sarif)] {
        if formats == format {
            json(&format!("scan, {format:?}"), text);
            if r.fix_rounds > 0 {
                json(
                    &format!("scan after {} rounds of fixes, {format:?}", r.fix_rounds),
                    &r.fixed_report,
                );
            }
        }
    }
}

/// AddressSanitizer's defaults for the targets: no allocation stack traces
/// (recording one per allocation took a fifth of the time of a run; a Rust
/// panic, the usual crash, has its own backtrace), a 16 MB quarantine of
/// freed memory instead of 256 MB (fresh pages to fault in on every run, and
/// 400 MB of memory), and no filling of new allocations. `ASAN_OPTIONS`
/// overrides them, e.g. `ASAN_OPTIONS=malloc_context_size=30` to reproduce
/// a memory error with allocation stacks.
#[unsafe(no_mangle)]
pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
    c"malloc_context_size=0:quarantine_size_mb=16:max_malloc_fill_size=0".as_ptr()
}
