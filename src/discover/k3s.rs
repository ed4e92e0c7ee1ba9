//! k3s and RKE2 servers and agents: one `k3s` process embeds the
//! controller manager, the scheduler, etcd, the kubelet and kube-proxy,
//! and passes each the arguments k3s chooses plus the user's `*-arg`
//! options; `rke2` runs the same code and starts the same components with
//! the same arguments, as static pods it writes at run time. A [`Distro`]
//! holds what differs (units, binary, variables, paths, defaults).
//!
//! What is read, as k3s reads it (k3s-io/k3s):
//! - `k3s.service` / `k3s-agent.service` through systemd's rules (drop-ins,
//!   `Environment=`, `EnvironmentFile=`): `ExecStart=… k3s server|agent
//!   FLAGS`;
//! - the configuration file: `$K3S_CONFIG_FILE`, else `--config`/`-c`, else
//!   `/etc/rancher/k3s/config.yaml` (`pkg/configfilearg/defaultparser.go`),
//!   then every `*.yaml`/`*.yml` file of `config.yaml.d/` in name order;
//!   a later file's key replaces an earlier value, `key+:` appends to it
//!   (`pkg/configfilearg/parser.go`, `readConfigFile`, `dotDFiles`);
//! - the file's options come before the command line's flags, so a
//!   command-line flag wins, and list options (`*-arg`) take the file's
//!   items first, then the command line's.
//!
//! What k3s passes to each component when the user leaves a setting out is
//! data: the `k3s:` values in `rules/components/*.yaml`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::invocation::{self, Defaults, Parts};
use super::systemd;
use crate::model::{
    ComponentSpec, DefaultMode, Invocation, Layout, Origin, Setting, Source, VersionInfo,
};
use crate::parse::flags::{self, Flag, Parsed};
use crate::parse::yaml::{self, Kind, Node};
use crate::source::{FileDb, Image, InputError, Loaded};
use crate::span::{FileId, Loc};

/// A distribution built on k3s's command line: its units, binary,
/// environment variables and default configuration file, and what its
/// servers run. RKE2 parses its command line and configuration files with
/// k3s's `pkg/configfilearg` (`app.Run(configfilearg.MustParse(os.Args))`
/// in rancher/rke2 `main.go`) and runs k3s's server and agent
/// (`server.RunWithControllers`, `agent.Run` in `pkg/rke2/rke2.go`), with
/// an executor that writes static pods instead of embedding the
/// components (`pkg/podexecutor/staticpod.go`).
#[derive(Debug)]
pub(crate) struct Distro {
    /// The name in messages: `k3s`, `RKE2`.
    pub(crate) name: &'static str,
    /// The server's and the agent's units.
    units: &'static [&'static str],
    /// The binary's file name.
    binary: &'static str,
    /// The prefix of its environment variables (`K3S_CONFIG_FILE`).
    env: &'static str,
    /// The install script's version variable.
    install_version: &'static str,
    /// What follows the Kubernetes version in the version the binary is
    /// built as (`v1.30.4+k3s1`, `v1.30.4+rke2r1`; [`crate::source::stamp`]).
    stamp: &'static str,
    /// The default configuration file.
    pub(crate) config: &'static str,
    /// Whose `*:` values in `rules/components` apply.
    mode: DefaultMode,
    layout: Layout,
    /// Whether every server runs etcd unless it is disabled or an external
    /// datastore is named (RKE2, `disabledItems` in `pkg/rke2/rke2.go`);
    /// k3s needs `cluster-init` or `server` for it.
    etcd_on_every_server: bool,
    /// Server-only options of this distribution alone, which mark a
    /// configuration file as its server's (RKE2's `cni`, `pkg/cli/cmds`).
    server_keys: &'static [&'static str],
}

/// k3s (k3s-io/k3s, `pkg/configfilearg/defaultparser.go`).
pub(crate) const K3S: Distro = Distro {
    name: "k3s",
    units: &["k3s.service", "k3s-agent.service"],
    binary: "k3s",
    env: "K3S_",
    install_version: "INSTALL_K3S_VERSION",
    stamp: "k3s",
    config: "/etc/rancher/k3s/config.yaml",
    mode: DefaultMode::K3s,
    layout: Layout::K3s,
    etcd_on_every_server: false,
    server_keys: &[],
};

/// RKE2 (rancher/rke2: `rke2-server.service`/`rke2-agent.service` of its
/// install script, `--config`'s default `/etc/rancher/rke2/config.yaml`
/// and `$RKE2_CONFIG_FILE`; k3s's `K3S_` variables are renamed `RKE2_`
/// by `mustCmdFromK3S` in `pkg/cli/cmds`).
pub(crate) const RKE2: Distro = Distro {
    name: "RKE2",
    units: &["rke2-server.service", "rke2-agent.service"],
    binary: "rke2",
    env: "RKE2_",
    install_version: "INSTALL_RKE2_VERSION",
    stamp: "rke2r",
    config: "/etc/rancher/rke2/config.yaml",
    mode: DefaultMode::Rke2,
    layout: Layout::Rke2,
    etcd_on_every_server: true,
    server_keys: &["cni"],
};

const DISTROS: &[&Distro] = &[&K3S, &RKE2];

/// The k3s flags that take no value (urfave/cli `BoolFlag`s of
/// `pkg/cli/cmds/server.go` and `agent.go`): a bare `--flag` is true and
/// does not consume the next word.
const BOOL_FLAGS: &[&str] = &[
    "cluster-init",
    "cluster-reset",
    "debug",
    "disable-agent",
    "disable-apiserver",
    "disable-cloud-controller",
    "disable-controller-manager",
    "disable-etcd",
    "disable-helm-controller",
    "disable-kube-proxy",
    "disable-network-policy",
    "disable-scheduler",
    "docker",
    "embedded-registry",
    "enable-pprof",
    "etcd-disable-snapshots",
    "etcd-expose-metrics",
    "etcd-s3",
    "etcd-s3-insecure",
    "etcd-s3-skip-ssl-verify",
    "etcd-snapshot-compress",
    "flannel-external-ip",
    "flannel-ipv6-masq",
    "prefer-bundled-bin",
    "protect-kernel-defaults",
    "rootless",
    "secrets-encryption",
    "selinux",
    "supervisor-metrics",
];

/// The environment variables that decide which components run, and the
/// options they set (`K3S_URL` is `--server`: a server that joins another
/// runs etcd).
const ENV_OPTIONS: &[(&str, &str)] = &[
    ("URL", "server"),
    ("DATASTORE_ENDPOINT", "datastore-endpoint"),
    ("CLUSTER_INIT", "cluster-init"),
];

/// The embedded components, the k3s option that carries their extra
/// arguments, and whether an agent runs them too.
const EMBEDDED: &[(&str, &str, bool)] = &[
    (
        "kube-controller-manager",
        "kube-controller-manager-arg",
        false,
    ),
    ("kube-scheduler", "kube-scheduler-arg", false),
    ("etcd", "etcd-arg", false),
    ("kubelet", "kubelet-arg", true),
    ("kube-proxy", "kube-proxy-arg", true),
];

/// One value of a k3s option: a scalar in a configuration file or a
/// command-line flag.
#[derive(Debug, Clone)]
struct Item {
    text: String,
    /// The whole scalar or flag.
    loc: Option<Loc>,
    /// The value's bytes when they are exactly `text`.
    value_loc: Option<Loc>,
    via: Option<Loc>,
    /// The key of a configuration file's entry (`None` for a flag).
    key: Option<Loc>,
}

/// A k3s option after merging the files and the command line.
#[derive(Debug, Default, Clone)]
struct Opt {
    /// The key (or flag) that last set or extended it.
    key: Option<Loc>,
    items: Vec<Item>,
}

/// The effective k3s options, and the configuration files read.
#[derive(Debug, Default)]
struct Options {
    opts: HashMap<String, Opt>,
    files: Vec<FileId>,
}

impl Options {
    fn last(&self, name: &str) -> Option<&Item> {
        self.opts.get(name).and_then(|o| o.items.last())
    }

    fn is_true(&self, name: &str) -> bool {
        self.last(name)
            .is_some_and(|i| flags::parse_bool(&i.text) == Some(true))
    }

    fn is_set(&self, name: &str) -> bool {
        self.last(name).is_some_and(|i| !i.text.is_empty())
    }
}

/// Every component started by k3s's units.
pub(crate) fn discover(
    image: &mut Image,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Result<Vec<Invocation>, InputError> {
    let mut out = Vec::new();
    for distro in DISTROS {
        out.extend(discover_distro(image, distro, components, version)?);
    }
    Ok(out)
}

/// Every component started by one distribution's units.
fn discover_distro(
    image: &mut Image,
    distro: &'static Distro,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Result<Vec<Invocation>, InputError> {
    let mut out = Vec::new();
    for unit in distro.units {
        let Some(service) = systemd::load_service(image, unit)? else {
            continue;
        };
        if service.refused.is_some()
            || service.exec.text.as_str().rsplit('/').next() != Some(distro.binary)
        {
            continue;
        }
        // The subcommand: the first word that is not a flag.
        let Some(at) = service
            .args
            .iter()
            .position(|w| !w.text.as_str().starts_with('-'))
        else {
            continue;
        };
        let command = &service.args[at];
        let server = match command.text.as_str() {
            "server" => true,
            "agent" => false,
            _ => continue,
        };
        let Some(command_loc) = systemd::word_loc(command) else {
            continue;
        };
        let cli_words = &service.args[at + 1..];
        let bools: HashSet<String> = BOOL_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        let cli = flags::parse(cli_words, &bools);
        let config_path = service
            .vars
            .get(&format!("{}CONFIG_FILE", distro.env))
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| {
                cli.flags
                    .iter()
                    .rev()
                    .find(|f| f.name == "config" || f.name == "c")
                    .map(|f| f.value.clone())
            })
            .unwrap_or_else(|| distro.config.to_owned());
        let config_path = crate::source::join(&service.working_directory, &config_path);
        let mut options = read_configs(image, &config_path, distro)?;
        for f in &cli.flags {
            let item = Item {
                text: f.value.clone(),
                loc: f.loc.clone(),
                value_loc: f.value_loc.clone(),
                via: f.via.clone(),
                key: None,
            };
            let o = options.opts.entry(f.name.clone()).or_default();
            o.key.clone_from(&f.loc);
            if is_list(&f.name) {
                o.items.push(item);
            } else {
                o.items = vec![item];
            }
        }
        env_options(&mut options, &service.vars, distro);
        let version = version
            .cloned()
            .or_else(|| k3s_version(&service.vars, distro));
        // New options go into config.yaml, or into the last drop-in when
        // only drop-ins exist.
        let config_file = match options.files.first() {
            Some(id) if image.files.get(*id).path == crate::source::display_path(&config_path) => {
                Some(*id)
            }
            _ => options.files.last().copied(),
        };
        let k3s = K3s {
            distro,
            server,
            options: &options,
            unit_files: &service.files,
            config: config_file,
            command: &command_loc,
            version: version.as_ref(),
        };
        out.extend(k3s.invocations(&image.files, components));
    }
    Ok(out)
}

/// Options urfave/cli also takes from the environment, below the file and
/// the command line (`EnvVar` in pkg/cli/cmds).
fn env_options(options: &mut Options, vars: &HashMap<String, String>, distro: &Distro) {
    for (var, name) in ENV_OPTIONS {
        if let Some(v) = vars
            .get(&format!("{}{var}", distro.env))
            .filter(|v| !v.is_empty())
            && !options.opts.contains_key(*name)
        {
            options.opts.insert(
                (*name).to_owned(),
                Opt {
                    key: None,
                    items: vec![Item {
                        text: v.clone(),
                        loc: None,
                        value_loc: None,
                        via: None,
                        key: None,
                    }],
                },
            );
        }
    }
}

/// One k3s process: what its unit and configuration say.
struct K3s<'a> {
    distro: &'static Distro,
    server: bool,
    options: &'a Options,
    unit_files: &'a [FileId],
    config: Option<FileId>,
    command: &'a Loc,
    version: Option<&'a VersionInfo>,
}

impl K3s<'_> {
    /// The components this process embeds and runs.
    fn invocations(
        &self,
        db: &FileDb,
        components: &BTreeMap<String, ComponentSpec>,
    ) -> Vec<Invocation> {
        let K3s {
            distro,
            server,
            options,
            unit_files,
            config: config_file,
            command,
            version,
        } = self;
        let (server, command_loc) = (*server, *command);
        let mut out = Vec::new();
        for (component, option, on_agent) in EMBEDDED {
            if !server && !on_agent {
                continue;
            }
            if !runs(distro, server, component, options) {
                continue;
            }
            let Some(spec) = components.get(*component) else {
                continue;
            };
            let flags = component_flags(options.opts.get(*option));
            let start = options
                .opts
                .get(*option)
                .and_then(|o| o.key.clone())
                .unwrap_or_else(|| command_loc.clone());
            let mut files = unit_files.to_vec();
            files.extend(options.files.iter().copied());
            let mut inv = invocation::build(Parts {
                spec,
                db,
                start,
                files,
                args: Parsed {
                    flags,
                    ..Parsed::default()
                },
                configs: Vec::new(),
                defaults: Defaults {
                    mode: distro.mode,
                    reason: format!(
                        "not set in {option}, so {} passes its own value to the {component} it {}",
                        distro.name,
                        if distro.etcd_on_every_server {
                            "runs"
                        } else {
                            "embeds"
                        }
                    ),
                },
                version: version.cloned(),
                layout: distro.layout,
                source: Source::K3s {
                    option,
                    files: options.files.clone(),
                    config: *config_file,
                    command: command_loc.clone(),
                },
            });
            if *component == "etcd" {
                expose_metrics(&mut inv, options);
            }
            out.push(inv);
        }
        out
    }
}

/// The k3s options that are lists (`StringSliceFlag`s) among those read.
fn is_list(name: &str) -> bool {
    name.ends_with("-arg") || matches!(name, "disable" | "node-label" | "node-taint" | "tls-san")
}

/// Whether a server (or agent) runs `component`.
fn runs(distro: &Distro, server: bool, component: &str, o: &Options) -> bool {
    let agent_off = server && o.is_true("disable-agent");
    match component {
        "kube-controller-manager" => !o.is_true("disable-controller-manager"),
        "kube-scheduler" => !o.is_true("disable-scheduler"),
        // Embedded etcd runs with --cluster-init or when joining another
        // server, unless an external datastore is named
        // (pkg/cluster/managed.go): the default is SQLite through kine.
        // RKE2 runs etcd on every server (`disabledItems` in
        // pkg/rke2/rke2.go).
        "etcd" => {
            !o.is_true("disable-etcd")
                && !o.is_set("datastore-endpoint")
                && (distro.etcd_on_every_server || o.is_true("cluster-init") || o.is_set("server"))
        }
        "kubelet" => !agent_off,
        "kube-proxy" => !agent_off && !o.is_true("disable-kube-proxy"),
        _ => false,
    }
}

/// `--etcd-expose-metrics` moves k3s's etcd metrics listener from
/// `http://127.0.0.1:2381` to the node's address (`metricsURL` in
/// `pkg/etcd/etcd.go`).
fn expose_metrics(inv: &mut Invocation, o: &Options) {
    let Some(item) = o.last("etcd-expose-metrics") else {
        return;
    };
    let Some(setting) = inv.settings.get_mut("listen-metrics-urls") else {
        return;
    };
    if setting.origin.is_explicit() {
        return;
    }
    let on = flags::parse_bool(&item.text) == Some(true);
    let value = if on {
        "http://<node-ip>:2381".to_owned()
    } else {
        setting.value.clone().unwrap_or_default()
    };
    let origin = match (&item.key, &item.loc) {
        (Some(key), Some(value)) => Origin::Config {
            key: key.clone(),
            value: value.clone(),
        },
        _ => Origin::Flag(Flag {
            name: "etcd-expose-metrics".to_owned(),
            value: item.text.clone(),
            loc: item.loc.clone(),
            value_loc: item.value_loc.clone(),
            separate_value: false,
            via: item.via.clone(),
        }),
    };
    *setting = Setting {
        value: Some(value),
        origin,
    };
}

/// The flags of an embedded component: the option's items, `name=value`
/// with or without leading dashes (a bare name is `true`), as k3s's
/// `util.GetArgs` splits them.
fn component_flags(opt: Option<&Opt>) -> Vec<Flag> {
    let Some(opt) = opt else {
        return Vec::new();
    };
    opt.items
        .iter()
        .map(|item| {
            let raw = item.text.trim_start_matches("--");
            let skipped = item.text.len() - raw.len();
            let (name, value, value_at) = match raw.split_once('=') {
                Some((n, v)) => (n, v.to_owned(), Some(skipped + n.len() + 1)),
                None => (raw, "true".to_owned(), None),
            };
            let value_loc = match (&item.value_loc, value_at) {
                (Some(vl), Some(at)) => Some(Loc::new(vl.file, vl.span.start + at..vl.span.end)),
                _ => None,
            };
            Flag {
                name: flags::normalize(name.trim_end_matches(['+', '-'])),
                value,
                loc: item.loc.clone(),
                value_loc,
                separate_value: false,
                via: item.via.clone(),
            }
        })
        .collect()
}

/// The k3s (or RKE2) version of an image: the `INSTALL_K3S_VERSION` its
/// unit's environment carries, else the version its binary was built as
/// (the one its unit starts, or the install scripts' and packages' paths).
pub(crate) fn version(image: &mut Image) -> Result<Option<VersionInfo>, InputError> {
    for distro in DISTROS {
        let mut binaries = Vec::new();
        for unit in distro.units {
            if let Some(service) = systemd::load_service(image, unit)? {
                if let Some(v) = k3s_version(&service.vars, distro) {
                    return Ok(Some(v));
                }
                let exe = service.exec.text.as_str();
                if exe.starts_with('/') && exe.rsplit('/').next() == Some(distro.binary) {
                    binaries.push(exe.to_owned());
                }
            }
        }
        let marker = format!("+{}", distro.stamp);
        binaries.extend(
            crate::source::stamp::STAMPED
                .iter()
                .filter(|p| p.rsplit('/').next() == Some(distro.binary))
                .map(|p| (*p).to_owned()),
        );
        for path in binaries {
            let Some((read, stamps)) = image.stamps(&path)? else {
                continue;
            };
            let stamps: Vec<&String> = stamps.iter().filter(|s| s.ends_with(&marker)).collect();
            match stamps.as_slice() {
                [] => {}
                [one] => {
                    if let Some(version) = crate::model::Version::parse(one) {
                        return Ok(Some(VersionInfo {
                            version,
                            source: format!(
                                "the {} binary {} (built as {one}…)",
                                distro.name,
                                crate::source::display_path(&read)
                            ),
                        }));
                    }
                }
                many => {
                    let listed: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                    image.notice(
                        &read,
                        format!(
                            "the {} binary names several versions ({}); none is taken",
                            distro.name,
                            listed.join(", ")
                        ),
                    );
                    return Ok(None);
                }
            }
        }
    }
    Ok(None)
}

/// The k3s version from the install script's `INSTALL_K3S_VERSION`
/// (`v1.30.4+k3s1` is Kubernetes 1.30.4) when the unit's environment
/// carries it.
fn k3s_version(vars: &HashMap<String, String>, distro: &Distro) -> Option<VersionInfo> {
    let raw = vars.get(distro.install_version)?;
    let version = crate::model::Version::parse(raw)?;
    Some(VersionInfo {
        version,
        source: format!(
            "{}={raw} in the {} unit's environment",
            distro.install_version, distro.name
        ),
    })
}

/// The configuration file and its `.d` drop-ins, merged as k3s merges
/// them.
fn read_configs(image: &mut Image, path: &str, distro: &Distro) -> Result<Options, InputError> {
    let mut paths = Vec::new();
    if let Loaded::File(_) = image.load(path)? {
        paths.push(path.to_owned());
    }
    let dir = format!("{path}.d");
    let mut names = image.list_dir(&dir)?;
    names.sort();
    for name in names {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            paths.push(format!("{dir}/{name}"));
        }
    }
    let mut out = Options::default();
    for p in paths {
        let Loaded::File(id) = image.load(&p)? else {
            continue;
        };
        let text = image.files.get(id).text.clone();
        let docs = match yaml::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                let (line, col) = image.files.get(id).line_col(e.offset);
                image.notice(
                    &p,
                    format!(
                        "invalid YAML at {line}:{col}: {}; {} will not start with it",
                        e.message, distro.name
                    ),
                );
                continue;
            }
        };
        out.files.push(id);
        if let Some(doc) = docs.into_iter().next() {
            merge_file(&mut out, id, &text, &doc.root);
        }
    }
    Ok(out)
}

/// Merges one file's options into `out`: a key replaces the value so
/// far, `key+` appends to it.
fn merge_file(out: &mut Options, id: FileId, text: &str, root: &Node) {
    let Kind::Map(entries) = &root.kind else {
        return;
    };
    for (k, v) in entries {
        let Some(key) = k.as_scalar() else {
            continue;
        };
        let (name, append) = match key.text.strip_suffix('+') {
            Some(n) => (n.to_owned(), true),
            None => (key.text.clone(), false),
        };
        let key_loc = Loc::new(id, k.span.clone());
        let items = items_of(id, text, v, &key_loc);
        let o = out.opts.entry(name).or_default();
        o.key = Some(key_loc);
        if append && !o.items.is_empty() {
            o.items.extend(items);
        } else {
            o.items = items;
        }
    }
}

/// A value as k3s's `toSlice` takes it: a list's items, or one scalar.
fn items_of(id: FileId, text: &str, v: &Node, key: &Loc) -> Vec<Item> {
    let one = |n: &Node| -> Option<Item> {
        let s = n.as_scalar()?;
        let value = s.value().to_flag_text().unwrap_or_default();
        let src = text.get(n.span.clone()).unwrap_or("");
        let inner = if s.plain {
            n.span.clone()
        } else {
            n.span.start + 1..n.span.end.saturating_sub(1)
        };
        let exact = text.get(inner.clone()) == Some(value.as_str()) && !src.is_empty();
        Some(Item {
            text: value,
            loc: Some(Loc::new(id, n.span.clone())),
            value_loc: exact.then(|| Loc::new(id, inner)),
            via: None,
            key: Some(key.clone()),
        })
    };
    match &v.kind {
        Kind::Seq(items) => items.iter().filter_map(one).collect(),
        Kind::Scalar(_) => one(v).into_iter().collect(),
        Kind::Map(_) => Vec::new(),
    }
}

/// Options only a k3s (or RKE2) configuration file has: a file named
/// `config.yaml` with one of them is taken for k3s's.
const K3S_KEYS: &[&str] = &[
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kube-apiserver-arg",
    "etcd-arg",
    "kubelet-arg",
    "kube-proxy-arg",
    "etcd-expose-metrics",
    "cluster-init",
    "disable-kube-proxy",
    "disable-controller-manager",
    "disable-scheduler",
    "disable-etcd",
    "write-kubeconfig-mode",
    "flannel-backend",
];

/// Options only a server takes (`pkg/cli/cmds/server.go`): a
/// configuration file with one of them is a server's; one without is
/// judged for the components an agent runs too.
const SERVER_KEYS: &[&str] = &[
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kube-apiserver-arg",
    "etcd-arg",
    "etcd-expose-metrics",
    "cluster-init",
    "cluster-cidr",
    "service-cidr",
    "datastore-endpoint",
    "disable",
    "disable-controller-manager",
    "disable-scheduler",
    "disable-etcd",
    "disable-agent",
    "disable-apiserver",
    "tls-san",
    "write-kubeconfig-mode",
    "flannel-backend",
];

/// k3s configuration files in a configuration repository or named on
/// the command line: a file named `config.yaml` holding a k3s option
/// (and the `*.yaml`/`*.yml` files of the `config.yaml.d/` beside it),
/// taken for RKE2's when its path names `rke2`. Returns the invocations
/// and the files they read.
pub(crate) fn from_files(
    db: &FileDb,
    ids: &[FileId],
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let path = |id: &FileId| db.get(*id).path.clone();
    let mut out = Vec::new();
    for base in ids.iter().filter(|id| {
        let p = path(id);
        p == "config.yaml" || p.ends_with("/config.yaml")
    }) {
        let distro: &'static Distro = if path(base).contains("rke2") {
            &RKE2
        } else {
            &K3S
        };
        let dir = format!("{}.d/", path(base));
        let mut dropins: Vec<FileId> = ids
            .iter()
            .copied()
            .filter(|id| {
                path(id).strip_prefix(&dir).is_some_and(|name| {
                    let lower = name.to_ascii_lowercase();
                    !name.contains('/') && (lower.ends_with(".yaml") || lower.ends_with(".yml"))
                })
            })
            .collect();
        dropins.sort_by_key(path);
        let mut options = Options::default();
        let mut first_key = None;
        for id in std::iter::once(*base).chain(dropins) {
            let text = &db.get(id).text;
            let Ok(docs) = yaml::parse(text) else {
                continue;
            };
            options.files.push(id);
            if let Some(doc) = docs.into_iter().next() {
                if first_key.is_none()
                    && let Some((k, _)) = doc.root.as_map().and_then(|m| m.first())
                {
                    first_key = Some(Loc::new(id, k.span.clone()));
                }
                merge_file(&mut options, id, text, &doc.root);
            }
        }
        let has = |keys: &[&str]| keys.iter().any(|k| options.opts.contains_key(*k));
        if !has(K3S_KEYS) && !has(distro.server_keys) {
            continue;
        }
        let Some(command) = first_key else {
            continue;
        };
        let server = has(SERVER_KEYS) || has(distro.server_keys);
        let k3s = K3s {
            distro,
            server,
            options: &options,
            unit_files: &[],
            config: Some(*base),
            command: &command,
            version,
        };
        out.extend(k3s.invocations(db, components));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> Item {
        Item {
            text: text.to_owned(),
            loc: None,
            value_loc: None,
            via: None,
            key: None,
        }
    }

    #[test]
    fn arg_items_split_as_k3s_splits_them() {
        let opt = Opt {
            key: None,
            items: vec![
                item("bind-address=0.0.0.0"),
                item("--v=2"),
                item("profiling"),
                item("feature-gates+=A=true"),
            ],
        };
        let got: Vec<(String, String)> = component_flags(Some(&opt))
            .into_iter()
            .map(|f| (f.name, f.value))
            .collect();
        let want = [
            ("bind-address", "0.0.0.0"),
            ("v", "2"),
            ("profiling", "true"),
            ("feature-gates", "A=true"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
        );
    }

    #[test]
    fn a_later_file_replaces_and_a_plus_key_appends() {
        let mut o = Options::default();
        for text in [
            "kube-scheduler-arg: [a=1]\nkubelet-arg: [b=1]\n",
            "kube-scheduler-arg+: [a=2]\nkubelet-arg: [b=2]\n",
        ] {
            let root = yaml::parse(text).unwrap().remove(0).root;
            merge_file(&mut o, FileId::TEST, text, &root);
        }
        let texts = |name: &str| -> Vec<String> {
            o.opts[name].items.iter().map(|i| i.text.clone()).collect()
        };
        assert_eq!(texts("kube-scheduler-arg"), ["a=1", "a=2"]);
        assert_eq!(texts("kubelet-arg"), ["b=2"]);
    }
}
