//! Small declarative helpers for the many code enums and flag sets of the model.

/// Declares an enum for a numeric protocol/file code, with an `Other` variant
/// that keeps codes this version does not know.
///
/// Generated API: `from_code`, `code`, `name`, `From<repr>`, `Display`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $var:ident = $val:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        $vis enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A code this version of Vantage does not know; never holds a known code
            /// when built with [`Self::from_code`].
            Other($repr),
        }

        impl $name {
            /// Every known variant with its code and text name.
            pub const KNOWN: &'static [($name, $repr, &'static str)] = &[ $( ($name::$var, $val, $text), )* ];

            /// Maps a code as stored on the wire or in a file to its variant.
            #[must_use]
            pub const fn from_code(code: $repr) -> Self {
                match code {
                    $( $val => Self::$var, )*
                    other => Self::Other(other),
                }
            }

            /// The code as stored on the wire or in a file.
            #[must_use]
            pub const fn code(self) -> $repr {
                match self {
                    $( Self::$var => $val, )*
                    Self::Other(code) => code,
                }
            }

            /// The name scamper prints for this value, or `None` for an unknown code.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$var => Some($text), )*
                    Self::Other(_) => None,
                }
            }
        }

        impl Default for $name {
            /// The value of code 0.
            fn default() -> Self {
                Self::from_code(0)
            }
        }

        impl From<$repr> for $name {
            fn from(code: $repr) -> Self {
                Self::from_code(code)
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                value.code()
            }
        }

        impl core::fmt::Display for $name {
            /// Prints the scamper name, or the number for an unknown code.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(text) => f.write_str(text),
                    None => write!(f, "{}", self.code()),
                }
            }
        }
    };
}

/// Declares a bit-set newtype with named constants (a tiny `bitflags`).
///
/// Unknown bits are kept, so a set read from a file is written back unchanged.
macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$fmeta:meta])* const $flag:ident = $val:expr => $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        $vis struct $name(pub $repr);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: Self = Self($val); )*

            /// Every named flag with the name scamper prints for it, lowest bit first.
            pub const NAMED: &'static [($name, &'static str)] = &[ $( ($name::$flag, $text), )* ];

            /// The empty set.
            #[must_use]
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The raw bits.
            #[must_use]
            pub const fn bits(self) -> $repr {
                self.0
            }

            /// Whether no bit is set.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Whether every bit of `other` is set in `self`.
            #[must_use]
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any bit of `other` is set in `self`.
            #[must_use]
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// Sets (or clears) the bits of `other`.
            pub fn set(&mut self, other: Self, on: bool) {
                if on {
                    self.0 |= other.0;
                } else {
                    self.0 &= !other.0;
                }
            }

            /// The names of the set flags that have one, lowest bit first.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::NAMED.iter().filter(move |(f, _)| self.contains(*f) && !f.is_empty()).map(|(_, n)| *n)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl core::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({:#x}", stringify!($name), self.0)?;
                for n in self.names() {
                    write!(f, " {n}")?;
                }
                f.write_str(")")
            }
        }
    };
}

pub(crate) use code_enum;
pub(crate) use flag_set;
