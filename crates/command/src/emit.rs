//! Writing canonical command lines.

use std::time::Duration;

use crate::lex::quote;
use crate::value::{TimeUnit, time_param};

/// A command line under construction: `<word> [options] <target>`.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    out: String,
}

impl Line {
    pub(crate) fn new(word: &str) -> Self {
        Line {
            out: word.to_owned(),
        }
    }

    /// A flag (`-R`), when `on`.
    pub(crate) fn flag(&mut self, letter: char, on: bool) -> &mut Self {
        if on {
            self.out.push_str(" -");
            self.out.push(letter);
        }
        self
    }

    /// An option with a number.
    pub(crate) fn num(&mut self, letter: char, value: impl std::fmt::Display) -> &mut Self {
        self.raw(letter, &value.to_string())
    }

    /// An option with a number, unless it equals the default.
    pub(crate) fn num_unless<T: Copy + PartialEq + std::fmt::Display>(
        &mut self,
        letter: char,
        value: T,
        default: T,
    ) -> &mut Self {
        if value != default {
            self.num(letter, value);
        }
        self
    }

    /// An option with a string, quoted when needed.
    pub(crate) fn str(&mut self, letter: char, value: &str) -> &mut Self {
        self.raw(letter, &quote(value))
    }

    /// An option with a time in the option's default unit, unless it equals the default.
    pub(crate) fn time_unless(
        &mut self,
        letter: char,
        value: Duration,
        default: Duration,
        unit: TimeUnit,
    ) -> &mut Self {
        if value != default {
            self.raw(letter, &time_param(value, unit));
        }
        self
    }

    fn raw(&mut self, letter: char, value: &str) -> &mut Self {
        self.out.push_str(" -");
        self.out.push(letter);
        self.out.push(' ');
        self.out.push_str(value);
        self
    }

    /// Appends the target and returns the line.
    pub(crate) fn finish(&mut self, target: &str) -> String {
        let mut out = std::mem::take(&mut self.out);
        if !target.is_empty() {
            out.push(' ');
            out.push_str(target);
        }
        out
    }
}
