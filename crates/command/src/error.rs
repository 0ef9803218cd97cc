//! The one error type of this crate.
//!
//! Its `Display` text is exactly the reason a probe puts after `ERR command not accepted: `
//! on its control socket, in the style of the reference tool (`-c failed: attempts must be
//! within 1 - 65535`, `repeated option -i`, `invalid destination address`).

use thiserror::Error;

/// Why a command line was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The first word is not a known command word followed by whitespace.
    #[error("could not determine command type")]
    UnknownCommand,

    /// The command word is known, but Vantage does not implement that command yet.
    #[error("{command} not supported yet")]
    NotSupported {
        /// The command word, lower case.
        command: &'static str,
    },

    /// The option syntax is broken: an unknown option letter, a missing parameter, a parameter
    /// of the wrong shape, an unterminated quote. The displayed text is the reference tool's;
    /// [`CommandError::detail`] says what exactly was wrong.
    #[error("could not parse {command} command")]
    Syntax {
        /// The command word, lower case.
        command: &'static str,
        /// What exactly was wrong (not part of the displayed text).
        detail: String,
    },

    /// An option that may be given once was given again.
    #[error("repeated option -{0}")]
    Repeated(char),

    /// The value of one option is out of range or malformed, or conflicts with another option.
    #[error("-{letter} failed: {reason}")]
    Option {
        /// The option letter.
        letter: char,
        /// What is wrong and what would be accepted.
        reason: String,
    },

    /// The command needs a target and none was given.
    #[error("expected {what}")]
    MissingTarget {
        /// What was expected, e.g. `address to ping`.
        what: &'static str,
    },

    /// The target is not an IP literal (or has extra text after it).
    #[error("invalid destination address")]
    InvalidDestination,

    /// The policy refuses to probe an address the command would probe.
    #[error("destination in do-not-probe list")]
    DoNotProbe,

    /// A rule that involves several options, or none in particular, is broken.
    #[error("{0}")]
    Invalid(String),
}

impl CommandError {
    /// For syntax errors, a precise description of the problem (the displayed text is the
    /// reference tool's terse `could not parse <cmd> command`). `None` for other errors.
    pub fn detail(&self) -> Option<&str> {
        match self {
            CommandError::Syntax { detail, .. } => Some(detail),
            _ => None,
        }
    }

    pub(crate) fn syntax(command: &'static str, detail: impl Into<String>) -> Self {
        CommandError::Syntax {
            command,
            detail: detail.into(),
        }
    }

    pub(crate) fn option(letter: char, reason: impl Into<String>) -> Self {
        CommandError::Option {
            letter,
            reason: reason.into(),
        }
    }
}
