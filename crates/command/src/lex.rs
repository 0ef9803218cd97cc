//! The generic option tokenizer shared by every command (spec `commands.md` §1).
//!
//! A command line after its command word is a sequence of option words followed by the
//! target. Option words start with `-`; flag letters may be clustered (`-MQT`); a letter that
//! takes a parameter must end its cluster and its parameter is the next word. Parameters are
//! NUM (optional `-` then decimal digits) or STR (a bare word, or a `'`/`"` quoted string in
//! which `\` escapes only the quote character and `\` itself). The first word that does not
//! start with `-` begins the target, which runs to the end of the line.
//!
//! The tokenizer knows nothing about what options mean; each command gives it a table.

use crate::error::CommandError;

/// The kind of parameter an option letter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No parameter: a flag that may be clustered.
    Flag,
    /// A NUM parameter: `-?[0-9]+`.
    Num,
    /// A STR parameter: a bare word or a quoted string.
    Str,
}

/// One entry of a command's option table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptDef {
    /// The option letter.
    pub letter: char,
    /// What follows it.
    pub kind: Kind,
    /// Whether it may be given several times even when the command checks repeats.
    pub repeatable: bool,
}

impl OptDef {
    pub(crate) const fn flag(letter: char) -> Self {
        OptDef {
            letter,
            kind: Kind::Flag,
            repeatable: false,
        }
    }
    pub(crate) const fn num(letter: char) -> Self {
        OptDef {
            letter,
            kind: Kind::Num,
            repeatable: false,
        }
    }
    pub(crate) const fn str(letter: char) -> Self {
        OptDef {
            letter,
            kind: Kind::Str,
            repeatable: false,
        }
    }
    pub(crate) const fn repeatable(self) -> Self {
        OptDef {
            repeatable: true,
            ..self
        }
    }
}

/// A command's option table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// The command word, used in error messages.
    pub command: &'static str,
    /// The options it knows.
    pub opts: &'static [OptDef],
    /// Whether a non-repeatable letter given twice is an error (`repeated option -x`).
    /// Some commands (dealias, http, sniff) do not check: the last value wins.
    pub check_repeats: bool,
}

/// One option as written, with its parameter if it takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawOpt {
    /// The option letter.
    pub letter: char,
    /// The parameter (quotes removed, escapes resolved); `None` for flags.
    pub value: Option<String>,
}

/// A tokenized command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lexed<'a> {
    /// The options in the order given.
    pub opts: Vec<RawOpt>,
    /// The rest of the line after the options, surrounding whitespace removed; may be empty.
    pub target: &'a str,
}

impl Lexed<'_> {
    /// The options, with `repeated option -x` raised for a letter given twice when the table
    /// says repeats are checked and the letter is not repeatable. The check happens in the
    /// order the options were given, so callers can validate values in the same pass.
    pub(crate) fn check_repeats(&self, table: &Table) -> Result<(), CommandError> {
        if !table.check_repeats {
            return Ok(());
        }
        let mut seen: Vec<char> = Vec::new();
        for opt in &self.opts {
            let repeatable = table
                .opts
                .iter()
                .any(|d| d.letter == opt.letter && d.repeatable);
            if !repeatable {
                if seen.contains(&opt.letter) {
                    return Err(CommandError::Repeated(opt.letter));
                }
                seen.push(opt.letter);
            }
        }
        Ok(())
    }
}

/// The whitespace of C's `isspace` in the "C" locale.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Splits `rest` (the line after the command word) into options and target.
pub(crate) fn lex<'a>(table: &Table, rest: &'a str) -> Result<Lexed<'a>, CommandError> {
    let syntax = |detail: String| CommandError::syntax(table.command, detail);
    let mut opts = Vec::new();
    let mut s = rest;
    loop {
        s = s.trim_start_matches(is_space);
        if !s.starts_with('-') {
            return Ok(Lexed {
                opts,
                target: s.trim_end_matches(is_space),
            });
        }
        let end = s.find(is_space).unwrap_or(s.len());
        let word = &s[..end];
        s = &s[end..];
        let letters = &word[1..];
        if letters.is_empty() {
            return Err(syntax("a lone '-' is not an option".to_owned()));
        }
        let count = letters.chars().count();
        for (i, letter) in letters.chars().enumerate() {
            let Some(def) = table.opts.iter().find(|d| d.letter == letter) else {
                return Err(syntax(format!("unknown option -{letter}")));
            };
            if def.kind == Kind::Flag {
                opts.push(RawOpt {
                    letter,
                    value: None,
                });
                continue;
            }
            if i + 1 != count {
                return Err(syntax(format!(
                    "option -{letter} takes a parameter, so it must end its cluster"
                )));
            }
            s = s.trim_start_matches(is_space);
            if s.is_empty() {
                return Err(syntax(format!("option -{letter} needs a parameter")));
            }
            let (value, after) = match def.kind {
                Kind::Num => {
                    let end = s.find(is_space).unwrap_or(s.len());
                    let word = &s[..end];
                    if !is_num_word(word) {
                        return Err(syntax(format!(
                            "option -{letter} needs a number, not '{word}'"
                        )));
                    }
                    (word.to_owned(), &s[end..])
                }
                Kind::Str | Kind::Flag => {
                    read_str(s).map_err(|e| syntax(format!("option -{letter}: {e}")))?
                }
            };
            opts.push(RawOpt {
                letter,
                value: Some(value),
            });
            s = after;
        }
    }
}

/// `-?[0-9]+`
fn is_num_word(word: &str) -> bool {
    let digits = word.strip_prefix('-').unwrap_or(word);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Reads one STR parameter from the start of `s` (which is not empty and does not start with
/// whitespace). Returns the value and the rest of the line.
fn read_str(s: &str) -> Result<(String, &str), &'static str> {
    let Some(quote) = s.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        let end = s.find(is_space).unwrap_or(s.len());
        return Ok((s[..end].to_owned(), &s[end..]));
    };
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            let after = &s[i + c.len_utf8()..];
            if after.chars().next().is_some_and(|c| !is_space(c)) {
                return Err("a quoted parameter must be followed by whitespace");
            }
            return Ok((value, after));
        }
        if c == '\\' {
            match chars.next() {
                Some((_, e)) if e == quote || e == '\\' => value.push(e),
                Some(_) => return Err("inside quotes '\\' may escape only the quote or '\\'"),
                None => break,
            }
        } else {
            value.push(c);
        }
    }
    Err("unterminated quote")
}

/// Writes `value` as a STR parameter that [`lex`] reads back unchanged: bare when it can be,
/// otherwise double-quoted with `"` and `\` escaped.
pub(crate) fn quote(value: &str) -> String {
    let bare = !value.is_empty() && !value.starts_with(['"', '\'']) && !value.chars().any(is_space);
    if bare {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OPTS: &[OptDef] = &[
        OptDef::flag('M'),
        OptDef::flag('Q'),
        OptDef::num('c'),
        OptDef::str('p'),
        OptDef::str('O').repeatable(),
    ];
    const T: Table = Table {
        command: "test",
        opts: OPTS,
        check_repeats: true,
    };

    fn opt(letter: char, value: Option<&str>) -> RawOpt {
        RawOpt {
            letter,
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn clusters_params_and_target() {
        let l = lex(&T, "-MQ -c 3 -Qp 'a b' 192.0.2.1 extra  ").unwrap();
        assert_eq!(
            l.opts,
            vec![
                opt('M', None),
                opt('Q', None),
                opt('c', Some("3")),
                opt('Q', None),
                opt('p', Some("a b")),
            ]
        );
        assert_eq!(l.target, "192.0.2.1 extra");
    }

    #[test]
    fn empty_and_option_only_lines_have_empty_target() {
        assert_eq!(lex(&T, "").unwrap().target, "");
        assert_eq!(lex(&T, "   ").unwrap().target, "");
        assert_eq!(lex(&T, "-c 1").unwrap().target, "");
    }

    #[test]
    fn num_parameters() {
        assert_eq!(
            lex(&T, "-c -12 x").unwrap().opts,
            vec![opt('c', Some("-12"))]
        );
        for bad in [
            "-c 3x x",
            "-c 0x10 x",
            "-c - x",
            "-c x",
            "-c",
            "-c3 x",
            "-c '3' x",
        ] {
            assert!(
                matches!(lex(&T, bad), Err(CommandError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn param_letter_must_end_cluster() {
        assert!(lex(&T, "-cM 3 x").is_err());
        assert!(lex(&T, "-Mc 3 x").is_ok());
    }

    #[test]
    fn unknown_letters_and_lone_dash() {
        for bad in ["-x 1.2.3.4", "-Mx 1.2.3.4", "- 1.2.3.4", "--c 1 x", "-é x"] {
            let e = lex(&T, bad).unwrap_err();
            assert_eq!(e.to_string(), "could not parse test command", "{bad}");
            assert!(e.detail().is_some());
        }
    }

    #[test]
    fn quoting_rules() {
        let one = |s: &str| lex(&T, s).map(|l| l.opts[0].value.clone().unwrap());
        assert_eq!(one(r#"-p "a \" b" x"#).unwrap(), "a \" b");
        assert_eq!(one(r"-p 'it\'s' x").unwrap(), "it's");
        assert_eq!(one(r"-p 'back\\slash' x").unwrap(), r"back\slash");
        assert_eq!(one(r#"-p 'say "hi"' x"#).unwrap(), r#"say "hi""#);
        assert_eq!(one(r"-p '' x").unwrap(), "");
        assert_eq!(one(r"-p bare\word x").unwrap(), r"bare\word");
        assert_eq!(one(r"-p ab'c x").unwrap(), "ab'c");
        for bad in [r"-p 'abc x", r"-p 'a\n' x", r"-p 'a'b x", r"-p 'abc\"] {
            assert!(lex(&T, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quote_round_trips() {
        for v in [
            "",
            "a",
            "a b",
            "\"",
            "'x",
            "x'",
            "a\\b",
            "tab\there",
            "é ü",
            "-x",
        ] {
            let line = format!("-p {} target", quote(v));
            let l = lex(&T, &line).unwrap();
            assert_eq!(l.opts[0].value.as_deref(), Some(v), "{line}");
            assert_eq!(l.target, "target");
        }
    }

    #[test]
    fn repeats() {
        let l = lex(&T, "-c 1 -O a -O b x").unwrap();
        assert!(l.check_repeats(&T).is_ok());
        let l = lex(&T, "-c 1 -M -c 2 x").unwrap();
        assert_eq!(l.check_repeats(&T), Err(CommandError::Repeated('c')));
        assert_eq!(
            l.check_repeats(&T).unwrap_err().to_string(),
            "repeated option -c"
        );
        let lax = Table {
            check_repeats: false,
            ..T
        };
        assert!(l.check_repeats(&lax).is_ok());
    }
}
