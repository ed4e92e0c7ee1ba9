//! Hostile input: node images built to trip the scanner up (symlink loops,
//! links out of the root, devices, FIFOs, unreadable and oversized files,
//! thousands of drop-ins, endless lines) and hostile bytes in every kind of
//! file promready reads (invalid UTF-8, BOMs, CRLF, NUL bytes, YAML bombs,
//! deep nesting, huge scalars, unterminated quotes, endless continuations).
//!
//! Everything is built in temporary directories at test time and run through
//! the binary under a watchdog ([`support::run_bin`]), so a panic, an abort,
//! a hang or an exit status outside 0/1/2 fails the test. Links that leave
//! the root point at "outside" twins of the image's files, kept in the
//! test's own temporary directory, each with an insecure setting: had one
//! been read, it would show as a finding; had one been written, its bytes
//! would differ. (The few links to host files such as `/etc/shadow` hold
//! nothing promready could report or rewrite.)

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]
// Case tables read best as one long function per property.
#![allow(clippy::too_many_lines)]
// Cases this system cannot set up (device nodes) are skipped with a word on
// standard error.
#![allow(clippy::print_stderr)]

#[macro_use]
mod support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::{Ran, link, put, remove, tree};

const UNIT: &str = "etc/systemd/system/kubelet.service";
const DROPIN_DIR: &str = "etc/systemd/system/kubelet.service.d";
const DROPIN: &str = "etc/systemd/system/kubelet.service.d/10-base.conf";
const ENV: &str = "etc/default/kubelet";
const CONFIG: &str = "etc/kubernetes/kubelet.yaml";
const MANIFESTS: &str = "etc/kubernetes/manifests";
const MANIFEST: &str = "etc/kubernetes/manifests/kube-scheduler.yaml";

/// promready's size cap for configuration files.
const MAX: usize = 4 * 1024 * 1024;

const CLEAN_UNIT: &str = "[Unit]\nDescription=kubelet\n\n[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/etc/kubernetes/kubelet.yaml $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n";
const CLEAN_DROPIN: &str = "[Service]\nEnvironment=\"DROPIN_ARGS=--v=2\"\n";
const CLEAN_ENV: &str = "KUBELET_EXTRA_ARGS=--node-labels=role=worker\n";
const CLEAN_CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\n";

fn scheduler(bind: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-scheduler\n    image: registry.k8s.io/kube-scheduler:v1.30.2\n    command:\n    - kube-scheduler\n    - --bind-address={bind}\n    - --kubeconfig=/etc/kubernetes/scheduler.conf\n    - --authentication-kubeconfig=/etc/kubernetes/scheduler.conf\n    - --authorization-kubeconfig=/etc/kubernetes/scheduler.conf\n"
    )
}

// The insecure twins: each sets something a clean image does not.
const BAD_UNIT: &str = "[Unit]\nDescription=kubelet\n\n[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/etc/kubernetes/kubelet.yaml --read-only-port=10255 $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n";
const BAD_DROPIN: &str = "[Service]\nEnvironment=\"DROPIN_ARGS=--read-only-port=10255\"\n";
const BAD_ENV: &str = "KUBELET_EXTRA_ARGS=--read-only-port=10255\n";
const BAD_CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\nreadOnlyPort: 10255\n";
const BAD_CLUSTER: &str = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.2\nclusterName: lab\n";

/// A clean kubeadm-style node image (kubelet unit, drop-in, environment
/// file, `KubeletConfiguration`, scheduler static pod) in `dir/root`, and
/// insecure twins of its files in `dir/outside`.
struct Image {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Image {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        put(&root, "usr/bin/kubelet", "#!/bin/sh\n");
        put(&root, UNIT, CLEAN_UNIT);
        put(&root, DROPIN, CLEAN_DROPIN);
        put(&root, ENV, CLEAN_ENV);
        put(&root, CONFIG, CLEAN_CONFIG);
        put(&root, MANIFEST, scheduler("0.0.0.0"));
        put(&outside, "kubelet.service", BAD_UNIT);
        put(&outside, "dropins/10-base.conf", BAD_DROPIN);
        put(&outside, "kubelet.env", BAD_ENV);
        put(&outside, "default/kubelet", BAD_ENV);
        put(&outside, "kubelet.yaml", BAD_CONFIG);
        put(
            &outside,
            "manifests/kube-scheduler.yaml",
            scheduler("127.0.0.1"),
        );
        Self {
            _dir: dir,
            root,
            outside,
        }
    }

    /// `scan --format json` of the root.
    fn scan(&self) -> Ran {
        pr!("scan", "--format", "json", self.root)
    }

    /// Scans (JSON and human) and, when there are findings, dry-runs `fix`;
    /// every run must be sane with one of `allowed`; returns the JSON report.
    #[track_caller]
    fn check(&self, what: &str, allowed: &[i32]) -> support::Report {
        let json = self.scan();
        json.sane(&format!("{what} (scan --format json)"), allowed);
        let human = pr!("scan", self.root);
        human.sane(&format!("{what} (scan)"), allowed);
        if json.status == Some(1) {
            let before = tree(&self.root);
            let diff = pr!("fix", "--diff", "--unsafe-fixes", self.root);
            // `fix` exits 0 when it would leave no findings.
            let fix_allowed: &[i32] = if allowed.contains(&2) {
                &[0, 1, 2]
            } else {
                &[0, 1]
            };
            diff.sane(&format!("{what} (fix --diff)"), fix_allowed);
            assert_eq!(
                before,
                tree(&self.root),
                "{what}: fix --diff wrote something"
            );
        }
        json.json()
    }
}

/// The in-image path (without the leading `/`) that an absolute host path
/// maps to: where a link climbing out of the root lands.
fn clamped(host: &Path) -> String {
    host.strip_prefix("/").unwrap().display().to_string()
}

/// Enough `../` to climb from anywhere in the test's directories to `/`.
fn up() -> String {
    "../".repeat(64)
}

/// A host path as a link target that climbs out of the root with `..`.
fn climbing(host: &Path) -> String {
    format!("{}{}", up(), host.strip_prefix("/").unwrap().display())
}

#[test]
fn the_clean_image_is_clean_and_its_twins_are_not() {
    let img = Image::new();
    let r = img.check("clean image", &[0]);
    assert!(r.findings().is_empty(), "{:?}", r.findings());
    // Each insecure twin, put in place, is found: so a twin that was read
    // through an escaping link would show as a finding.
    for (rel, twin, code) in [
        (UNIT, "kubelet.service", "PR010"),
        (DROPIN, "dropins/10-base.conf", "PR010"),
        (ENV, "kubelet.env", "PR010"),
        (CONFIG, "kubelet.yaml", "PR010"),
        (MANIFEST, "manifests/kube-scheduler.yaml", "PR004"),
    ] {
        let img = Image::new();
        std::fs::copy(img.outside.join(twin), img.root.join(rel)).unwrap();
        let r = img.check(rel, &[1]);
        assert_eq!(r.findings(), [format!("{code} {rel}")], "{rel}");
    }
}

#[test]
fn links_out_of_the_root_resolve_inside_it() {
    struct Case {
        what: &'static str,
        at: &'static str,
        target: fn(&Image) -> String,
        /// Whether the link climbs above the root with `..` (a notice).
        climbs: bool,
    }
    let cases = [
        Case {
            what: "unit, absolute",
            at: UNIT,
            target: |i| i.outside.join("kubelet.service").display().to_string(),
            climbs: false,
        },
        Case {
            what: "unit, relative",
            at: UNIT,
            target: |i| climbing(&i.outside.join("kubelet.service")),
            climbs: true,
        },
        Case {
            what: "drop-in directory, absolute",
            at: DROPIN_DIR,
            target: |i| i.outside.join("dropins").display().to_string(),
            climbs: false,
        },
        Case {
            what: "drop-in directory, relative",
            at: DROPIN_DIR,
            target: |i| climbing(&i.outside.join("dropins")),
            climbs: true,
        },
        Case {
            what: "drop-in, relative",
            at: DROPIN,
            target: |i| climbing(&i.outside.join("dropins/10-base.conf")),
            climbs: true,
        },
        Case {
            what: "environment file, relative",
            at: ENV,
            target: |i| climbing(&i.outside.join("kubelet.env")),
            climbs: true,
        },
        Case {
            what: "environment file, absolute",
            at: ENV,
            target: |i| i.outside.join("kubelet.env").display().to_string(),
            climbs: false,
        },
        Case {
            what: "environment file through /proc/self/root",
            at: ENV,
            target: |i| format!("/proc/self/root{}", i.outside.join("kubelet.env").display()),
            climbs: false,
        },
        Case {
            what: "environment file's directory, absolute",
            at: "etc/default",
            target: |i| i.outside.join("default").display().to_string(),
            climbs: false,
        },
        Case {
            what: "environment file's directory, relative",
            at: "etc/default",
            target: |i| climbing(&i.outside.join("default")),
            climbs: true,
        },
        Case {
            what: "KubeletConfiguration, relative",
            at: CONFIG,
            target: |i| climbing(&i.outside.join("kubelet.yaml")),
            climbs: true,
        },
        Case {
            what: "KubeletConfiguration through /proc/self/root",
            at: CONFIG,
            target: |i| {
                format!(
                    "/proc/self/root{}",
                    i.outside.join("kubelet.yaml").display()
                )
            },
            climbs: false,
        },
        Case {
            what: "manifest directory, absolute",
            at: MANIFESTS,
            target: |i| i.outside.join("manifests").display().to_string(),
            climbs: false,
        },
        Case {
            what: "static pod manifest, relative",
            at: MANIFEST,
            target: |i| climbing(&i.outside.join("manifests/kube-scheduler.yaml")),
            climbs: true,
        },
        Case {
            what: "environment file to ../../etc/shadow",
            at: ENV,
            target: |_| format!("{}etc/shadow", up()),
            climbs: true,
        },
        Case {
            what: "environment file to /etc/shadow",
            at: ENV,
            target: |_| "/etc/shadow".to_owned(),
            climbs: false,
        },
    ];
    for c in &cases {
        let img = Image::new();
        let target = (c.target)(&img);
        link(&img.root, c.at, &target);
        let outside_before = tree(&img.outside);
        let r = img.check(c.what, &[0]);
        assert!(
            r.findings().is_empty(),
            "{}: a file outside the root was read: {:?}",
            c.what,
            r.findings()
        );
        let outside = img.outside.display().to_string();
        for p in r.paths() {
            assert!(
                !p.contains("outside") && !p.contains("shadow") && !p.contains(&outside),
                "{}: reported a file that is not in the image: {p}",
                c.what
            );
        }
        if c.climbs {
            assert!(
                r.has_notice(c.at, "climbs above the image root"),
                "{}: no notice naming the link: {:?}",
                c.what,
                r.notices()
            );
        }
        // Fixing the image writes nothing outside it and keeps the link.
        let fixed = pr!("fix", "--unsafe-fixes", img.root);
        fixed.sane(c.what, &[0]);
        assert_eq!(
            outside_before,
            tree(&img.outside),
            "{}: fix wrote outside",
            c.what
        );
        assert_eq!(
            std::fs::read_link(img.root.join(c.at)).unwrap(),
            PathBuf::from(&target),
            "{}: the link was replaced",
            c.what
        );
    }
}

#[test]
fn a_climbing_link_is_read_and_fixed_where_the_image_would_find_it() {
    // The link climbs out of the root; inside the image it lands on the
    // in-image copy of the outside path, which is read, reported with the
    // link it came through, and fixed in place. The host's file, which has
    // the same insecure content, is never touched.
    let img = Image::new();
    let host = img.outside.join("kubelet.env");
    let inside = clamped(&host);
    put(&img.root, &inside, BAD_ENV);
    link(&img.root, ENV, climbing(&host));
    let r = img.check("climbing link with an in-image target", &[1]);
    assert_eq!(r.findings(), [format!("PR010 {inside}")]);
    let pr010 = r.0["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PR010");
    let f = &pr010.unwrap()["location"];
    assert_eq!(f["via"].as_str(), Some(ENV), "{f}");
    assert!(
        r.has_notice(ENV, "climbs above the image root"),
        "{:?}",
        r.notices()
    );

    let outside_before = tree(&img.outside);
    let fixed = pr!("fix", img.root);
    fixed.sane("fix through a climbing link", &[0]);
    assert_eq!(
        outside_before,
        tree(&img.outside),
        "fix wrote outside the root"
    );
    assert_eq!(
        std::fs::read_to_string(img.root.join(&inside)).unwrap(),
        "KUBELET_EXTRA_ARGS=--read-only-port=0\n"
    );
    assert!(
        std::fs::symlink_metadata(img.root.join(ENV))
            .unwrap()
            .is_symlink()
    );
    img.check("after fix", &[0]);
}

#[test]
fn symlink_loops_are_noticed_and_skipped() {
    // (what, links to make, paths a notice may name)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        ("unit, self", &[(UNIT, "kubelet.service")], &[UNIT]),
        (
            "unit, a -> b -> a",
            &[
                (UNIT, "kubelet-b.service"),
                ("etc/systemd/system/kubelet-b.service", "kubelet.service"),
            ],
            &[UNIT, "etc/systemd/system/kubelet-b.service"],
        ),
        (
            "unit, absolute self",
            &[(UNIT, "/etc/systemd/system/kubelet.service")],
            &[UNIT],
        ),
        (
            "drop-in directory, self",
            &[(DROPIN_DIR, "kubelet.service.d")],
            &[DROPIN_DIR],
        ),
        ("drop-in, self", &[(DROPIN, "10-base.conf")], &[DROPIN]),
        (
            "drop-in, a -> b -> a",
            &[
                (DROPIN, "20-b.conf"),
                (
                    "etc/systemd/system/kubelet.service.d/20-b.conf",
                    "10-base.conf",
                ),
            ],
            &[DROPIN, "etc/systemd/system/kubelet.service.d/20-b.conf"],
        ),
        ("environment file, self", &[(ENV, "kubelet")], &[ENV]),
        (
            "environment file, a -> b -> a",
            &[
                (ENV, "/etc/default/b"),
                ("etc/default/b", "../default/kubelet"),
            ],
            &[ENV, "etc/default/b"],
        ),
        (
            "environment file's directory, self",
            &[("etc/default", "default")],
            &["etc/default"],
        ),
        (
            "KubeletConfiguration, self",
            &[(CONFIG, "kubelet.yaml")],
            &[CONFIG],
        ),
        (
            "manifest directory, self",
            &[(MANIFESTS, "manifests")],
            &[MANIFESTS],
        ),
        (
            "static pod manifest, self",
            &[(MANIFEST, "kube-scheduler.yaml")],
            &[MANIFEST],
        ),
    ];
    for (what, links, named) in cases {
        let img = Image::new();
        for (at, target) in *links {
            link(&img.root, at, target);
        }
        let r = img.check(what, &[0]);
        let notices = r.notices();
        assert!(
            notices.iter().any(|n| named
                .iter()
                .any(|p| n.starts_with(&format!("{p}: too many levels of symbolic links")))),
            "{what}: no loop notice naming {named:?}: {notices:?}"
        );
    }
}

#[test]
fn a_directory_loop_inside_the_drop_in_directory_is_not_walked() {
    let img = Image::new();
    link(&img.root, &format!("{DROPIN_DIR}/loop.conf"), ".");
    link(&img.root, &format!("{DROPIN_DIR}/up.conf"), "..");
    link(&img.root, "etc/systemd/system/system", ".");
    let r = img.check("directory loops", &[0]);
    assert!(
        r.has_notice(DROPIN_DIR, "not a regular file"),
        "{:?}",
        r.notices()
    );
}

/// Special files put where the image's files are.
#[derive(Clone, Copy, Debug)]
enum Special {
    Dir,
    Fifo,
    Socket,
    CharDevice,
}

/// Makes `path` a special file; false when this system does not allow it.
fn make_special(path: &Path, kind: Special) -> bool {
    remove(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    match kind {
        Special::Dir => std::fs::create_dir(path).is_ok(),
        Special::Fifo => rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .is_ok(),
        Special::Socket => std::os::unix::net::UnixListener::bind(path).is_ok(),
        // /dev/zero's numbers: endless bytes if anything ever read it.
        Special::CharDevice => rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o644),
            rustix::fs::makedev(1, 5),
        )
        .is_ok(),
    }
}

/// The image's files in groups that can be made hostile together: without
/// the unit nothing else is read, and without the `KubeletConfiguration` (its
/// `staticPodPath`) no manifest is.
const GROUPS: [&[&str]; 3] = [&[UNIT], &[DROPIN, ENV, CONFIG], &[MANIFEST]];

#[test]
fn directories_fifos_sockets_and_devices_are_skipped_with_a_notice() {
    for kind in [
        Special::Dir,
        Special::Fifo,
        Special::Socket,
        Special::CharDevice,
    ] {
        for group in GROUPS {
            let img = Image::new();
            if !group
                .iter()
                .all(|at| make_special(&img.root.join(at), kind))
            {
                eprintln!("skipped: cannot make a {kind:?} here");
                continue;
            }
            let what = format!("{group:?} as a {kind:?}");
            let r = img.check(&what, &[0]);
            for at in group {
                assert!(
                    r.has_notice(at, "not a regular file; skipped"),
                    "{what}: no notice on {at}: {:?}",
                    r.notices()
                );
            }
        }
    }
}

#[test]
fn links_to_devices_and_proc_files_are_never_opened() {
    // Inside the image these paths do not exist: there is nothing to read,
    // and nothing blocks or streams.
    for t in [
        "/dev/zero",
        "/dev/urandom",
        "/dev/tty",
        "/proc/self/environ",
        "/proc/self/fd/0",
        "/proc/kmsg",
    ] {
        for group in GROUPS {
            let img = Image::new();
            for at in group {
                link(&img.root, at, t);
            }
            let r = img.check(&format!("{group:?} -> {t}"), &[0]);
            assert!(r.findings().is_empty());
        }
    }
    // The image has its own /dev and /proc: a device node in place of
    // /dev/zero and a FIFO in place of /proc/self/environ (opening a FIFO
    // blocks until a writer comes). They are skipped, not opened.
    for group in GROUPS {
        let img = Image::new();
        let dev = make_special(&img.root.join("dev/zero"), Special::CharDevice);
        assert!(make_special(
            &img.root.join("proc/self/environ"),
            Special::Fifo
        ));
        for (t, shown) in [
            ("/dev/zero", "dev/zero"),
            ("../../../../../../proc/self/environ", "proc/self/environ"),
        ] {
            if shown == "dev/zero" && !dev {
                eprintln!("skipped: cannot make a device node here");
                continue;
            }
            for at in group {
                link(&img.root, at, t);
            }
            let what = format!("{group:?} -> in-image {shown}");
            let r = img.check(&what, &[0]);
            assert!(
                r.has_notice(shown, "not a regular file; skipped"),
                "{what}: {:?}",
                r.notices()
            );
        }
    }
}

#[test]
fn unreadable_files_are_read_by_root_or_refused_with_their_path() {
    for at in [UNIT, DROPIN, ENV, CONFIG, MANIFEST, DROPIN_DIR, MANIFESTS] {
        let img = Image::new();
        // An insecure file, so that whether it was read shows.
        match at {
            UNIT => put(&img.root, at, BAD_UNIT),
            DROPIN => put(&img.root, at, BAD_DROPIN),
            ENV => put(&img.root, at, BAD_ENV),
            CONFIG => put(&img.root, at, BAD_CONFIG),
            MANIFEST => put(&img.root, at, scheduler("127.0.0.1")),
            DROPIN_DIR => put(&img.root, DROPIN, BAD_DROPIN),
            _ => put(&img.root, MANIFEST, scheduler("127.0.0.1")),
        };
        let p = img.root.join(at);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root (CAP_DAC_OVERRIDE) reads it anyway; anyone else cannot.
        let privileged = if p.is_dir() {
            std::fs::read_dir(&p).is_ok()
        } else {
            std::fs::read(&p).is_ok()
        };
        let json = img.scan();
        if privileged {
            json.sane(at, &[1]);
            assert!(!json.json().findings().is_empty(), "{at}: not read");
        } else {
            json.sane(at, &[2]);
            assert!(
                json.stderr.contains("cannot read") && json.stderr.contains(at),
                "{at}: {}",
                json.stderr
            );
        }
        // Fixing it (as root) keeps its mode: a replaced file gets the
        // original's mode, not the temp file's 0600.
        let fixed = pr!("fix", img.root);
        fixed.sane(at, &[0, 1, 2]);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0, "{at}: mode changed to {mode:o}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Text of exactly `len` bytes: `head`, then comment lines, then `tail`.
fn padded(head: &str, tail: &str, len: usize) -> Vec<u8> {
    let mut out = head.as_bytes().to_vec();
    let line = format!("#{}\n", "x".repeat(1022));
    while out.len() + line.len() + tail.len() <= len {
        out.extend_from_slice(line.as_bytes());
    }
    let rest = len - out.len() - tail.len();
    if rest > 0 {
        out.push(b'#');
        out.resize(out.len() + rest - 1, b'x');
        if rest > 1 {
            *out.last_mut().unwrap() = b'\n';
        }
    }
    out.extend_from_slice(tail.as_bytes());
    assert_eq!(out.len(), len);
    out
}

#[test]
fn files_over_the_size_cap_are_skipped_with_a_notice() {
    // At the cap the file is read (the insecure setting at its very end is
    // found); one byte over, it is skipped with a notice naming it.
    for (at, head, tail, code) in [
        (UNIT, "", BAD_UNIT, "PR010"),
        (DROPIN, "", BAD_DROPIN, "PR010"),
        (ENV, "", BAD_ENV, "PR010"),
        (CONFIG, BAD_CONFIG, "", "PR010"),
        (MANIFEST, &scheduler("127.0.0.1") as &str, "", "PR004"),
    ] {
        let img = Image::new();
        put(&img.root, at, padded(head, tail, MAX));
        let r = img.scan();
        r.sane(&format!("{at} at the cap"), &[1]);
        assert_eq!(
            r.json().findings(),
            [format!("{code} {at}")],
            "{at} at the cap"
        );

        put(&img.root, at, padded(head, tail, MAX + 1));
        let r = img.check(&format!("{at} over the cap"), &[0]);
        assert!(
            r.has_notice(at, "over the 4194304-byte limit"),
            "{at}: {:?}",
            r.notices()
        );
        // A sparse 1 GiB file costs nothing: it is never read.
        let f = std::fs::File::create(img.root.join(at)).unwrap();
        f.set_len(1 << 30).unwrap();
        let r = img.check(&format!("{at} of 1 GiB"), &[0]);
        assert!(r.has_notice(at, "limit"), "{at}: {:?}", r.notices());
    }
}

#[test]
fn a_named_file_over_the_size_cap_is_skipped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let p = put(dir.path(), "kubelet.yaml", padded(BAD_CONFIG, "", MAX + 1));
    let r = pr!("scan", "--format", "json", p);
    r.sane("named file over the cap", &[0]);
    let shown = p.display().to_string();
    assert!(
        r.json().has_notice(&shown, "size limit"),
        "{:?}",
        r.json().notices()
    );
    put(dir.path(), "kubelet.yaml", padded(BAD_CONFIG, "", MAX));
    let r = pr!("scan", "--format", "json", p);
    r.sane("named file at the cap", &[1]);
}

#[test]
fn a_config_directory_file_over_the_size_cap_is_noticed() {
    // Found by this test: such a file used to be skipped without a word.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    put(&repo, "cluster.yaml", padded(BAD_CLUSTER, "", MAX + 1));
    let r = pr!("scan", "--format", "json", repo);
    r.sane("repo file over the cap", &[0]);
    assert!(
        r.json().has_notice("cluster.yaml", "limit"),
        "the oversized kubeadm config was ignored silently: {:?}",
        r.json().notices()
    );
}

#[test]
fn ten_thousand_drop_ins_are_all_applied_in_order() {
    let img = Image::new();
    for i in 0..10_000 {
        put(
            &img.root,
            &format!("{DROPIN_DIR}/{i:05}-x.conf"),
            format!("[Service]\nEnvironment=\"DROPIN_ARGS=--v={}\"\n", i % 10),
        );
    }
    // The last one in lexicographic order decides.
    let last = format!("{DROPIN_DIR}/99999-last.conf");
    put(&img.root, &last, BAD_DROPIN);
    let start = std::time::Instant::now();
    let r = img.scan();
    r.sane("10,000 drop-ins", &[1]);
    assert_eq!(r.json().findings(), [format!("PR010 {last}")]);
    let fixed = pr!("fix", img.root);
    fixed.sane("fix with 10,000 drop-ins", &[0]);
    assert_eq!(
        std::fs::read_to_string(img.root.join(&last)).unwrap(),
        "[Service]\nEnvironment=\"DROPIN_ARGS=--read-only-port=0\"\n"
    );
    let r = img.scan();
    r.sane("10,000 drop-ins after fix", &[0]);
    assert!(
        start.elapsed() < support::HANG,
        "10,000 drop-ins took {:?}",
        start.elapsed()
    );
}

/// A 100,000-character line in every kind of file, with the insecure
/// setting at its end (past column 65,535, which the human renderer cannot
/// draw: see `human_output_survives_a_finding_past_column_65535`).
#[test]
fn hundred_thousand_character_lines() {
    let filler = |n: usize| " --node-labels=a".repeat(n / 16);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            UNIT,
            format!(
                "[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/etc/kubernetes/kubelet.yaml{} --read-only-port=10255 $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n",
                filler(100_000)
            ),
            "PR010",
        ),
        (
            DROPIN,
            format!(
                "[Service]\nEnvironment=\"DROPIN_ARGS={} --read-only-port=10255\"\n",
                filler(100_000)
            ),
            "PR010",
        ),
        (
            ENV,
            format!(
                "KUBELET_EXTRA_ARGS=\"{} --read-only-port=10255\"\n",
                filler(100_000)
            ),
            "PR010",
        ),
        (
            CONFIG,
            format!(
                "{{apiVersion: kubelet.config.k8s.io/v1beta1, kind: KubeletConfiguration, staticPodPath: /etc/kubernetes/manifests, x: \"{}\", readOnlyPort: 10255}}\n",
                "a".repeat(100_000)
            ),
            "PR010",
        ),
        (
            MANIFEST,
            format!(
                "{{apiVersion: v1, kind: Pod, spec: {{containers: [{{name: s, image: \"registry.k8s.io/kube-scheduler:v1.30.2\", command: [kube-scheduler, {} --authentication-kubeconfig=/etc/kubernetes/scheduler.conf, --authorization-kubeconfig=/etc/kubernetes/scheduler.conf, --bind-address=127.0.0.1]}}]}}}}\n",
                "--v=2, ".repeat(100_000 / 7)
            ),
            "PR004",
        ),
    ];
    for (at, text, code) in cases {
        assert!(text.lines().any(|l| l.len() >= 100_000));
        let img = Image::new();
        put(&img.root, at, &text);
        let r = img.scan();
        r.sane(&format!("{at} with a long line"), &[1]);
        assert_eq!(r.json().findings(), [format!("{code} {at}")], "{at}");
        let human = pr!("scan", img.root);
        human.sane(&format!("{at} with a long line (human)"), &[1]);
        assert!(
            human.stdout.contains(code),
            "{at}: {}",
            support::tail(&human.stdout)
        );
        let fixed = pr!("fix", "--diff", img.root);
        fixed.sane(&format!("{at} with a long line (fix --diff)"), &[1]);
    }
}

#[test]
fn human_output_survives_a_finding_past_column_65535() {
    // Found by this test: miette panicked ("Formatting argument out of
    // range") drawing a label past column 65,535.
    let dir = tempfile::tempdir().unwrap();
    let p = put(
        dir.path(),
        "kubelet.env",
        format!(
            "KUBELET_EXTRA_ARGS=\"--node-labels={} --read-only-port=10255\"\n",
            "a".repeat(70_000)
        ),
    );
    let r = pr!("scan", p);
    r.sane("human report of a finding at column 70,035", &[1]);
    assert!(
        r.stdout.contains("PR010") && r.stdout.contains(&*p.to_string_lossy()),
        "{}",
        support::tail(&r.stdout)
    );
}

// ---------------------------------------------------------------------------
// Hostile content in every kind of file.

/// Where a file of a given kind is put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unit,
    DropIn,
    EnvFile,
    KubeletConfig,
    StaticPod,
    /// A kubeadm `ClusterConfiguration` in a configuration directory.
    RepoConfig,
    /// A `KubeletConfiguration` named on the command line.
    Named,
}

const KINDS: [Kind; 7] = [
    Kind::Unit,
    Kind::DropIn,
    Kind::EnvFile,
    Kind::KubeletConfig,
    Kind::StaticPod,
    Kind::RepoConfig,
    Kind::Named,
];

impl Kind {
    /// Insecure content of this kind: what a scan must find.
    fn baseline(self) -> String {
        match self {
            Kind::Unit => BAD_UNIT.to_owned(),
            Kind::DropIn => BAD_DROPIN.to_owned(),
            Kind::EnvFile => BAD_ENV.to_owned(),
            Kind::KubeletConfig | Kind::Named => BAD_CONFIG.to_owned(),
            Kind::StaticPod => scheduler("127.0.0.1"),
            Kind::RepoConfig => BAD_CLUSTER.to_owned(),
        }
    }

    fn yaml(self) -> bool {
        matches!(
            self,
            Kind::KubeletConfig | Kind::StaticPod | Kind::RepoConfig | Kind::Named
        )
    }
}

/// An input holding one file of a kind.
struct Input {
    _img: Option<Image>,
    _dir: Option<tempfile::TempDir>,
    /// What to pass on the command line.
    target: PathBuf,
    /// The file.
    file: PathBuf,
    /// The file's path as reports show it.
    shown: String,
}

fn input(kind: Kind, bytes: &[u8]) -> Input {
    let rel = match kind {
        Kind::Unit => UNIT,
        Kind::DropIn => DROPIN,
        Kind::EnvFile => ENV,
        Kind::KubeletConfig => CONFIG,
        Kind::StaticPod => MANIFEST,
        Kind::RepoConfig => "cluster.yaml",
        Kind::Named => "kubelet.yaml",
    };
    match kind {
        Kind::RepoConfig | Kind::Named => {
            let dir = tempfile::tempdir().unwrap();
            let repo = dir.path().join("repo");
            let file = put(&repo, rel, bytes);
            let (target, shown) = if kind == Kind::Named {
                (file.clone(), file.display().to_string())
            } else {
                (repo, rel.to_owned())
            };
            Input {
                _img: None,
                _dir: Some(dir),
                target,
                file,
                shown,
            }
        }
        _ => {
            let img = Image::new();
            let file = put(&img.root, rel, bytes);
            Input {
                target: img.root.clone(),
                _img: Some(img),
                _dir: None,
                file,
                shown: rel.to_owned(),
            }
        }
    }
}

/// What a scan of hostile content must report besides not crashing.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Exactly the findings of the plain baseline.
    Same,
    /// A notice on the file containing this text.
    Notice(&'static str),
    /// A finding of PR012 (the component will not start) on the file,
    /// containing this text.
    Refused(&'static str),
    /// No crash, no hang; the result is not specified.
    Sane,
}

/// What a YAML file that does not parse gives: the kubelet refuses its
/// configuration file (a finding); other YAML the scan reads gets a notice.
fn unparsable(k: Kind, text: &'static str) -> Expect {
    match k {
        // A kubelet configuration or a component's static pod that does not
        // parse: that component does not start (PR012).
        Kind::KubeletConfig | Kind::StaticPod => Expect::Refused(text),
        _ if k.yaml() && !matches!(k, Kind::RepoConfig | Kind::Named) => Expect::Notice(text),
        _ => Expect::Sane,
    }
}

/// A hostile variant of a file's content.
struct Variant {
    name: &'static str,
    make: fn(Kind, &str) -> Vec<u8>,
    expect: fn(Kind) -> Expect,
    /// A large input: `fix --diff` instead of two real fixes, to keep the
    /// suite fast.
    large: bool,
}

/// A deterministic byte stream (64-bit LCG) for "random" content.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

/// The "billion laughs" document: nine levels of ten aliases each.
fn billion_laughs(kind: Kind, base: &str) -> Vec<u8> {
    let mut s = if kind.yaml() {
        base.to_owned()
    } else {
        String::new()
    };
    s.push_str("lol0: &lol0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let prev = i - 1;
        let items: Vec<String> = (0..10).map(|_| format!("*lol{prev}")).collect();
        writeln!(s, "lol{i}: &lol{i} [{}]", items.join(", ")).unwrap();
    }
    s.into_bytes()
}

fn variants() -> Vec<Variant> {
    vec![
        Variant {
            name: "empty",
            make: |_, _| Vec::new(),
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "byte-order mark",
            make: |_, b| format!("\u{feff}{b}").into_bytes(),
            // systemd does not skip a BOM in environment files: the first
            // name becomes invalid (and so is the finding's setting).
            expect: |k| {
                if k == Kind::EnvFile {
                    Expect::Sane
                } else {
                    Expect::Same
                }
            },
            large: false,
        },
        Variant {
            name: "CRLF",
            make: |_, b| b.replace('\n', "\r\n").into_bytes(),
            expect: |_| Expect::Same,
            large: false,
        },
        Variant {
            name: "CR only",
            make: |_, b| b.replace('\n', "\r").into_bytes(),
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "invalid UTF-8 in a comment",
            make: |_, b| {
                let mut v = b"# \xff\xfe\xc3\x28 \x80\n".to_vec();
                v.extend_from_slice(b.as_bytes());
                v
            },
            expect: |_| Expect::Same,
            large: false,
        },
        Variant {
            name: "invalid UTF-8 everywhere",
            make: |_, b| {
                b.bytes()
                    .flat_map(|c| {
                        if c == b'=' || c == b':' {
                            vec![c, 0xff]
                        } else {
                            vec![c]
                        }
                    })
                    .collect()
            },
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "NUL bytes",
            make: |_, b| {
                let mut v = b"#\0\0\0\n".to_vec();
                v.extend_from_slice(
                    &b.as_bytes()
                        .iter()
                        .flat_map(|&c| if c == b' ' { vec![0, c] } else { vec![c] })
                        .collect::<Vec<u8>>(),
                );
                v
            },
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "billion laughs",
            make: billion_laughs,
            expect: |k| unparsable(k, "billion-laughs"),
            large: false,
        },
        Variant {
            name: "10,000-deep flow nesting",
            make: |k, b| {
                let mut s = if k.yaml() {
                    b.to_owned()
                } else {
                    String::new()
                };
                s.push_str("deep: ");
                s.push_str(&"[".repeat(10_000));
                s.push_str(&"]".repeat(10_000));
                s.push('\n');
                s.into_bytes()
            },
            expect: |k| unparsable(k, "invalid YAML"),
            large: false,
        },
        Variant {
            name: "10,000-deep mapping nesting",
            make: |k, b| {
                let mut s = if k.yaml() {
                    b.to_owned()
                } else {
                    String::new()
                };
                s.push_str("deep: ");
                s.push_str(&"{a: ".repeat(10_000));
                s.push('1');
                s.push_str(&"}".repeat(10_000));
                s.push('\n');
                s.into_bytes()
            },
            expect: |k| unparsable(k, "invalid YAML"),
            large: false,
        },
        Variant {
            name: "300-deep block nesting",
            make: |k, b| {
                let mut s = if k.yaml() {
                    b.to_owned()
                } else {
                    String::new()
                };
                for i in 0..300 {
                    s.push_str(&" ".repeat(i));
                    s.push_str("n:\n");
                }
                s.into_bytes()
            },
            expect: |k| unparsable(k, "invalid YAML"),
            large: false,
        },
        Variant {
            name: "512 KiB scalar",
            make: |k, b| {
                let big = "a".repeat(512 << 10);
                let extra = match k {
                    Kind::Unit | Kind::DropIn => format!("Environment=\"BIG={big}\"\n"),
                    Kind::EnvFile => format!("BIG=\"{big}\"\n"),
                    _ => format!("big: \"{big}\"\n"),
                };
                // The extra line goes where it does not change the meaning.
                match k {
                    Kind::Unit | Kind::DropIn => {
                        b.replacen("[Service]\n", &format!("[Service]\n{extra}"), 1)
                    }
                    Kind::StaticPod => b.replacen("metadata:\n", &format!("{extra}metadata:\n"), 1),
                    _ => format!("{b}{extra}"),
                }
                .into_bytes()
            },
            expect: |_| Expect::Same,
            large: true,
        },
        Variant {
            name: "unterminated quote",
            make: |k, b| {
                match k {
                    Kind::Unit => b.replace("--read-only-port=10255", "\"--read-only-port=10255"),
                    Kind::DropIn => b.replacen("10255\"", "10255", 1),
                    Kind::EnvFile => b.replacen("=--", "=\"--", 1),
                    _ => format!("{b}x: \"never closed\n"),
                }
                .into_bytes()
            },
            expect: |k| match k {
                // systemd does not load the unit: the kubelet never starts (PR012).
                Kind::Unit => Expect::Refused("unbalanced quoting in ExecStart="),
                Kind::DropIn => Expect::Notice("invalid quoting or escape in Environment="),
                // An unterminated quote runs to the end of the file, as in
                // systemd: the setting is still there.
                Kind::EnvFile => Expect::Same,
                Kind::KubeletConfig | Kind::StaticPod => Expect::Refused("invalid YAML"),
                Kind::RepoConfig | Kind::Named => Expect::Sane,
            },
            large: false,
        },
        Variant {
            name: "endless backslash continuations",
            make: |_, b| {
                let mut s = b.to_owned();
                s.push_str("X=1 \\\n");
                s.push_str(&"\\\n".repeat(100_000));
                s.push_str(&"--v=2 \\\n".repeat(2_000));
                // and a backslash at the very end of the file
                s.push('\\');
                s.into_bytes()
            },
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "unbalanced quotes everywhere",
            make: |_, b| {
                let mut s = b.to_owned();
                s.push_str("A=\"x\nB='y\nC=\"z\\\"\nD=`q\n");
                s.into_bytes()
            },
            expect: |_| Expect::Sane,
            large: false,
        },
        Variant {
            name: "64 KiB of noise",
            make: |k, _| noise(64 << 10, k as u64 + 1),
            expect: |_| Expect::Sane,
            large: true,
        },
        Variant {
            name: "noise after the content",
            make: |k, b| {
                let mut v = b.as_bytes().to_vec();
                v.extend(noise(4096, k as u64 + 100));
                v
            },
            expect: |_| Expect::Sane,
            large: true,
        },
    ]
}

fn hostile_content(kind: Kind) {
    let base = kind.baseline();
    let plain = input(kind, base.as_bytes());
    let json = |i: &Input| pr!("scan", "--format", "json", i.target);
    // Findings as `CODE path`, the file's own path made the same for every
    // input.
    let findings = |i: &Input, r: &support::Report| -> Vec<String> {
        r.findings()
            .iter()
            .map(|f| f.replace(&i.shown, "<file>"))
            .collect()
    };
    let r = json(&plain);
    r.sane(&format!("{kind:?} baseline"), &[1]);
    let want = findings(&plain, &r.json());
    assert!(
        !want.is_empty(),
        "{kind:?}: the baseline must have findings"
    );

    for v in variants() {
        let what = format!("{kind:?} with {}", v.name);
        let i = input(kind, &(v.make)(kind, &base));
        let r = json(&i);
        r.sane(&what, &[0, 1, 2]);
        if r.status == Some(2) {
            // An input error names the input.
            assert!(
                r.stderr.contains(&*i.target.to_string_lossy()),
                "{what}: {}",
                r.stderr
            );
        } else {
            let report = r.json();
            match (v.expect)(kind) {
                Expect::Same => assert_eq!(findings(&i, &report), want, "{what}"),
                Expect::Notice(text) => assert!(
                    report.has_notice(&i.shown, text),
                    "{what}: no notice on {} with {text:?}: {:?}",
                    i.shown,
                    report.notices()
                ),
                Expect::Refused(text) => assert!(
                    report.has_finding("PR012", &i.shown, text),
                    "{what}: no PR012 finding on {} with {text:?}: {:?}",
                    i.shown,
                    report.findings()
                ),
                Expect::Sane => {}
            }
        }
        pr!("scan", i.target).sane(&format!("{what} (human)"), &[0, 1, 2]);
        let before = std::fs::read(&i.file).unwrap();
        if v.large {
            pr!("fix", "--diff", "--unsafe-fixes", i.target)
                .sane(&format!("{what} (fix --diff)"), &[0, 1, 2]);
            assert_eq!(
                before,
                std::fs::read(&i.file).unwrap(),
                "{what}: fix --diff wrote"
            );
        } else {
            // Fixing hostile content converges like any other: a second
            // `fix` changes nothing.
            let first = pr!("fix", "--unsafe-fixes", i.target);
            first.sane(&format!("{what} (fix)"), &[0, 1, 2]);
            if first.status == Some(2) {
                // An input error (see `paths_the_system_cannot_look_up_do_not_stop_the_scan`):
                // nothing was written, nothing to converge.
                assert_eq!(before, std::fs::read(&i.file).unwrap(), "{what}");
                continue;
            }
            let fixed = std::fs::read(&i.file).unwrap();
            let second = pr!("fix", "--unsafe-fixes", i.target);
            second.sane(&format!("{what} (second fix)"), &[0, 1, 2]);
            assert!(
                second.stdout.contains("fixed 0 findings in 0 files"),
                "{what}: the second fix did something:\n{}\n{}",
                first.stdout,
                second.stdout
            );
            assert_eq!(
                fixed,
                std::fs::read(&i.file).unwrap(),
                "{what}: second fix wrote"
            );
        }
    }
}

#[test]
fn hostile_content_in_a_unit() {
    hostile_content(Kind::Unit);
}

#[test]
fn hostile_content_in_a_drop_in() {
    hostile_content(Kind::DropIn);
}

#[test]
fn hostile_content_in_an_environment_file() {
    hostile_content(Kind::EnvFile);
}

#[test]
fn hostile_content_in_a_kubelet_configuration() {
    hostile_content(Kind::KubeletConfig);
}

#[test]
fn hostile_content_in_a_static_pod_manifest() {
    hostile_content(Kind::StaticPod);
}

#[test]
fn hostile_content_in_a_kubeadm_config_in_a_directory() {
    hostile_content(Kind::RepoConfig);
}

#[test]
fn hostile_content_in_a_named_file() {
    hostile_content(Kind::Named);
}

#[test]
fn fix_refuses_to_rewrite_a_file_that_is_not_utf8() {
    for kind in KINDS {
        let mut bytes = b"# \xff\xfe legacy encoding\n".to_vec();
        bytes.extend_from_slice(kind.baseline().as_bytes());
        let i = input(kind, &bytes);
        let r = pr!("fix", "--unsafe-fixes", i.target);
        r.sane(&format!("{kind:?}"), &[1]);
        assert_eq!(
            std::fs::read(&i.file).unwrap(),
            bytes,
            "{kind:?}: rewritten"
        );
        assert!(
            r.stdout.contains("is not valid UTF-8; edit it by hand") && r.stdout.contains(&i.shown),
            "{kind:?}: {}",
            r.stdout
        );
    }
}

#[test]
fn aliases_of_a_large_scalar_do_not_exhaust_memory() {
    // 1.06 MB of YAML, far below the size cap and the alias-node cap (2,000
    // nodes). Found by this test: each alias copied the 1 MiB scalar, 2 GB
    // in all, and the scan aborted. Run under a 1 GiB address-space limit so
    // that a regression is an abort, not the OOM killer.
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nbig: &big \"",
    );
    s.push_str(&"x".repeat(1 << 20));
    s.push_str("\"\nmany: [");
    s.push_str(&vec!["*big"; 2000].join(", "));
    s.push_str("]\nreadOnlyPort: 10255\n");
    let p = put(dir.path(), "kubelet.yaml", s);
    let script = format!(
        "ulimit -v 1048576; exec '{}' scan --format json '{}'",
        support::BIN,
        p.display()
    );
    let r = support::run_program("sh", &["-c", &script], &[]);
    r.sane("2,000 aliases of a 1 MiB scalar", &[0, 1, 2]);
}

#[test]
fn merge_keys_are_not_quadratic() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nm: &m\n",
    );
    for i in 0..40_000 {
        writeln!(s, "  k{i}: 1").unwrap();
    }
    s.push_str("x:\n  <<: *m\n");
    let p = put(dir.path(), "kubelet.yaml", s);
    // Found by this test: the merge was quadratic (about 18 s here in a
    // debug build; now well under a second).
    let r = pr!("scan", p);
    r.sane("merge of 40,000 keys", &[0, 1]);
    assert!(
        r.elapsed < std::time::Duration::from_secs(5),
        "a 470 KB file took {:?}",
        r.elapsed
    );
}

#[test]
fn fix_adds_keys_to_a_yaml_file_with_a_byte_order_mark() {
    // Found by this test: with a BOM, every fix that added a key to the
    // root mapping was refused as if the document were a flow mapping
    // ("flow-style mappings are left alone").
    for (name, text) in [
        ("kubeadm.yaml", BAD_CLUSTER),
        (
            "kube-proxy.yaml",
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        put(&repo, name, format!("\u{feff}{text}"));
        let r = pr!("fix", repo);
        r.sane(name, &[0, 1]);
        assert_eq!(r.status, Some(0), "{name}: findings left:\n{}", r.stdout);
    }
}

#[test]
fn a_byte_order_mark_is_kept_by_fixes_that_rewrite_in_place() {
    let cases: [(Kind, &str, &str); 3] = [
        (Kind::Unit, BAD_UNIT, "--read-only-port=0"),
        (Kind::DropIn, BAD_DROPIN, "DROPIN_ARGS=--read-only-port=0"),
        (Kind::KubeletConfig, BAD_CONFIG, "readOnlyPort: 0"),
    ];
    for (kind, text, fixed) in cases {
        let i = input(kind, format!("\u{feff}{text}").as_bytes());
        let r = pr!("fix", i.target);
        r.sane(&format!("{kind:?}"), &[0]);
        let after = std::fs::read_to_string(&i.file).unwrap();
        assert!(
            after.starts_with('\u{feff}') && after.contains(fixed),
            "{kind:?}: {after:?}"
        );
    }
}

#[test]
fn links_inside_the_image_are_followed_and_never_replaced() {
    // Merged /usr: /lib -> usr/lib; /etc/default/kubelet -> a file elsewhere
    // in the image. Findings name the real file and the link; the fix
    // writes the real file and leaves the links as they were.
    let img = Image::new();
    remove(&img.root.join(UNIT));
    put(
        &img.root,
        "usr/lib/systemd/system/kubelet.service",
        CLEAN_UNIT.replace("$DROPIN_ARGS", "--address=127.0.0.1 $DROPIN_ARGS"),
    );
    link(&img.root, "lib", "usr/lib");
    put(&img.root, "opt/kubelet/env", BAD_ENV);
    link(&img.root, ENV, "/opt/kubelet/env");
    let r = img.check("merged /usr", &[1]);
    assert_eq!(
        r.findings(),
        [
            "PR007 usr/lib/systemd/system/kubelet.service",
            "PR010 opt/kubelet/env",
        ],
    );
    let fixed = pr!("fix", img.root);
    fixed.sane("fix through in-image links", &[0]);
    assert!(
        std::fs::symlink_metadata(img.root.join("lib"))
            .unwrap()
            .is_symlink()
    );
    assert!(
        std::fs::symlink_metadata(img.root.join(ENV))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(img.root.join("opt/kubelet/env")).unwrap(),
        "KUBELET_EXTRA_ARGS=--read-only-port=0\n"
    );
    img.check("merged /usr after fix", &[0]);
}

#[test]
fn hard_linked_files_are_left_alone() {
    let img = Image::new();
    put(&img.root, ENV, BAD_ENV);
    std::fs::hard_link(img.root.join(ENV), img.root.join("etc/kubelet.bak")).unwrap();
    let before = tree(&img.root);
    let r = pr!("fix", img.root);
    r.sane("hard link", &[1]);
    assert!(
        r.stdout.contains(&format!("{ENV}: it has 2 hard links")),
        "{}",
        r.stdout
    );
    assert_eq!(before, tree(&img.root));
}

#[test]
fn symlinked_files_in_a_directory_or_on_the_command_line_are_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    put(&repo, "cluster.yaml", BAD_CLUSTER);
    link(&repo, "link.yaml", "cluster.yaml");
    // Named through the link: fixed at its target (as an archive is), the
    // link stays a link.
    let r = pr!("fix", repo.join("link.yaml"));
    r.sane("named symlink", &[0, 1]);
    assert_ne!(
        std::fs::read_to_string(repo.join("cluster.yaml")).unwrap(),
        BAD_CLUSTER
    );
    assert_eq!(
        std::fs::read_link(repo.join("link.yaml")).unwrap(),
        PathBuf::from("cluster.yaml")
    );
    put(&repo, "cluster.yaml", BAD_CLUSTER);
    // In a directory: the file is fixed, the link stays a link.
    let r = pr!("fix", repo);
    r.sane("symlink in a directory", &[0, 1]);
    assert_ne!(
        std::fs::read_to_string(repo.join("cluster.yaml")).unwrap(),
        BAD_CLUSTER
    );
    assert_eq!(
        std::fs::read_link(repo.join("link.yaml")).unwrap(),
        PathBuf::from("cluster.yaml")
    );
    pr!("scan", repo).sane("after fix", &[0]);
}

#[test]
fn paths_the_system_cannot_look_up_do_not_stop_the_scan() {
    // The unit names files whose paths no system call accepts: no such file
    // can exist in the image. Found by this test: the scan gave up on the
    // whole image (exit 2, "cannot read … make the file readable").
    for (what, line) in [
        (
            "EnvironmentFile= with a 300-byte name",
            format!("EnvironmentFile=-/etc/default/{}\n", "a".repeat(300)),
        ),
        (
            "--config with a NUL byte",
            "Environment=\"KUBELET_EXTRA_ARGS=--config=/etc/kubernetes/kubelet.yaml\0x\"\n"
                .to_owned(),
        ),
    ] {
        let img = Image::new();
        put(
            &img.root,
            UNIT,
            format!(
                "[Service]\n{line}ExecStart=/usr/bin/kubelet --read-only-port=10255 $KUBELET_EXTRA_ARGS\n"
            ),
        );
        let r = img.scan();
        r.sane(what, &[1]);
        let found = r.json().findings();
        assert!(
            found.contains(&format!("PR010 {UNIT}")),
            "{what}: {found:?}"
        );
    }
}

#[test]
fn a_deep_config_dir_is_walked_in_bounded_time() {
    // The kubelet walks --config-dir recursively. Each level is listed
    // after resolving its whole path again, component by component, and
    // each `lstat` walks the whole host path again in the kernel.
    let img = Image::new();
    put(
        &img.root,
        UNIT,
        "[Service]\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/etc/kubernetes/kubelet.yaml --config-dir=/etc/kubernetes/kubelet.conf.d\n",
    );
    let deep = format!("etc/kubernetes/kubelet.conf.d/{}z.conf", "a/".repeat(1000));
    put(&img.root, &deep, BAD_CONFIG);
    let r = img.scan();
    r.sane("a 1,000-deep --config-dir", &[1]);
    assert_eq!(r.json().findings(), [format!("PR010 {deep}")]);
    assert!(
        r.elapsed < std::time::Duration::from_secs(5),
        "a 1,000-deep --config-dir took {:?}",
        r.elapsed
    );
}

/// A shipped certificate that does not parse is reported with the reason
/// (its key makes it usable to the kubelet's eyes: it would try to serve
/// it); one without a readable key, or with a key file that is not a key,
/// is not; and no report shows a line of the key.
#[test]
fn shipped_serving_certificates_that_do_not_parse_or_lack_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("image");
    let copied = std::process::Command::new("cp")
        .args(["-a", "testdata/rootfs/kubelet-pki-in-image"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(copied.success());
    let pki = "var/lib/kubelet/pki";
    // The line after a private key's header, in a key file of its own and
    // in a file that holds certificate and key.
    for (image, file) in [
        (root.clone(), "kubelet.key"),
        (
            PathBuf::from("testdata/rootfs/kubelet-pki-rotated"),
            "kubelet-server-2026-12-04-15-00-00.pem",
        ),
    ] {
        let text = std::fs::read_to_string(image.join(pki).join(file)).unwrap();
        let mut lines = text.lines().skip_while(|l| !l.contains("PRIVATE KEY-----"));
        let secret = lines.nth(1).unwrap().to_owned();
        for format in ["human", "json", "sarif", "concise", "github"] {
            let out = pr!("scan", "--format", format, &image);
            assert!(out.stdout.contains("PR023"), "{format}: {}", out.stdout);
            assert!(
                !out.stdout.contains(&secret),
                "{format} shows the key of {file}"
            );
        }
    }
    put(
        &root,
        &format!("{pki}/kubelet.crt"),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    let r = support::Report(
        serde_json::from_str(&pr!("scan", "--format", "json", &root).stdout).unwrap(),
    );
    assert_eq!(r.findings(), [format!("PR023 {pki}/kubelet.crt")]);
    let message = r.0["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PR023")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("the certificate does not parse"),
        "{message}"
    );
    // A "key" that holds no private key: the kubelet cannot use the pair.
    put(&root, &format!("{pki}/kubelet.key"), "not a key\n");
    let r = support::Report(
        serde_json::from_str(&pr!("scan", "--format", "json", &root).stdout).unwrap(),
    );
    assert!(r.findings().is_empty(), "{:?}", r.findings());
}
