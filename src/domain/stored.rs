//! Enums with a stable stored name per variant: the same name in JSON, in the database
//! (`store::mapping` reads and writes it; the diesel derives only declare the column type)
//! and in messages.

/// A stored name that is not one of the enum's variants (a typo, corrupt data, or a name a
/// newer byoc wrote).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}': expected one of {}", .expected.join(", "))]
pub struct UnknownName {
    /// What the name should have named.
    pub what: &'static str,
    /// The name found.
    pub name: String,
    /// The names that exist.
    pub expected: &'static [&'static str],
}

/// Defines an enum whose variants each have one stored name, with `as_str`, `FromStr`
/// (an unknown name is an [`UnknownName`]), `Display`, serde and the database mapping.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $stored:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
            utoipa::ToSchema, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        // The stored names are the snake_case variant names (a test in each defining module
        // checks it); utoipa reads `rename_all` but not a per-variant rename a macro writes.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// Every stored name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($stored),+];

            /// The stable stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $stored),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::stored::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($stored => Ok(Self::$variant),)+
                    other => Err($crate::domain::stored::UnknownName {
                        what: $what,
                        name: other.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    use crate::domain::{OperationKind, OperationStatus, Role, StackStatus};

    fn check<T>(all: &[T])
    where
        T: serde::Serialize + std::str::FromStr + std::fmt::Display + PartialEq + std::fmt::Debug,
        T::Err: std::fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, v.to_string(), "serde and the stored name agree");
            assert_eq!(&v.to_string().parse::<T>().unwrap(), v);
        }
    }

    #[test]
    fn stored_names_round_trip_and_match_json() {
        check(OperationKind::ALL);
        check(OperationStatus::ALL);
        check(StackStatus::ALL);
        check(Role::ALL);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown role 'root': expected one of viewer, operator, admin"
        );
    }
}
