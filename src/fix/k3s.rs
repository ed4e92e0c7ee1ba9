//! Fixes for the components k3s embeds: the durable place is k3s's own
//! configuration, not the component's command line, which k3s builds at
//! every start.
//!
//! - a setting an item of `kube-controller-manager-arg` (or another
//!   `*-arg`) decides: that item's value is rewritten;
//! - a setting k3s's own default decides: `name=value` is appended to the
//!   option's list in the last file that sets it (a later file replaces
//!   earlier values, so that is the list k3s uses), else to
//!   `config.yaml`, else as a flag after `server`/`agent` in `ExecStart=`;
//! - etcd's metrics listener: `etcd-expose-metrics: true`, the option k3s
//!   has for it.

use super::edit::{Edit, line_end, line_start, newline};
use super::yaml_edit;
use crate::model::{Invocation, Origin, SettingSpec, SettingType, Source};
use crate::parse::yaml::{self, Kind, Node};
use crate::source::FileDb;
use crate::span::{FileId, Loc};

fn text<'a>(files: &'a FileDb, loc: &Loc) -> &'a str {
    files.get(loc.file).text.get(loc.span.clone()).unwrap_or("")
}

/// Sets `s` to `value` for an invocation whose source is [`Source::K3s`].
pub(crate) fn set_setting(
    files: &FileDb,
    inv: &Invocation,
    s: &SettingSpec,
    value: &str,
) -> Result<Edit, String> {
    let Source::K3s {
        option,
        files: configs,
        config,
        command,
    } = &inv.source
    else {
        return Err("not a k3s component".to_owned());
    };
    let origin = inv.setting(&s.name).map(|x| &x.origin);
    if inv.component == "etcd" && s.name == "listen-metrics-urls" {
        let by_arg = matches!(origin, Some(Origin::Flag(f)) if f.name == s.name);
        if !by_arg {
            return expose_metrics(files, origin, *config, command);
        }
    }
    match origin {
        Some(Origin::Flag(f)) => match &f.value_loc {
            Some(vl) => Ok(Edit {
                file: vl.file,
                range: vl.span.clone(),
                text: value.to_owned(),
            }),
            None => Err(format!(
                "the item of {option} is written with escapes; edit it by hand"
            )),
        },
        _ => {
            let flag = s.flag.as_deref().ok_or("this setting has no flag")?;
            let item = format!("{flag}={value}");
            append(files, option, &item, configs, *config, command)
        }
    }
}

/// `etcd-expose-metrics: true`.
fn expose_metrics(
    files: &FileDb,
    origin: Option<&Origin>,
    config: Option<FileId>,
    command: &Loc,
) -> Result<Edit, String> {
    match origin {
        Some(Origin::Config { value, .. }) => Ok(Edit {
            file: value.file,
            range: value.span.clone(),
            text: yaml_edit::rewrite_scalar(text(files, value), "true", SettingType::Bool),
        }),
        Some(Origin::Flag(f)) => match &f.value_loc {
            Some(vl) => Ok(Edit {
                file: vl.file,
                range: vl.span.clone(),
                text: "true".to_owned(),
            }),
            None => {
                Err("--etcd-expose-metrics is written with escapes; edit it by hand".to_owned())
            }
        },
        _ => match config {
            Some(file) => add_key(files, file, "etcd-expose-metrics", "true"),
            None => Ok(after(command, " --etcd-expose-metrics")),
        },
    }
}

/// An edit inserting `text` right after `loc`.
fn after(loc: &Loc, text: &str) -> Edit {
    Edit {
        file: loc.file,
        range: loc.span.end..loc.span.end,
        text: text.to_owned(),
    }
}

/// The top-level entry of `option` (or `option+`) in a file, the last one.
fn entry(root: &Node, option: &str) -> Option<(Node, Node)> {
    let Kind::Map(entries) = &root.kind else {
        return None;
    };
    entries
        .iter()
        .rev()
        .find(|(k, _)| {
            k.as_scalar()
                .is_some_and(|s| s.text == option || s.text.strip_suffix('+') == Some(option))
        })
        .cloned()
}

fn root(files: &FileDb, file: FileId) -> Result<Option<Node>, String> {
    let docs = yaml::parse(&files.get(file).text).map_err(|e| e.message)?;
    Ok(docs.into_iter().next().map(|d| d.root))
}

/// Appends `item` to the list of `option`.
fn append(
    files: &FileDb,
    option: &str,
    item: &str,
    configs: &[FileId],
    config: Option<FileId>,
    command: &Loc,
) -> Result<Edit, String> {
    let rendered = yaml_edit::render(item, SettingType::String);
    for &file in configs.iter().rev() {
        let Some(root) = root(files, file)? else {
            continue;
        };
        let Some((key, node)) = entry(&root, option) else {
            continue;
        };
        let t = &files.get(file).text;
        return match &node.kind {
            Kind::Seq(items) if !items.is_empty() => {
                let last = items.last().map(|n| n.span.clone()).unwrap_or_default();
                let start = line_start(t, last.start);
                let prefix = &t[start..last.start];
                if prefix.trim().trim_end_matches(['"', '\'']).trim() == "-" {
                    // Block list: a new item line with the last one's indentation.
                    let prefix = prefix.trim_end_matches(['"', '\'']);
                    let end = line_end(t, last.end);
                    Ok(Edit {
                        file,
                        range: end..end,
                        text: format!("{}{prefix}{rendered}", newline(t)),
                    })
                } else {
                    // Flow list: after the last item.
                    let end = last.end;
                    Ok(Edit {
                        file,
                        range: end..end,
                        text: format!(", {rendered}"),
                    })
                }
            }
            Kind::Seq(_) if t[node.span.clone()].trim() == "[]" => Ok(Edit {
                file,
                range: node.span.clone(),
                text: format!("[{rendered}]"),
            }),
            _ => Err(format!(
                "`{}` at {}:{} is not a list; add {item} to it by hand",
                text(files, &Loc::new(file, key.span.clone())),
                files.get(file).path,
                files.get(file).line_col(key.span.start).0
            )),
        };
    }
    match config {
        Some(file) => {
            let nl = newline(&files.get(file).text);
            Ok(append_line(
                files,
                file,
                &format!("{option}:{nl}  - {rendered}{nl}"),
            ))
        }
        None => Ok(after(command, &format!(" --{option}={item}"))),
    }
}

/// Adds `key: value` at the end of a configuration file, or rewrites an
/// existing entry's value.
fn add_key(files: &FileDb, file: FileId, key: &str, value: &str) -> Result<Edit, String> {
    let t = &files.get(file).text;
    if let Some(root) = root(files, file)?
        && let Some((_, node)) = entry(&root, key)
    {
        return Ok(Edit {
            file,
            range: node.span.clone(),
            text: yaml_edit::rewrite_scalar(&t[node.span.clone()], value, SettingType::Bool),
        });
    }
    let nl = newline(t);
    Ok(append_line(files, file, &format!("{key}: {value}{nl}")))
}

/// An edit that appends `text` at the end of a file, on a line of its own.
fn append_line(files: &FileDb, file: FileId, text: &str) -> Edit {
    let t = &files.get(file).text;
    let sep = if t.is_empty() || t.ends_with('\n') {
        ""
    } else {
        newline(t)
    };
    Edit {
        file,
        range: t.len()..t.len(),
        text: format!("{sep}{text}"),
    }
}

/// Removes an item of a k3s list option (a whole YAML line), or a flag
/// of `ExecStart=`.
pub(crate) fn is_yaml(files: &FileDb, loc: &Loc, configs: &[FileId]) -> bool {
    configs.contains(&loc.file) && !files.get(loc.file).path.ends_with(".service")
}
