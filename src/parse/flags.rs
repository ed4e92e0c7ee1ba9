//! Go pflag command-line parsing, as the Kubernetes components do it.
//!
//! `--name=value` and `--name value` set a flag; a bool flag given bare
//! (`--name`) is true and never takes the next word; `_` and `-` are the same
//! in names (`WordSepNormalizeFunc`); a later occurrence wins; `--` ends the
//! flags. Anything else is a positional argument, which the Kubernetes
//! components refuse.

use std::collections::HashSet;

use crate::span::Loc;
use crate::text::Cooked;

/// A command-line word with its origin.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub(crate) text: Cooked,
    /// Where the word was written when it came from a variable: the
    /// `$VAR`/`${VAR}` reference on the command line.
    pub(crate) via: Option<Loc>,
}

/// One occurrence of a flag.
#[derive(Debug, Clone)]
pub(crate) struct Flag {
    /// Normalised name, without dashes.
    pub(crate) name: String,
    pub(crate) value: String,
    /// The whole token: `--name=value`, `--name`, or `--name` for the
    /// `--name value` form (see `value_loc`).
    pub(crate) loc: Option<Loc>,
    /// The value's bytes (the text after `=`, or the next word); `None` for a
    /// bare bool flag.
    pub(crate) value_loc: Option<Loc>,
    /// Whether the value was a separate word (`--name value`).
    pub(crate) separate_value: bool,
    pub(crate) via: Option<Loc>,
}

/// The parsed command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    /// All occurrences in order; [`Parsed::last`] gives the winning one.
    pub(crate) flags: Vec<Flag>,
    pub(crate) positional: Vec<Word>,
    /// A non-bool flag at the end of the line, without its value.
    pub(crate) missing_value: Vec<Flag>,
    /// `-name` with a letter that is not a shorthand (pflag reads `-config`
    /// as the shorthands `c`, `o`, … and fails).
    pub(crate) bad_shorthand: Vec<Word>,
}

/// The single-letter flags of the Kubernetes components: klog's `-v` and
/// cobra's `-h`.
const SHORTHANDS: &[&str] = &["v", "h"];

impl Parsed {
    /// The occurrence that wins: the last one.
    pub(crate) fn last(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }
}

/// Normalises a flag name the way Kubernetes components do.
pub(crate) fn normalize(name: &str) -> String {
    name.replace('_', "-")
}

/// Parses `args` (the words after the executable).
pub(crate) fn parse(args: &[Word], bool_flags: &HashSet<String>) -> Parsed {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        i += 1;
        if text == "--" {
            out.positional.extend(args[i..].iter().cloned());
            break;
        }
        let dashes = if text.starts_with("--") {
            2
        } else if text.starts_with('-') && text.len() > 1 {
            1
        } else {
            out.positional.push(word.clone());
            continue;
        };
        let body = &text[dashes..];
        let (raw_name, inline) = match body.find('=') {
            Some(eq) => (&body[..eq], Some(eq)),
            None => (body, None),
        };
        let name = normalize(raw_name);
        if dashes == 1 && !raw_name.get(..1).is_some_and(|c| SHORTHANDS.contains(&c)) {
            out.bad_shorthand.push(word.clone());
            continue;
        }
        let mut flag = Flag {
            name: name.clone(),
            value: String::new(),
            loc: word.text.loc(),
            value_loc: None,
            separate_value: false,
            via: word.via.clone(),
        };
        if let Some(eq) = inline {
            let v = dashes + eq + 1;
            flag.value = text[v..].to_owned();
            flag.value_loc = word.text.loc_of(v..text.len());
        } else if bool_flags.contains(&name) {
            "true".clone_into(&mut flag.value);
        } else if dashes == 1
            && raw_name.len() > 1
            && raw_name.is_char_boundary(1)
            && SHORTHANDS.contains(&&raw_name[..1])
        {
            // A shorthand with its value attached: `-v2`.
            flag.name = raw_name[..1].to_owned();
            flag.value = raw_name[1..].to_owned();
            flag.value_loc = word.text.loc_of(2..text.len());
        } else if let Some(next) = args.get(i) {
            i += 1;
            flag.value = next.text.as_str().to_owned();
            flag.value_loc = next.text.loc();
            flag.separate_value = true;
        } else {
            out.missing_value.push(flag);
            continue;
        }
        out.flags.push(flag);
    }
    out
}

/// Go's `strconv.ParseBool`, which pflag uses for bool flags.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    fn args(line: &str) -> Vec<Word> {
        let mut out = Vec::new();
        let mut pos = 0;
        for w in line.split(' ') {
            out.push(Word {
                text: Cooked::verbatim(FileId::TEST, line, pos..pos + w.len()),
                via: None,
            });
            pos += w.len() + 1;
        }
        out
    }

    #[test]
    fn pflag_forms() {
        let bools: HashSet<String> = ["authentication-token-webhook".to_owned()].into();
        let line = "--authentication-token-webhook --read_only_port 0 --address=1.2.3.4 -v=2 --address=127.0.0.1 stray --kubeconfig";
        let p = parse(&args(line), &bools);
        let f = p.last("authentication-token-webhook").unwrap();
        assert_eq!((f.value.as_str(), f.value_loc.is_none()), ("true", true));
        let f = p.last("read-only-port").unwrap();
        assert_eq!((f.value.as_str(), f.separate_value), ("0", true));
        assert_eq!(&line[f.value_loc.clone().unwrap().span], "0");
        let f = p.last("address").unwrap();
        assert_eq!(&line[f.value_loc.clone().unwrap().span], "127.0.0.1");
        assert_eq!(&line[f.loc.clone().unwrap().span], "--address=127.0.0.1");
        assert_eq!(p.last("v").unwrap().value, "2");
        assert_eq!(p.positional.len(), 1);
        assert_eq!(p.missing_value[0].name, "kubeconfig");
        let p = parse(&args("-config=/x -v4 -h"), &bools);
        assert_eq!(p.bad_shorthand.len(), 1);
        assert_eq!(p.last("v").unwrap().value, "4");
        assert!(p.last("config").is_none());
    }

    #[test]
    fn go_bools() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("F"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
